import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSubscriptionStore } from '../../shared/alerts/config-subscriptions.ts';
import {
  CachedSecretResolver,
  EnvSecretResolver,
  SecretConfigSource,
  type SecretResolver,
  secretNamesOf,
} from '../../shared/config/secrets.ts';
import { type Logger, silentLogger } from '../../shared/ports.ts';
import { ManualClock } from '../support/manual-clock.ts';

/** A secret store in memory that counts its lookups and can be made to fail. */
class MemorySecrets implements SecretResolver {
  lookups = 0;
  failing = false;
  constructor(readonly values: Map<string, string> = new Map()) {}

  async resolve(name: string): Promise<string | undefined> {
    this.lookups += 1;
    if (this.failing) throw new Error('secret store unavailable');
    return this.values.get(name);
  }
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (message) => warnings.push(message) };
}

const CONFIG = `
watches: watches.yaml
feeds:
  - id: wire
    url: https://wire.example/feed.xml
subscribers:
  - id: desk
    watches: [dprk]
    channels:
      - type: slack
        webhookUrl: env:DESK_WEBHOOK
email:
  from: wirewatch <alerts@example.org>
  smtp:
    host: smtp.example.org
    user: env:SMTP_USER
    password: env:SMTP_PASSWORD
`;

describe('secretNamesOf', () => {
  it('lists every env: secret the config file reads', () => {
    expect(secretNamesOf(CONFIG, '/config/wirewatch.yaml').sort()).toEqual([
      'DESK_WEBHOOK',
      'SMTP_PASSWORD',
      'SMTP_USER',
    ]);
  });

  it('lists nothing for a config without secrets', () => {
    const text = 'feeds:\n  - id: wire\n    url: https://wire.example/feed.xml\n';

    expect(secretNamesOf(text, '/config/wirewatch.yaml')).toEqual([]);
  });
});

describe('EnvSecretResolver', () => {
  it('reads a variable and treats an empty one as unset', async () => {
    const secrets = new EnvSecretResolver({ SET: 'value', EMPTY: '' });

    expect(await secrets.resolve('SET')).toBe('value');
    expect(await secrets.resolve('EMPTY')).toBeUndefined();
    expect(await secrets.resolve('MISSING')).toBeUndefined();
  });
});

describe('CachedSecretResolver', () => {
  it('asks the store once per TTL and again after it', async () => {
    const store = new MemorySecrets(new Map([['TOKEN', 'one']]));
    const clock = new ManualClock();
    const secrets = new CachedSecretResolver(store, {
      ttlMs: 60_000,
      clock,
      logger: silentLogger,
    });

    await secrets.resolve('TOKEN');
    clock.advance(59_000);
    store.values.set('TOKEN', 'two');
    const cached = await secrets.resolve('TOKEN');
    clock.advance(2_000);
    const refreshed = await secrets.resolve('TOKEN');

    expect([cached, refreshed, store.lookups]).toEqual(['one', 'two', 2]);
  });

  it('shares one lookup between concurrent callers', async () => {
    const store = new MemorySecrets(new Map([['TOKEN', 'one']]));
    const secrets = new CachedSecretResolver(store, {
      ttlMs: 60_000,
      clock: new ManualClock(),
      logger: silentLogger,
    });

    const values = await Promise.all([secrets.resolve('TOKEN'), secrets.resolve('TOKEN')]);

    expect(values).toEqual(['one', 'one']);
    expect(store.lookups).toBe(1);
  });

  it('keeps the previous value when a refresh fails, and says so without the value', async () => {
    const store = new MemorySecrets(new Map([['TOKEN', 'secret-value']]));
    const clock = new ManualClock();
    const logger = recordingLogger();
    const secrets = new CachedSecretResolver(store, { ttlMs: 1_000, clock, logger });
    await secrets.resolve('TOKEN');

    store.failing = true;
    clock.advance(5_000);
    const value = await secrets.resolve('TOKEN');

    expect(value).toBe('secret-value');
    expect(logger.warnings).toEqual(['secret lookup failed; keeping the previous value']);
  });

  it('fails when the first lookup fails', async () => {
    const store = new MemorySecrets();
    store.failing = true;
    const secrets = new CachedSecretResolver(store, {
      ttlMs: 1_000,
      clock: new ManualClock(),
      logger: silentLogger,
    });

    await expect(secrets.resolve('TOKEN')).rejects.toThrow('secret store unavailable');
  });
});

describe('SecretConfigSource', () => {
  async function configFile(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'wirewatch-secrets-'));
    const path = join(dir, 'wirewatch.yaml');
    await writeFile(path, CONFIG);
    return path;
  }

  it('resolves the secrets on first use, not on load', async () => {
    const store = new MemorySecrets();

    const source = await SecretConfigSource.load(await configFile(), store, silentLogger);

    expect(store.lookups).toBe(0);
    expect([...source.secretNames].sort()).toEqual(['DESK_WEBHOOK', 'SMTP_PASSWORD', 'SMTP_USER']);
  });

  it('gives the same config while no secret changes', async () => {
    const store = new MemorySecrets(new Map([['DESK_WEBHOOK', 'https://hooks.example/1']]));
    const source = await SecretConfigSource.load(await configFile(), store, silentLogger);

    const first = await source.current();
    const second = await source.current();

    expect(second).toBe(first);
  });

  it('sends to a rotated webhook URL and SMTP password without a reload', async () => {
    const store = new MemorySecrets(
      new Map([
        ['DESK_WEBHOOK', 'https://hooks.example/old'],
        ['SMTP_USER', 'user'],
        ['SMTP_PASSWORD', 'old-password'],
      ]),
    );
    const source = await SecretConfigSource.load(await configFile(), store, silentLogger);
    const subscriptions = new ConfigSubscriptionStore(source);
    await subscriptions.get('desk');

    store.values.set('DESK_WEBHOOK', 'https://hooks.example/new');
    store.values.set('SMTP_PASSWORD', 'new-password');
    const desk = await subscriptions.get('desk');
    const config = await source.current();

    expect(desk?.channels).toEqual([{ type: 'slack', webhookUrl: 'https://hooks.example/new' }]);
    expect(config.email.smtp?.auth).toEqual({ user: 'user', pass: 'new-password' });
  });

  it('drops a Slack channel whose secret has no value and names the secret in a warning', async () => {
    const logger = recordingLogger();
    const source = await SecretConfigSource.load(await configFile(), new MemorySecrets(), logger);

    const desk = await new ConfigSubscriptionStore(source).get('desk');

    expect(desk?.channels).toEqual([]);
    expect(logger.warnings).toContain('config notice');
  });
});
