import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackSender } from '../../shared/adapters/slack-api-sender.ts';
import { parseRetryAfter } from '../../shared/adapters/slack-webhook-sender.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import type { SlackBlock } from '../../shared/alerts/slack.ts';
import type { ChannelConfig, Clock, Digest, FollowUp } from '../../shared/ports.ts';
import { closedPort, makeAlert } from './alert-fixture.ts';

type Respond = (res: ServerResponse, req: IncomingMessage) => void;

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    channel?: string;
    thread_ts?: string;
    text: string;
    blocks: SlackBlock[];
    unfurl_links?: boolean;
  };
}

const SECRET_PREFIX = '/services/T0SECRET1/B0SECRET2';
const TOKEN = 'xoxb-1111-SECRET-token';

const answer =
  (status: number, body: string, headers: Record<string, string> = {}): Respond =>
  (res) =>
    res.writeHead(status, headers).end(body);

const apiAnswer = (body: object, status = 200, headers: Record<string, string> = {}): Respond =>
  answer(status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });

const followUp: FollowUp = {
  alert: makeAlert({
    alertId: 'alert-2',
    item: { feed: 'bbc-world', title: 'Kim sends soldiers', link: 'https://bbc.example/1' },
    matchedTerms: [],
  }),
  first: {
    itemId: 'first-1',
    title: 'North Korean troops deploy to Kursk region',
    feed: 'reuters-world',
  },
  threadRef: '1712345678.000100',
};

const digest: Digest = {
  digestId: 'digest-1',
  subscriberId: 'sub-1',
  scheduledFor: '2025-03-05T17:00:00Z',
  timezone: 'Europe/Warsaw',
  entries: [{ kind: 'alert', alert: makeAlert(), queuedAt: '2025-03-05T15:00:00Z' }],
};

describe('Slack sender', () => {
  const received: Received[] = [];
  /** What the stand-in Slack answers on each path, in turn; the last answer repeats. */
  const scripts = new Map<string, Respond[]>();
  const slept: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    slept.push(ms);
  };
  let server: Server;
  let baseUrl: string;

  /** A webhook URL whose answers are `responses`, in turn. */
  function webhook(name: string, ...responses: Respond[]): ChannelConfig {
    scripts.set(`${SECRET_PREFIX}/xoxSECRETtoken-${name}`, responses);
    return { type: 'slack', webhookUrl: `${baseUrl}${SECRET_PREFIX}/xoxSECRETtoken-${name}` };
  }

  /** A Web API base URL whose `chat.postMessage` answers are `responses`, in turn. */
  function api(name: string, ...responses: Respond[]): string {
    scripts.set(`/${name}/chat.postMessage`, responses);
    return `${baseUrl}/${name}`;
  }

  const bot: ChannelConfig = { type: 'slack', botToken: TOKEN, channelId: 'C0ALERTS' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        received.push({
          path,
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'],
        });
        const script = scripts.get(path);
        const respond = script && script.length > 1 ? script.shift() : script?.[0];
        if (respond === undefined) {
          res.writeHead(404).end('no_service');
        } else {
          respond(res, req);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
  });

  beforeEach(() => {
    received.length = 0;
    slept.length = 0;
    scripts.clear();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  describe('on an incoming webhook', () => {
    it('posts the Block Kit alert as JSON and has no ref to reply to', async () => {
      const sender = createSlackSender({ sleep });
      const channel = webhook('ok', answer(200, 'ok'));

      const receipt = await sender.send(makeAlert(), channel);

      expect(receipt).toEqual({});
      expect(sender.canFollowUp(channel)).toBe(false);
      expect(received).toHaveLength(1);
      expect(received[0]?.path).toBe(`${SECRET_PREFIX}/xoxSECRETtoken-ok`);
      expect(received[0]?.headers['content-type']).toMatch(/^application\/json/);
      expect(received[0]?.headers.authorization).toBeUndefined();
      expect(received[0]?.body.text).toBe(
        '[HIGH] Korea troop deployments: North Korean troops deploy to Kursk region',
      );
      expect(received[0]?.body.unfurl_links).toBe(false);
      expect(received[0]?.body.blocks[0]).toEqual({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*<https://news.example.com/world/korea-troops?id=42|North Korean troops deploy to Kursk region>*',
        },
      });
    });

    it('posts a digest', async () => {
      const sender = createSlackSender({ sleep });

      await sender.sendDigest(digest, webhook('ok', answer(200, 'ok')));

      expect(received[0]?.body.blocks[0]).toEqual({
        type: 'header',
        text: { type: 'plain_text', text: 'wirewatch digest: 1 alert' },
      });
    });

    it('refuses a follow-up for good without posting it', async () => {
      const sender = createSlackSender({ sleep });

      const sending = sender.sendFollowUp(followUp, webhook('ok', answer(200, 'ok')));

      await expect(sending).rejects.toMatchObject({
        retryable: false,
        code: 'follow-up-unsupported',
      });
      expect(received).toHaveLength(0);
    });

    it('waits out short 429s inline and delivers the alert once', async () => {
      const sender = createSlackSender({ sleep });
      const channel = webhook(
        'storm',
        answer(429, 'rate_limited', { 'retry-after': '0' }),
        answer(429, 'rate_limited', { 'retry-after': '1' }),
        answer(200, 'ok'),
      );

      const receipt = await sender.send(makeAlert(), channel);

      expect(receipt).toEqual({});
      expect(slept).toEqual([0, 1000]);
      expect(received).toHaveLength(3);
      expect(new Set(received.map((r) => JSON.stringify(r.body))).size).toBe(1);
    });

    it('gives up after three inline waits with a retryable error', async () => {
      const sender = createSlackSender({ sleep });
      const channel = webhook('endless', answer(429, 'rate_limited', { 'retry-after': '1' }));

      const sending = sender.send(makeAlert(), channel);

      await expect(sending).rejects.toMatchObject({
        retryable: true,
        retryAfterMs: 1000,
        code: 'rate_limited',
      });
      expect(received).toHaveLength(4);
      expect(slept).toEqual([1000, 1000, 1000]);
    });

    it('does not wait inline beyond maxInlineWaitMs: retryable with the delay', async () => {
      const sender = createSlackSender({ sleep, maxInlineWaitMs: 5000 });
      const channel = webhook('slow', answer(429, 'rate_limited', { 'retry-after': '7' }));

      const sending = sender.send(makeAlert(), channel);

      await expect(sending).rejects.toBeInstanceOf(DeliveryError);
      await expect(sending).rejects.toMatchObject({
        retryable: true,
        retryAfterMs: 7000,
        channel: 'slack',
      });
      expect(received).toHaveLength(1);
      expect(slept).toEqual([]);
    });

    it.each([
      [404, 'channel_not_found'],
      [404, 'no_service'],
      [410, 'channel_is_archived'],
      [400, 'invalid_payload'],
      [403, 'action_prohibited'],
    ])('reports HTTP %i %s as not retryable', async (status, slackCode) => {
      const sender = createSlackSender({ sleep });

      const sending = sender.send(makeAlert(), webhook('gone', answer(status, slackCode)));

      await expect(sending).rejects.toMatchObject({ retryable: false, code: slackCode });
      await expect(sending).rejects.toThrow(
        `Slack incoming webhook delivery failed (not retryable): HTTP ${status}`,
      );
    });

    it('reports 500 as retryable', async () => {
      const sender = createSlackSender({ sleep });

      const sending = sender.send(
        makeAlert(),
        webhook('broken', answer(500, '<html>Internal error</html>')),
      );

      await expect(sending).rejects.toMatchObject({ retryable: true, code: 500 });
      expect(received).toHaveLength(1);
    });

    it('does not follow a redirect, and does not retry it', async () => {
      const sender = createSlackSender({ sleep });
      const target = webhook('target', answer(200, 'ok'));
      const channel = webhook(
        'redirect',
        answer(302, '', { location: 'webhookUrl' in target ? target.webhookUrl : '' }),
      );

      const sending = sender.send(makeAlert(), channel);

      await expect(sending).rejects.toMatchObject({ retryable: false, code: 302 });
      expect(received.map((r) => r.path)).toEqual([`${SECRET_PREFIX}/xoxSECRETtoken-redirect`]);
    });

    it('reports a webhook that does not answer in time as retryable', async () => {
      const sender = createSlackSender({ sleep, timeoutMs: 200 });

      const sending = sender.send(
        makeAlert(),
        webhook('silent', () => {}),
      );

      await expect(sending).rejects.toMatchObject({ retryable: true, code: 'timeout' });
    });

    it('reports a host that refuses connections as retryable', async () => {
      const sender = createSlackSender({ sleep });
      const webhookUrl = `http://127.0.0.1:${await closedPort()}${SECRET_PREFIX}/xoxSECRETtoken-ok`;

      const sending = sender.send(makeAlert(), { type: 'slack', webhookUrl });

      await expect(sending).rejects.toMatchObject({ retryable: true, code: 'ECONNREFUSED' });
    });

    it('never puts the webhook URL in an error', async () => {
      const sender = createSlackSender({ sleep, timeoutMs: 200 });
      const echo: Respond = (res, req) => res.writeHead(403).end(`action_prohibited ${req.url}`);
      const channels: ChannelConfig[] = [
        webhook('echo', echo),
        webhook('gone', answer(404, 'channel_not_found')),
        webhook('broken', answer(500, 'oops')),
        webhook('limited', answer(429, 'rate_limited', { 'retry-after': '60' })),
        webhook('silent', () => {}),
        webhook('redirect', answer(302, '', { location: 'http://127.0.0.1:1/elsewhere' })),
        ...[
          `http://127.0.0.1:${await closedPort()}${SECRET_PREFIX}/xoxSECRETtoken-ok`,
          `http://127.0.0.1:1${SECRET_PREFIX}/xoxSECRETtoken-ok`,
          `ftp://hooks.example${SECRET_PREFIX}/xoxSECRETtoken-ok`,
          `not a url ${SECRET_PREFIX}/xoxSECRETtoken-ok`,
        ].map((webhookUrl): ChannelConfig => ({ type: 'slack', webhookUrl })),
      ];

      const errors = await Promise.all(
        channels.map((channel) =>
          sender.send(makeAlert(), channel).then(
            () => undefined,
            (error: unknown) => error,
          ),
        ),
      );

      expect(errors.every((error) => error instanceof DeliveryError)).toBe(true);
      for (const error of errors) {
        const described = `${String(error)}\n${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}`;
        expect(described).not.toContain('SECRET');
      }
    });
  });

  describe('with a bot token (chat.postMessage)', () => {
    it('posts with the token to the channel and returns the message ts', async () => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api(
          'ok',
          apiAnswer({ ok: true, channel: 'C0ALERTS', ts: '1712345678.000100' }),
        ),
      });

      const receipt = await sender.send(makeAlert(), bot);

      expect(receipt).toEqual({ ref: '1712345678.000100' });
      expect(sender.canFollowUp(bot)).toBe(true);
      expect(received).toHaveLength(1);
      expect(received[0]?.path).toBe('/ok/chat.postMessage');
      expect(received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(received[0]?.headers['content-type']).toMatch(/^application\/json/);
      expect(received[0]?.body.channel).toBe('C0ALERTS');
      expect(received[0]?.body.thread_ts).toBeUndefined();
      expect(received[0]?.body.text).toBe(
        '[HIGH] Korea troop deployments: North Korean troops deploy to Kursk region',
      );
      expect(received[0]?.body.blocks).toHaveLength(4);
    });

    it('replies to the first alert in its thread', async () => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api('ok', apiAnswer({ ok: true, ts: '1712345999.000200' })),
      });

      const receipt = await sender.sendFollowUp(followUp, bot);

      expect(receipt).toEqual({ ref: '1712345999.000200' });
      expect(received[0]?.body.thread_ts).toBe('1712345678.000100');
      expect(received[0]?.body.text).toBe('Also reported by bbc-world: Kim sends soldiers');
    });

    it('posts a follow-up without a thread when the first alert has no ref', async () => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api('ok', apiAnswer({ ok: true, ts: '1.2' })),
      });
      const { threadRef: _none, ...withoutRef } = followUp;

      await sender.sendFollowUp(withoutRef, bot);

      expect(received[0]?.body).not.toHaveProperty('thread_ts');
    });

    it('posts a digest and returns its ts', async () => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api('ok', apiAnswer({ ok: true, ts: '3.4' })),
      });

      expect(await sender.sendDigest(digest, bot)).toEqual({ ref: '3.4' });
      expect(received[0]?.body.blocks[0]?.type).toBe('header');
    });

    it.each([
      'channel_not_found',
      'not_in_channel',
      'is_archived',
      'channel_is_archived',
      'invalid_auth',
      'token_revoked',
      'account_inactive',
      'invalid_blocks',
    ])('reports ok:false %s as not retryable', async (error) => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api('refused', apiAnswer({ ok: false, error })),
      });

      const sending = sender.send(makeAlert(), bot);

      await expect(sending).rejects.toMatchObject({ retryable: false, code: error });
      await expect(sending).rejects.toThrow(
        `Slack Web API (chat.postMessage) delivery failed (not retryable): Slack answered ${error}`,
      );
    });

    it.each(['internal_error', 'fatal_error', 'service_unavailable'])(
      'reports ok:false %s as retryable',
      async (error) => {
        const sender = createSlackSender({
          sleep,
          apiBaseUrl: api('trouble', apiAnswer({ ok: false, error })),
        });

        await expect(sender.send(makeAlert(), bot)).rejects.toMatchObject({
          retryable: true,
          code: error,
        });
      },
    );

    it('waits out a short 429 inline and posts once', async () => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api(
          'storm',
          apiAnswer({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '1' }),
          apiAnswer({ ok: true, ts: '5.6' }),
        ),
      });

      expect(await sender.send(makeAlert(), bot)).toEqual({ ref: '5.6' });
      expect(slept).toEqual([1000]);
      expect(received).toHaveLength(2);
    });

    it('reports a long 429 as retryable with the delay', async () => {
      const sender = createSlackSender({
        sleep,
        apiBaseUrl: api(
          'slow',
          apiAnswer({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '30' }),
        ),
      });

      await expect(sender.send(makeAlert(), bot)).rejects.toMatchObject({
        retryable: true,
        retryAfterMs: 30_000,
        code: 'ratelimited',
      });
      expect(slept).toEqual([]);
    });

    it('reports 500 and a 200 that is not a Web API answer as retryable', async () => {
      const broken = createSlackSender({
        sleep,
        apiBaseUrl: api('broken', answer(503, 'upstream down')),
      });
      const proxied = createSlackSender({
        sleep,
        apiBaseUrl: api('proxied', answer(200, '<html>captive portal</html>')),
      });

      await expect(broken.send(makeAlert(), bot)).rejects.toMatchObject({
        retryable: true,
        code: 503,
      });
      await expect(proxied.send(makeAlert(), bot)).rejects.toMatchObject({
        retryable: true,
        code: 'invalid_response',
      });
    });

    it('refuses an empty token without posting', async () => {
      const sender = createSlackSender({ sleep, apiBaseUrl: api('ok', apiAnswer({ ok: true })) });

      await expect(
        sender.send(makeAlert(), { type: 'slack', botToken: ' ', channelId: 'C1' }),
      ).rejects.toMatchObject({ retryable: false, code: 'invalid_config' });
      expect(received).toHaveLength(0);
    });

    it('never puts the token in an error', async () => {
      const echo: Respond = (res, req) =>
        res.writeHead(403).end(`invalid_auth ${req.headers.authorization ?? ''}`);
      const senders = [
        createSlackSender({ sleep, apiBaseUrl: api('echo', echo) }),
        createSlackSender({
          sleep,
          apiBaseUrl: api('echo-json', (res, req) =>
            apiAnswer({ ok: false, error: `bad ${req.headers.authorization}` })(res, req),
          ),
        }),
        createSlackSender({
          sleep,
          timeoutMs: 200,
          apiBaseUrl: `http://127.0.0.1:${await closedPort()}/api`,
        }),
      ];

      const errors = await Promise.all(
        senders.map((sender) =>
          sender.send(makeAlert(), bot).then(
            () => undefined,
            (error: unknown) => error,
          ),
        ),
      );

      expect(errors.every((error) => error instanceof DeliveryError)).toBe(true);
      for (const error of errors) {
        const described = `${String(error)}\n${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}`;
        expect(described).not.toContain('SECRET');
      }
    });
  });
});

describe('parseRetryAfter', () => {
  const clock: Clock = { now: () => new Date('2025-03-05T14:00:00Z') };

  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', clock.now())).toBe(30_000);
    expect(parseRetryAfter('Wed, 05 Mar 2025 14:00:45 GMT', clock.now())).toBe(45_000);
    expect(parseRetryAfter('Wed, 05 Mar 2025 13:00:00 GMT', clock.now())).toBe(0);
  });

  it('ignores an absent or unreadable value', () => {
    expect(parseRetryAfter(null, clock.now())).toBeUndefined();
    expect(parseRetryAfter('soon', clock.now())).toBeUndefined();
  });
});
