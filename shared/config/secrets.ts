/**
 * The secrets a config file names. A secret setting is written `env:NAME`;
 * where NAME is looked up depends on where wirewatch runs: the environment on
 * a laptop, a Secrets Manager secret on AWS (see
 * `shared/adapters/secrets-manager.ts`). Either way the value lives only in
 * memory: never in the file, never in a Lambda's environment, never in a log.
 */
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { Clock, Logger } from '../ports.ts';
import { type Config, parseConfig } from './config.ts';

/** Looks up the secret a config file names `env:NAME`. */
export interface SecretResolver {
  /** The value of secret `name`, or `undefined` when it has none (not set yet). */
  resolve(name: string): Promise<string | undefined>;
}

/** Secrets from environment variables, as on a laptop. An empty variable counts as unset. */
export class EnvSecretResolver implements SecretResolver {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async resolve(name: string): Promise<string | undefined> {
    return this.env[name] || undefined;
  }
}

/** Options of `CachedSecretResolver`. */
export interface CachedSecretResolverOptions {
  /** How long a value (or its absence) is used before it is looked up again. */
  ttlMs: number;
  clock: Clock;
  logger: Logger;
}

/**
 * Keeps each secret for `ttlMs`, so that a warm Lambda asks for it a few times
 * an hour, and a rotated secret is picked up within `ttlMs`. Concurrent
 * lookups of one secret share one request. When a refresh fails, the previous
 * value is kept (and a warning logged) until a lookup succeeds: an outage of
 * the secret store must not stop alerts that could be sent.
 */
export class CachedSecretResolver implements SecretResolver {
  private readonly cache = new Map<string, { value: string | undefined; fetchedAt: number }>();
  private readonly inFlight = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly inner: SecretResolver,
    private readonly options: CachedSecretResolverOptions,
  ) {}

  async resolve(name: string): Promise<string | undefined> {
    const now = this.options.clock.now().getTime();
    const cached = this.cache.get(name);
    if (cached && now - cached.fetchedAt < this.options.ttlMs) return cached.value;
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = this.refresh(name, now, cached).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }

  private async refresh(
    name: string,
    now: number,
    stale: { value: string | undefined } | undefined,
  ): Promise<string | undefined> {
    try {
      const value = await this.inner.resolve(name);
      this.cache.set(name, { value, fetchedAt: now });
      return value;
    } catch (error) {
      if (!stale) throw error;
      this.options.logger.warn('secret lookup failed; keeping the previous value', {
        secret: name,
        error: error instanceof Error ? error.message : String(error),
      });
      this.cache.set(name, { value: stale.value, fetchedAt: now });
      return stale.value;
    }
  }
}

/**
 * The names of the secrets a config file reads, in the order it reads them.
 * They are found by parsing the file with an environment that records every
 * name asked for, so the list is exactly what `parseConfig` reads and cannot
 * drift from the schema. Throws `ConfigError` for an invalid file.
 */
export function secretNamesOf(text: string, path: string): string[] {
  const names = new Set<string>();
  const recorder = new Proxy<NodeJS.ProcessEnv>(
    {},
    {
      get(_target, key) {
        if (typeof key === 'string') names.add(key);
        return undefined;
      },
    },
  );
  parseConfig(text, path, recorder);
  return [...names];
}

/**
 * The config file of a deployment with its secrets resolved, re-parsed when a
 * secret's value changes (a rotated webhook URL or SMTP password), so that
 * callers always get the current values without a redeploy. Secrets are
 * looked up on first use, not on load: a cold start does not fail, and a
 * missing secret is reported by the alerts that need it.
 */
export class SecretConfigSource {
  private resolved: { values: (string | undefined)[]; config: Config } | undefined;

  private constructor(
    private readonly text: string,
    private readonly path: string,
    /** The secret names the file reads. */
    readonly secretNames: readonly string[],
    private readonly secrets: SecretResolver,
    private readonly logger: Logger,
  ) {}

  /** Reads and validates the config file; throws `ConfigError` when it is invalid. */
  static async load(
    path: string,
    secrets: SecretResolver,
    logger: Logger,
  ): Promise<SecretConfigSource> {
    const absolute = resolvePath(path);
    const text = await readFile(absolute, 'utf8');
    return new SecretConfigSource(text, absolute, secretNamesOf(text, absolute), secrets, logger);
  }

  /** The config with the current secret values. */
  async current(): Promise<Config> {
    const values = await Promise.all(this.secretNames.map((name) => this.secrets.resolve(name)));
    if (this.resolved && values.every((value, i) => value === this.resolved?.values[i])) {
      return this.resolved.config;
    }
    const env: NodeJS.ProcessEnv = {};
    this.secretNames.forEach((name, i) => {
      env[name] = values[i];
    });
    const config = parseConfig(this.text, this.path, env);
    // Notices name the secret that is not set, never a value.
    for (const notice of config.notices) this.logger.warn('config notice', { notice });
    this.resolved = { values, config };
    return config;
  }
}
