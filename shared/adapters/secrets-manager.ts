/**
 * The secrets of a deployment in AWS Secrets Manager. The config file's
 * `env:NAME` is the secret `<prefix>NAME` (the stack creates
 * `wirewatch/<stage>/NAME` for every name the stage's config file reads and
 * passes the prefix to the function), holding the value as a plain string.
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
    private readonly prefix: string,
  ) {}

  /** The Secrets Manager secret id of config secret `name`. */
  secretId(name: string): string {
    return `${this.prefix}${name}`;
  }

  async resolve(name: string): Promise<string | undefined> {
    const secretId = this.secretId(name);
    try {
      const output = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return output.SecretString?.trim() || undefined;
    } catch (error) {
      // Also what a secret created without a value answers ("can't find the
      // specified secret value for staging label: AWSCURRENT").
      if (error instanceof ResourceNotFoundException) return undefined;
      throw new SecretLookupError(secretId, { cause: error });
    }
  }
}
