import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import {
  startUnsubscribeServer,
  type UnsubscribeServer,
} from '../../shared/adapters/unsubscribe-server.ts';
import { DynamoUnsubscribeStore } from '../../shared/adapters/unsubscribe-store.ts';
import { createUnsubscribeLinks, type UnsubscribeLinks } from '../../shared/alerts/unsubscribe.ts';

const SECRET = 'local-secret-0123456789abcdef';

describe('local unsubscribe server over HTTP', () => {
  let dynamo: EmbeddedDynamo;
  let store: DynamoUnsubscribeStore;
  let server: UnsubscribeServer;
  let links: UnsubscribeLinks;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    store = new DynamoUnsubscribeStore(dynamo.documentClient, dynamo.tableNames.unsubscribes);
    server = await startUnsubscribeServer({
      port: 0,
      host: '127.0.0.1',
      deps: { secrets: [SECRET], store, clock: { now: () => new Date('2025-03-05T14:00:00Z') } },
    });
    links = createUnsubscribeLinks({ baseUrl: server.url, secret: SECRET });
  });

  afterAll(async () => {
    await server.stop();
    await dynamo.stop();
  });

  it('unsubscribes on a One-Click POST as a mail provider sends it', async () => {
    const link = links.forWatch('http-1', 'dprk-troops');

    const response = await fetch(link.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('You are unsubscribed');
    expect(await store.unsubscribedFrom('http-1')).toEqual(new Set(['dprk-troops']));
  });

  it('unsubscribes on a multipart One-Click POST', async () => {
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');

    const response = await fetch(links.forAll('http-2').url, { method: 'POST', body: form });

    expect(response.status).toBe(200);
    expect(await store.unsubscribedFrom('http-2')).toEqual(new Set(['*']));
  });

  it('shows the confirmation on GET, and its form posts back to unsubscribe', async () => {
    const link = links.forWatch('http-3', 'patriot-transfers');

    const page = await fetch(link.url);
    const html = await page.text();
    const before = await store.unsubscribedFrom('http-3');
    const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    const posted = await fetch(new URL(action ?? '', link.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });

    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(before).toEqual(new Set());
    expect(posted.status).toBe(200);
    expect(await store.unsubscribedFrom('http-3')).toEqual(new Set(['patriot-transfers']));
  });

  it('refuses a body over 8 KiB with 413 and records nothing', async () => {
    const response = await fetch(links.forAll('http-4').url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `List-Unsubscribe=One-Click&padding=${'x'.repeat(9000)}`,
    });

    expect(response.status).toBe(413);
    expect(await store.unsubscribedFrom('http-4')).toEqual(new Set());
  });

  it('answers 404 on other paths and 405 for other methods', async () => {
    const link = links.forAll('http-5');
    const other = new URL(link.url);
    other.pathname = '/favicon.ico';

    const notFound = await fetch(other);
    const notAllowed = await fetch(link.url, { method: 'PUT', body: 'List-Unsubscribe=One-Click' });

    expect(notFound.status).toBe(404);
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get('allow')).toBe('GET, POST');
    expect(await store.unsubscribedFrom('http-5')).toEqual(new Set());
  });
});
