import { afterEach, describe, expect, it, vi } from 'vitest';

const environment = {
  WIREWATCH_CONFIG: 'samples/wirewatch.yaml',
  AWS_REGION: 'eu-west-1',
  POLL_EVERY_SECONDS: '300',
  FEED_STATE_TABLE_NAME: 'feed-state',
  SEEN_ITEMS_TABLE_NAME: 'seen-items',
  ALERT_LEDGER_TABLE_NAME: 'alert-ledger',
  STORY_FINGERPRINTS_TABLE_NAME: 'story-fingerprints',
  PENDING_ALERTS_TABLE_NAME: 'pending-alerts',
  UNSUBSCRIBES_TABLE_NAME: 'unsubscribes',
  ITEMS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/items',
  ITEMS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/items-dlq',
  ALERTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/alerts',
  ALERTS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/alerts-dlq',
  SECRET_ID: 'wirewatch/test/secrets',
};

describe('Lambda handlers', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it.each(['poller', 'classifier', 'notifier'])(
    '%s exports a handler function when its environment is set',
    async (name) => {
      for (const [key, value] of Object.entries(environment)) vi.stubEnv(key, value);

      const module = (await import(`../../functions/${name}.ts`)) as { handler: unknown };

      expect(typeof module.handler).toBe('function');
    },
  );

  it('classifier exports a handler when it reads its rules from the rules table', async () => {
    for (const [key, value] of Object.entries(environment)) vi.stubEnv(key, value);
    vi.stubEnv('RULES_TABLE_NAME', 'rules');

    const module = (await import('../../functions/classifier.ts')) as { handler: unknown };

    expect(typeof module.handler).toBe('function');
  });

  it('names the missing environment variable at cold start', async () => {
    for (const [key, value] of Object.entries(environment)) vi.stubEnv(key, value);
    vi.stubEnv('ALERTS_QUEUE_URL', '');

    await expect(import('../../functions/classifier.ts')).rejects.toThrow(
      'ALERTS_QUEUE_URL environment variable is not set',
    );
  });
});
