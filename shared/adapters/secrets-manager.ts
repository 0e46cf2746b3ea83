/**
 * The secrets of a deployment in AWS Secrets Manager: one secret per stage
 * (`wirewatch/<stage>/secrets`, created by the data stack, its id passed to the
 * function), holding a JSON object whose keys are the config file's `env:NAME`
 * names. One secret rather than one per name: each costs the same by the month.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretResolver } from '../config/secrets.ts';

/** Thrown when Secrets Manager could not be asked; names the secret, never carries a value. */
export class SecretLookupError extends Error {
  constructor(
    readonly secretId: string,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.name : 'unknown error';
    super(`could not read secret ${secretId} from Secrets Manager (${reason})`, options);
    this.name = 'SecretLookupError';
  }
}

/**
 * `SecretResolver` on Secrets Manager. A secret that does not exist or has no
 * value yet resolves to `undefined`, as an unset environment variable does
 * locally. Wrap it in a `CachedSecretResolver`: every call is a request.
 */
export class SecretsManagerSecretResolver implements SecretResolver {
  constructor(
    private readonly client: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  async resolve(name: string): Promise<string | undefined> {
    let text: string | undefined;
    try {
      const output = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      text = output.SecretString;
    } catch (error) {
      // Also what a secret created without a value answers ("can't find the
      // specified secret value for staging label: AWSCURRENT").
      if (error instanceof ResourceNotFoundException) return undefined;
      throw new SecretLookupError(this.secretId, { cause: error });
    }
    if (text === undefined || text.trim() === '') return undefined;
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch {
      throw new SecretFormatError(this.secretId);
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new SecretFormatError(this.secretId);
    }
    const value = Object.hasOwn(values, name)
      ? (values as Record<string, unknown>)[name]
      : undefined;
    return typeof value === 'string' ? value.trim() || undefined : undefined;
  }
}

/** The secret's value is not a JSON object of names to strings; never carries the value. */
export class SecretFormatError extends Error {
  constructor(readonly secretId: string) {
    super(
      `secret ${secretId} must hold a JSON object of names to values, e.g. {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/..."}`,
    );
    this.name = 'SecretFormatError';
  }
}
