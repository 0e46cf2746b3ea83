import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSlackWebhookSender,
  parseRetryAfter,
} from '../../shared/adapters/slack-webhook-sender.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import type { SlackMessage } from '../../shared/alerts/render.ts';
import type { Clock } from '../../shared/ports.ts';
import { closedPort, makeAlert, termAt } from './alert-fixture.ts';

interface Received {
  path: string;
  contentType: string | undefined;
  body: SlackMessage;
}

/** What the stand-in webhook answers, by the last segment of the secret path. */
const behaviours: Record<string, (res: ServerResponse) => void> = {
  ok: (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
  'rate-limited': (res) => res.writeHead(429, { 'retry-after': '7' }).end('rate_limited'),
  'channel-gone': (res) => res.writeHead(404).end('channel_not_found'),
  archived: (res) => res.writeHead(410).end('channel_is_archived'),
  'bad-payload': (res) => res.writeHead(400).end('invalid_payload'),
  broken: (res) => res.writeHead(500).end('<html>Internal error</html>'),
  echo: (res) => res.writeHead(403).end(`action_prohibited ${res.req.url ?? ''}`),
  redirect: (res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end(),
  silent: () => {},
};

const SECRET_PREFIX = '/services/T0SECRET1/B0SECRET2';

describe('Slack webhook sender', () => {
  const received: Received[] = [];
  let server: Server;
  let baseUrl: string;

  function webhook(behaviour: string): string {
    return `${baseUrl}${SECRET_PREFIX}/xoxSECRETtoken-${behaviour}`;
  }

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '';
        received.push({
          path,
          contentType: req.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage,
        });
        const key = (path.split('/').at(-1) ?? '').replace('xoxSECRETtoken-', '');
        const behaviour = behaviours[key];
        if (behaviour === undefined) {
          res.writeHead(404).end('no_service');
        } else {
          behaviour(res);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
  });

  beforeEach(() => {
    received.length = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  it('posts the Block Kit message as JSON to the webhook', async () => {
    const sender = createSlackWebhookSender();

    await sender.send(makeAlert(), { type: 'slack', webhookUrl: webhook('ok') });

    expect(received).toHaveLength(1);
    expect(received[0]?.path).toBe(`${SECRET_PREFIX}/xoxSECRETtoken-ok`);
    expect(received[0]?.contentType).toMatch(/^application\/json/);
    expect(received[0]?.body.text).toBe(
      '[HIGH] Korea troop deployments: North Korean troops deploy to Kursk region',
    );
    expect(received[0]?.body.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*<https://news.example.com/world/korea-troops?id=42|North Korean troops deploy to Kursk region>*',
      },
    });
  });

  it('delivers mentions and links from feed text escaped', async () => {
    const sender = createSlackWebhookSender();
    const title = 'Breaking <!channel> @here troops';
    const summary = 'Read <https://evil.example|Reuters exclusive> now, <@U123> & <!everyone>';
    const alert = makeAlert({
      item: { title, summary },
      matchedTerms: [termAt(title, 'troops', 'title')],
    });

    await sender.send(alert, { type: 'slack', webhookUrl: webhook('ok') });

    const body = received[0]?.body;
    const texts = [
      body?.text ?? '',
      ...(body?.blocks ?? []).flatMap((block) =>
        block.type === 'section' ? [block.text.text] : block.elements.map((e) => e.text),
      ),
    ];
    const all = texts.join('\n');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<!everyone>');
    expect(all).not.toContain('<@U123>');
    expect(all).not.toContain('<https://evil.example|');
    expect(all).not.toMatch(/@here/);
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('&lt;https://evil.example|Reuters exclusive&gt;');
    expect(all).toContain('&lt;@U123&gt; &amp; &lt;!everyone&gt;');
  });

  it('reports 429 as retryable with the Retry-After delay', async () => {
    const sender = createSlackWebhookSender();

    const sending = sender.send(makeAlert(), {
      type: 'slack',
      webhookUrl: webhook('rate-limited'),
    });

    await expect(sending).rejects.toBeInstanceOf(DeliveryError);
    await expect(sending).rejects.toMatchObject({
      retryable: true,
      retryAfterMs: 7000,
      channel: 'slack',
    });
  });

  it.each([
    ['channel-gone', 'channel_not_found'],
    ['archived', 'channel_is_archived'],
    ['bad-payload', 'invalid_payload'],
  ])('reports %s (%s) as not retryable', async (behaviour, slackCode) => {
    const sender = createSlackWebhookSender();

    const sending = sender.send(makeAlert(), { type: 'slack', webhookUrl: webhook(behaviour) });

    await expect(sending).rejects.toMatchObject({ retryable: false, code: slackCode });
    await expect(sending).rejects.toThrow(
      `Slack incoming webhook delivery failed (not retryable): HTTP`,
    );
  });

  it('reports 500 as retryable', async () => {
    const sender = createSlackWebhookSender();

    const sending = sender.send(makeAlert(), { type: 'slack', webhookUrl: webhook('broken') });

    await expect(sending).rejects.toMatchObject({ retryable: true, code: 500 });
  });

  it('does not follow a redirect, and does not retry it', async () => {
    const sender = createSlackWebhookSender();

    const sending = sender.send(makeAlert(), { type: 'slack', webhookUrl: webhook('redirect') });

    await expect(sending).rejects.toMatchObject({ retryable: false, code: 302 });
  });

  it('reports a webhook that does not answer in time as retryable', async () => {
    const sender = createSlackWebhookSender({ timeoutMs: 200 });

    const sending = sender.send(makeAlert(), { type: 'slack', webhookUrl: webhook('silent') });

    await expect(sending).rejects.toMatchObject({ retryable: true, code: 'timeout' });
  });

  it('reports a webhook host that refuses connections as retryable', async () => {
    const sender = createSlackWebhookSender();
    const refusing = `http://127.0.0.1:${await closedPort()}${SECRET_PREFIX}/xoxSECRETtoken-ok`;

    const sending = sender.send(makeAlert(), { type: 'slack', webhookUrl: refusing });

    await expect(sending).rejects.toMatchObject({ retryable: true, code: 'ECONNREFUSED' });
  });

  it('never puts the webhook URL in an error', async () => {
    const sender = createSlackWebhookSender({ timeoutMs: 200 });
    const urls = [
      ...['echo', 'channel-gone', 'broken', 'rate-limited', 'silent', 'redirect'].map(webhook),
      `http://127.0.0.1:${await closedPort()}${SECRET_PREFIX}/xoxSECRETtoken-ok`,
      `http://127.0.0.1:1${SECRET_PREFIX}/xoxSECRETtoken-ok`,
      `ftp://hooks.example${SECRET_PREFIX}/xoxSECRETtoken-ok`,
      `not a url ${SECRET_PREFIX}/xoxSECRETtoken-ok`,
    ];

    const errors = await Promise.all(
      urls.map((webhookUrl) =>
        sender.send(makeAlert(), { type: 'slack', webhookUrl }).then(
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
