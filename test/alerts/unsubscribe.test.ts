import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoUnsubscribeStore } from '../../shared/adapters/unsubscribe-store.ts';
import { StaticSubscriptionStore } from '../../shared/alerts/subscriptions.ts';
import {
  ALL_WATCHES,
  createUnsubscribeLinks,
  handleFunctionUrlUnsubscribe,
  handleUnsubscribeRequest,
  signUnsubscribeToken,
  type UnsubscribeDeps,
  type UnsubscribeRequest,
  UnsubscribeSecretError,
  verifyUnsubscribeToken,
} from '../../shared/alerts/unsubscribe.ts';
import type { Clock, Subscriber } from '../../shared/ports.ts';

const SECRET = 'first-secret-0123456789abcdef';
const NEXT_SECRET = 'second-secret-0123456789abcdef';
const BASE_URL = 'https://unsubscribe.example.org/';
const clock: Clock = { now: () => new Date('2025-03-05T14:00:00Z') };

function subscriber(id: string, overrides: Partial<Subscriber> = {}): Subscriber {
  return {
    id,
    name: 'Desk analyst',
    channels: [{ type: 'email', to: `${id}@example.org` }],
    watches: ['dprk-troops', 'patriot-transfers'],
    timezone: 'UTC',
    mode: 'immediate',
    digestSchedule: '0 8 * * *',
    minSeverity: 'low',
    ...overrides,
  };
}

/** The query string of a link, as the endpoint receives it. */
function queryOf(url: string): string {
  return new URL(url).search;
}

function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token') ?? '';
}

const ONE_CLICK_URLENCODED = {
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: 'List-Unsubscribe=One-Click',
};

function oneClickMultipart(): { headers: Record<string, string>; body: string } {
  const boundary = '----provider7MA4YWxkTrZu0gW';
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body:
      `--${boundary}\r\n` +
      'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n' +
      'One-Click\r\n' +
      `--${boundary}--\r\n`,
  };
}

describe('unsubscribe tokens', () => {
  it('round-trips the subscriber and the watch through a link', () => {
    const links = createUnsubscribeLinks({ baseUrl: BASE_URL, secret: SECRET });

    const link = links.forWatch('analyst-1', 'dprk-troops');

    expect(link.url.startsWith(`${BASE_URL}?token=`)).toBe(true);
    expect(link.mailto).toBeUndefined();
    expect(verifyUnsubscribeToken(tokenOf(link.url), [SECRET])).toEqual({
      subscriberId: 'analyst-1',
      scope: 'dprk-troops',
    });
  });

  it('scopes a link for every alert to *', () => {
    const links = createUnsubscribeLinks({ baseUrl: BASE_URL, secret: SECRET });

    const link = links.forAll('analyst-1');

    expect(verifyUnsubscribeToken(tokenOf(link.url), [SECRET])).toEqual({
      subscriberId: 'analyst-1',
      scope: ALL_WATCHES,
    });
  });

  it('keeps a path and query of the base URL and adds a mailto carrying the token', () => {
    const links = createUnsubscribeLinks({
      baseUrl: 'https://example.org/alerts/unsubscribe?lang=en',
      secret: SECRET,
      mailto: 'unsubscribe@example.org',
    });

    const link = links.forWatch('analyst-1', 'dprk-troops');

    const url = new URL(link.url);
    expect(url.pathname).toBe('/alerts/unsubscribe');
    expect(url.searchParams.get('lang')).toBe('en');
    const token = url.searchParams.get('token') ?? '';
    expect(link.mailto).toBe(
      `mailto:unsubscribe@example.org?subject=${encodeURIComponent(`unsubscribe ${token}`)}`,
    );
  });

  it('rejects a token whose payload was changed to another subscriber', () => {
    const token = signUnsubscribeToken({ subscriberId: 'analyst-1', scope: '*' }, SECRET);
    const [, mac] = token.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ v: 1, s: 'analyst-2', w: '*' })).toString(
      'base64url',
    );

    expect(verifyUnsubscribeToken(`${otherPayload}.${mac}`, [SECRET])).toBeUndefined();
  });

  it("rejects one subscriber's signature on another subscriber's payload", () => {
    const mine = signUnsubscribeToken({ subscriberId: 'analyst-1', scope: 'dprk-troops' }, SECRET);
    const theirs = signUnsubscribeToken(
      { subscriberId: 'analyst-2', scope: 'dprk-troops' },
      SECRET,
    );

    const spliced = `${theirs.split('.')[0]}.${mine.split('.')[1]}`;

    expect(verifyUnsubscribeToken(spliced, [SECRET])).toBeUndefined();
  });

  it('rejects a token with a flipped signature character, a token signed with another secret, and garbage', () => {
    const token = signUnsubscribeToken({ subscriberId: 'analyst-1', scope: '*' }, SECRET);
    const at = token.length - 10;
    const flipped = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;

    expect(verifyUnsubscribeToken(flipped, [SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken(token, [NEXT_SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken('', [SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken('abc', [SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken(`${token}.extra`, [SECRET])).toBeUndefined();
    expect(verifyUnsubscribeToken(token.replace('.', '.+/'), [SECRET])).toBeUndefined();
  });

  it('rejects a signature in a non-canonical encoding (padding bits set)', () => {
    const token = signUnsubscribeToken({ subscriberId: 'analyst-1', scope: '*' }, SECRET);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 32 bytes take 43 characters: the last one carries 4 bits and 2 unused ones.
    const last = alphabet.indexOf(token.at(-1) ?? '');
    const padded = `${token.slice(0, -1)}${alphabet[last | 1]}`;

    expect(Buffer.from(padded.split('.')[1] ?? '', 'base64url')).toEqual(
      Buffer.from(token.split('.')[1] ?? '', 'base64url'),
    );
    expect(verifyUnsubscribeToken(padded, [SECRET])).toBeUndefined();
  });

  it('accepts tokens of the previous secret during a rotation and signs with the first', () => {
    const old = createUnsubscribeLinks({ baseUrl: BASE_URL, secret: SECRET }).forAll('analyst-1');
    const current = createUnsubscribeLinks({ baseUrl: BASE_URL, secret: NEXT_SECRET }).forAll(
      'analyst-1',
    );

    expect(verifyUnsubscribeToken(tokenOf(old.url), [NEXT_SECRET, SECRET])).toEqual({
      subscriberId: 'analyst-1',
      scope: '*',
    });
    expect(verifyUnsubscribeToken(tokenOf(current.url), [NEXT_SECRET, SECRET])).toBeDefined();
    expect(verifyUnsubscribeToken(tokenOf(old.url), [NEXT_SECRET])).toBeUndefined();
  });

  it('refuses to sign with a short secret', () => {
    expect(() => createUnsubscribeLinks({ baseUrl: BASE_URL, secret: 'short' })).toThrow(
      UnsubscribeSecretError,
    );
  });
});

describe('handleUnsubscribeRequest', () => {
  let dynamo: EmbeddedDynamo;
  let store: DynamoUnsubscribeStore;
  let deps: UnsubscribeDeps;
  let sequence = 0;
  const links = createUnsubscribeLinks({ baseUrl: BASE_URL, secret: SECRET });

  /** A subscriber id no other test uses, so tests sharing the table never collide. */
  function newSubscriberId(): string {
    sequence += 1;
    return `analyst-${sequence}`;
  }

  function request(overrides: Partial<UnsubscribeRequest> & { query: string }): UnsubscribeRequest {
    return { method: 'GET', headers: {}, ...overrides };
  }

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    store = new DynamoUnsubscribeStore(dynamo.documentClient, dynamo.tableNames.unsubscribes);
    deps = {
      secrets: [SECRET],
      store,
      subscriptions: new StaticSubscriptionStore([
        subscriber('analyst-hostile', { name: '<script>alert("name")</script> & Co' }),
      ]),
      watchName: async (watchId) =>
        watchId === 'dprk-troops' ? 'North Korean troop deployments' : undefined,
      clock,
    };
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  it('shows a confirmation page with a POST button on GET and records nothing', async () => {
    const subscriberId = newSubscriberId();
    const link = links.forWatch(subscriberId, 'dprk-troops');

    const response = await handleUnsubscribeRequest(request({ query: queryOf(link.url) }), deps);

    expect(response.status).toBe(200);
    expect(response.body).toContain('North Korean troop deployments');
    expect(response.body).toMatch(/<form method="post" action="\?token=[^"]+">/);
    expect(response.body).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(response.headers['Cache-Control']).toBe('no-store');
    expect(response.headers['X-Robots-Tag']).toBe('noindex');
    expect(response.headers['Content-Security-Policy']).toContain("default-src 'none'");
    expect(response.headers['Content-Security-Policy']).toContain("form-action 'self'");
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set());
  });

  it('unsubscribes from the watch on a One-Click POST (urlencoded)', async () => {
    const subscriberId = newSubscriberId();
    const link = links.forWatch(subscriberId, 'dprk-troops');

    const response = await handleUnsubscribeRequest(
      request({ method: 'POST', query: queryOf(link.url), ...ONE_CLICK_URLENCODED }),
      deps,
    );

    expect(response.status).toBe(200);
    expect(response.body).toContain('You are unsubscribed');
    expect(response.body).toContain('North Korean troop deployments');
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set(['dprk-troops']));
  });

  it('unsubscribes from every watch on a One-Click POST (multipart) of an all-alerts link', async () => {
    const subscriberId = newSubscriberId();
    const link = links.forAll(subscriberId);

    const response = await handleUnsubscribeRequest(
      request({ method: 'POST', query: queryOf(link.url), ...oneClickMultipart() }),
      deps,
    );

    expect(response.status).toBe(200);
    expect(response.body).toContain('all alerts');
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set([ALL_WATCHES]));
  });

  it('answers a repeated POST the same way and keeps one record', async () => {
    const subscriberId = newSubscriberId();
    const query = queryOf(links.forWatch(subscriberId, 'dprk-troops').url);
    const post = request({ method: 'POST', query, ...ONE_CLICK_URLENCODED });

    const first = await handleUnsubscribeRequest(post, deps);
    const second = await handleUnsubscribeRequest(post, deps);

    expect(second.status).toBe(200);
    expect(second.body).toBe(first.body);
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set(['dprk-troops']));
  });

  it('says "already unsubscribed" on a GET after the POST', async () => {
    const subscriberId = newSubscriberId();
    const query = queryOf(links.forWatch(subscriberId, 'dprk-troops').url);
    await handleUnsubscribeRequest(
      request({ method: 'POST', query, ...ONE_CLICK_URLENCODED }),
      deps,
    );

    const response = await handleUnsubscribeRequest(request({ query }), deps);

    expect(response.status).toBe(200);
    expect(response.body).toContain('already unsubscribed');
    expect(response.body).not.toContain('<form');
  });

  it('records nothing for a POST without List-Unsubscribe=One-Click and offers the button', async () => {
    const subscriberId = newSubscriberId();
    const query = queryOf(links.forWatch(subscriberId, 'dprk-troops').url);

    const response = await handleUnsubscribeRequest(
      request({
        method: 'POST',
        query,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=Maybe',
      }),
      deps,
    );

    expect(response.status).toBe(400);
    expect(response.body).toContain('<form method="post"');
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set());
  });

  it('answers 400 and records nothing for a tampered, foreign-secret or missing token', async () => {
    const subscriberId = newSubscriberId();
    const token = tokenOf(links.forAll(subscriberId).url);
    const foreign = signUnsubscribeToken({ subscriberId, scope: '*' }, NEXT_SECRET);
    const queries = [`?token=${token.slice(0, -2)}`, `?token=${foreign}`, '', '?token='];

    const responses = await Promise.all(
      queries.map((query) =>
        handleUnsubscribeRequest(request({ method: 'POST', query, ...ONE_CLICK_URLENCODED }), deps),
      ),
    );

    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 400]);
    expect(responses[0]?.body).toContain('not valid');
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set());
  });

  it('answers 405 with Allow for other methods and records nothing', async () => {
    const subscriberId = newSubscriberId();
    const query = queryOf(links.forAll(subscriberId).url);

    const responses = await Promise.all(
      ['PUT', 'DELETE', 'HEAD'].map((method) =>
        handleUnsubscribeRequest(request({ method, query, ...ONE_CLICK_URLENCODED }), deps),
      ),
    );

    for (const response of responses) {
      expect(response.status).toBe(405);
      expect(response.headers.Allow).toBe('GET, POST');
    }
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set());
  });

  it('escapes hostile subscriber and watch names', async () => {
    const hostileWatch = '"><img src=x onerror=alert(1)>';
    const query = queryOf(links.forWatch('analyst-hostile', hostileWatch).url);

    const response = await handleUnsubscribeRequest(request({ query }), deps);

    expect(response.status).toBe(200);
    expect(response.body).not.toContain('<script>');
    expect(response.body).not.toContain('<img');
    expect(response.body).toContain(
      '&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; Co',
    );
    expect(response.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  });

  it('answers 500 without a record when the store fails, and logs it', async () => {
    const errors: string[] = [];
    const failing: UnsubscribeDeps = {
      ...deps,
      store: {
        unsubscribe: () => Promise.reject(new Error('ProvisionedThroughputExceededException')),
        unsubscribedFrom: () => Promise.resolve(new Set()),
      },
      logger: { info() {}, warn() {}, error: (message) => errors.push(message) },
    };
    const query = queryOf(links.forAll(newSubscriberId()).url);

    const response = await handleUnsubscribeRequest(
      request({ method: 'POST', query, ...ONE_CLICK_URLENCODED }),
      failing,
    );

    expect(response.status).toBe(500);
    expect(response.body).toContain('try again');
    expect(errors).toEqual(['unsubscribe request failed']);
  });

  it('throws UnsubscribeSecretError when no usable secret is configured', async () => {
    const query = queryOf(links.forAll(newSubscriberId()).url);

    await expect(
      handleUnsubscribeRequest(request({ query }), { ...deps, secrets: [] }),
    ).rejects.toThrow(UnsubscribeSecretError);
  });

  it('decodes a base64 function URL body and answers in the function URL shape', async () => {
    const subscriberId = newSubscriberId();
    const link = links.forWatch(subscriberId, 'patriot-transfers');
    const event = {
      rawQueryString: queryOf(link.url).slice(1),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      requestContext: { http: { method: 'POST' } },
      body: Buffer.from('List-Unsubscribe=One-Click').toString('base64'),
      isBase64Encoded: true,
    } as unknown as LambdaFunctionURLEvent;

    const result = await handleFunctionUrlUnsubscribe(event, deps);

    expect(result).toMatchObject({ statusCode: 200 });
    expect(await store.unsubscribedFrom(subscriberId)).toEqual(new Set(['patriot-transfers']));
  });
});
