import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../shared/config/config.ts';

const FEEDS = `feeds:
  - id: wire-a
    url: https://example.org/a.rss
`;

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, '/cfg/wirewatch.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('subscriber delivery settings', () => {
  it('defaults to immediate delivery in UTC, a daily 08:00 digest schedule, every severity, no quiet hours', () => {
    const config = parseConfig(
      `${FEEDS}subscribers:
  - id: desk
    watches: [w]
    channels: [{ type: console }]
`,
      '/cfg/wirewatch.yaml',
      {},
    );

    expect(config.subscribers[0]).toEqual({
      id: 'desk',
      watches: ['w'],
      channels: [{ type: 'console' }],
      timezone: 'UTC',
      mode: 'immediate',
      digestSchedule: '0 8 * * *',
      minSeverity: 'low',
    });
  });

  it('reads time zone, digest mode and schedule, quiet hours and minimum severity', () => {
    const config = parseConfig(
      `${FEEDS}subscribers:
  - id: brief
    watches: [w]
    channels: [{ type: email, to: brief@example.org }]
    timezone: Europe/Warsaw
    mode: digest
    digestSchedule: "30 7 * * 1-5"
    quietHours: { start: "22:00", end: "07:00" }
    minSeverity: high
`,
      '/cfg/wirewatch.yaml',
      {},
    );

    expect(config.subscribers[0]).toMatchObject({
      timezone: 'Europe/Warsaw',
      mode: 'digest',
      digestSchedule: '30 7 * * 1-5',
      quietHours: { start: '22:00', end: '07:00' },
      minSeverity: 'high',
    });
  });

  it('names the line, column and key of an unknown time zone, a bad cron, a bad time and an unknown severity', () => {
    const problems = problemsOf(`${FEEDS}subscribers:
  - id: desk
    watches: [w]
    channels: [{ type: console }]
    timezone: Europe/Atlantis
    digestSchedule: "every morning"
    quietHours: { start: "25:00", end: "07:00" }
    minSeverity: urgent
`);

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/cfg\/wirewatch\.yaml:8:15: subscribers\.0\.timezone: .*IANA/),
        expect.stringMatching(
          /^\/cfg\/wirewatch\.yaml:9:21: subscribers\.0\.digestSchedule: .*cron/,
        ),
        expect.stringMatching(
          /^\/cfg\/wirewatch\.yaml:10:\d+: subscribers\.0\.quietHours\.start: .*time of day/,
        ),
        expect.stringMatching(/^\/cfg\/wirewatch\.yaml:11:18: subscribers\.0\.minSeverity: /),
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('refuses quiet hours that start and end at the same time', () => {
    const problems = problemsOf(`${FEEDS}subscribers:
  - id: desk
    watches: [w]
    channels: [{ type: console }]
    quietHours: { start: "07:00", end: "07:00" }
`);

    expect(problems).toEqual([
      expect.stringMatching(/wirewatch\.yaml:8:17: subscribers\.0\.quietHours: start and end/),
    ]);
  });
});

describe('Slack channels', () => {
  it('takes a webhook, or a bot token with a channel id, from the environment', () => {
    const config = parseConfig(
      `${FEEDS}subscribers:
  - id: desk
    watches: [w]
    channels:
      - { type: slack, webhookUrl: env:HOOK }
      - { type: slack, botToken: env:BOT, channel: C0123456789 }
`,
      '/cfg/wirewatch.yaml',
      { HOOK: 'https://hooks.slack.com/services/T/B/x', BOT: 'xoxb-1' },
    );

    expect(config.subscribers[0]?.channels).toEqual([
      { type: 'slack', secretName: 'HOOK', webhookUrl: 'https://hooks.slack.com/services/T/B/x' },
      { type: 'slack', secretName: 'BOT', channelId: 'C0123456789', botToken: 'xoxb-1' },
    ]);
  });

  it('refuses a channel with both a webhook and a bot token, or a bot token without a channel', () => {
    const problems = problemsOf(`${FEEDS}subscribers:
  - id: desk
    watches: [w]
    channels:
      - { type: slack, webhookUrl: env:HOOK, botToken: env:BOT, channel: C0123456789 }
      - { type: slack, botToken: env:BOT }
`);

    expect(problems).toEqual([
      expect.stringMatching(/:8:9: subscribers\.0\.channels\.0: .*not both/),
      expect.stringMatching(/:9:9: subscribers\.0\.channels\.1: .*botToken: env:NAME and channel/),
    ]);
  });
});

describe('unsubscribe links', () => {
  it('reads the base URL, the signing secret from the environment and the mailto address', () => {
    const config = parseConfig(
      `${FEEDS}unsubscribe:
  baseUrl: https://unsub.example.org/u
  secret: env:UNSUB
  mailto: unsubscribe@example.org
`,
      '/cfg/wirewatch.yaml',
      { UNSUB: 'a-long-enough-signing-secret' },
    );

    expect(config.unsubscribe).toEqual({
      baseUrl: 'https://unsub.example.org/u',
      secret: 'a-long-enough-signing-secret',
      mailto: 'unsubscribe@example.org',
    });
  });

  it('refuses a secret written in the file and says when its variable is not set', () => {
    expect(problemsOf(`${FEEDS}unsubscribe:\n  secret: hunter2hunter2hunter2\n`)).toEqual([
      expect.stringMatching(
        /:5:11: unsubscribe\.secret: secrets are not written in the config file/,
      ),
    ]);
    const config = parseConfig(
      `${FEEDS}unsubscribe:\n  secret: env:UNSUB\n`,
      '/cfg/wirewatch.yaml',
      {},
    );
    expect(config.unsubscribe).toEqual({});
    expect(config.notices).toContain('UNSUB is not set: a local key signs unsubscribe links');
  });
});
