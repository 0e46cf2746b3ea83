/**
 * One-click unsubscribe (RFC 8058): signed links for the `List-Unsubscribe`
 * header and the page behind them.
 *
 * A link carries a token `base64url(payload).base64url(mac)`, where the
 * payload is `{"v":1,"s":subscriberId,"w":watchId or "*"}` and the mac an
 * HMAC-SHA256 of it under the deployment's secret. The token is the only
 * authority: whoever holds a subscriber's link can stop that subscriber's
 * alerts, as with every mailing list. Tokens do not expire (an old email must
 * still work); several secrets are accepted so that the key can be rotated.
 *
 * `handleUnsubscribeRequest` takes and returns plain objects, so the local
 * server (`shared/adapters/unsubscribe-server.ts`) and the Lambda function URL
 * (`functions/unsubscribe.ts`) answer alike. A GET only shows a confirmation
 * page with a button (link scanners in mail systems follow links); a POST
 * carrying `List-Unsubscribe=One-Click` (what mail providers send, and what
 * the button sends) records the unsubscription.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import type {
  Clock,
  Logger,
  SubscriptionStore,
  UnsubscribeLink,
  UnsubscribeStore,
} from '../ports.ts';

/** The scope of an unsubscription from every watch, as `UnsubscribeStore` records it. */
export const ALL_WATCHES = '*';

/** Format version of the token payload; a token of another version is rejected. */
const TOKEN_VERSION = 1;
/** Keeps the MAC apart from any other use of the same secret. */
const MAC_CONTEXT = 'wirewatch-unsubscribe\n';
/** Secrets shorter than this are refused: the MAC is only as strong as the key. */
const MIN_SECRET_LENGTH = 16;
/** Longer tokens are refused before any decoding. */
const MAX_TOKEN_LENGTH = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAC_BYTES = 32;

/** Thrown when a signing secret is missing or too short to be safe. */
export class UnsubscribeSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsubscribeSecretError';
  }
}

/** What a valid token grants: stopping `scope` (a watch id, or `*`) for the subscriber. */
export interface UnsubscribeGrant {
  subscriberId: string;
  /** A watch id, or `ALL_WATCHES` (`*`). */
  scope: string;
}

/** Options of `createUnsubscribeLinks`. */
export interface UnsubscribeLinkOptions {
  /**
   * Public https URL of the unsubscribe endpoint (the Lambda function URL, or
   * the local server's `url`); the token is added as the `token` query parameter.
   */
  baseUrl: string;
  /** Signing secret, at least 16 characters (the first of `secrets` on the handler side). */
  secret: string;
  /**
   * Address for the `mailto:` alternative of `List-Unsubscribe`
   * (`unsubscribe@example.org`, with or without `mailto:`). Its subject carries
   * the token, so whoever reads that mailbox can check it with
   * `verifyUnsubscribeToken`. No mailto link when absent.
   */
  mailto?: string;
}

/** Builds the links of one deployment's emails. */
export interface UnsubscribeLinks {
  /** Link that stops one watch's alerts for the subscriber (an alert email). */
  forWatch(subscriberId: string, watchId: string): UnsubscribeLink;
  /** Link that stops every alert of the subscriber (a digest email). */
  forAll(subscriberId: string): UnsubscribeLink;
}

/** Creates the link builder; throws `UnsubscribeSecretError` for a weak secret. */
export function createUnsubscribeLinks(options: UnsubscribeLinkOptions): UnsubscribeLinks {
  assertSecret(options.secret);
  const base = new URL(options.baseUrl);
  const mailbox = options.mailto?.replace(/^mailto:/i, '').trim();
  const link = (subscriberId: string, scope: string): UnsubscribeLink => {
    const token = signUnsubscribeToken({ subscriberId, scope }, options.secret);
    const url = new URL(base);
    url.searchParams.set('token', token);
    return {
      url: url.toString(),
      ...(mailbox
        ? { mailto: `mailto:${mailbox}?subject=${encodeURIComponent(`unsubscribe ${token}`)}` }
        : {}),
    };
  };
  // A link depends only on (subscriber, scope), and every alert of a watch
  // carries one: sign each once, not once per alert.
  const links = new Map<string, UnsubscribeLink>();
  const linkOnce = (subscriberId: string, scope: string): UnsubscribeLink => {
    const key = `${subscriberId}\n${scope}`;
    let made = links.get(key);
    if (!made) {
      made = link(subscriberId, scope);
      if (links.size >= MAX_CACHED_LINKS) links.clear();
      links.set(key, made);
    }
    return { ...made };
  };
  return {
    forWatch: (subscriberId, watchId) => linkOnce(subscriberId, watchId),
    forAll: (subscriberId) => linkOnce(subscriberId, ALL_WATCHES),
  };
}

/** Signed links kept per link builder (subscribers × watches is small; the bound is a safeguard). */
const MAX_CACHED_LINKS = 10_000;

/** Signs a grant into a token with `secret`. */
export function signUnsubscribeToken(grant: UnsubscribeGrant, secret: string): string {
  assertSecret(secret);
  if (grant.subscriberId === '' || grant.scope === '') {
    throw new Error('an unsubscribe token needs a subscriber id and a scope');
  }
  const payload = Buffer.from(
    JSON.stringify({ v: TOKEN_VERSION, s: grant.subscriberId, w: grant.scope }),
    'utf8',
  ).toString('base64url');
  return `${payload}.${mac(payload, secret).toString('base64url')}`;
}

/**
 * The grant of `token` when one of `secrets` signed it, else `undefined`
 * (malformed, tampered, signed with an unknown secret, or another version).
 */
export function verifyUnsubscribeToken(
  token: string,
  secrets: readonly string[],
): UnsubscribeGrant | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const [payload, signature, ...rest] = token.split('.');
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
  if (!BASE64URL.test(payload) || !BASE64URL.test(signature)) return undefined;
  const given = Buffer.from(signature, 'base64url');
  // Only the canonical encoding: the unused low bits of the last character must be 0.
  if (given.length !== MAC_BYTES || given.toString('base64url') !== signature) return undefined;
  // Every secret is tried, so the time taken does not tell which one matched.
  let valid = false;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH && timingSafeEqual(given, mac(payload, secret))) {
      valid = true;
    }
  }
  if (!valid) return undefined;
  return parsePayload(payload);
}

function parsePayload(payload: string): UnsubscribeGrant | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, s, w } = value as Record<string, unknown>;
  if (v !== TOKEN_VERSION || typeof s !== 'string' || typeof w !== 'string') return undefined;
  if (s === '' || w === '') return undefined;
  return { subscriberId: s, scope: w };
}

function mac(payload: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(MAC_CONTEXT).update(payload).digest();
}

function assertSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new UnsubscribeSecretError(
      `the unsubscribe signing secret must be at least ${MIN_SECRET_LENGTH} characters long`,
    );
  }
}

/** An HTTP request as both the local server and a Lambda function URL see it. */
export interface UnsubscribeRequest {
  method: string;
  /** The query string, with or without its leading `?` (a function URL's `rawQueryString`). */
  query: string;
  /** Request headers; names in any case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as text (already base64-decoded); absent for a GET. */
  body?: string;
}

/** The answer: a complete HTML page with its headers. */
export interface UnsubscribeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What `handleUnsubscribeRequest` needs. */
export interface UnsubscribeDeps {
  /** Secrets tokens are accepted under; the first is the one links are signed with. */
  secrets: readonly string[];
  store: UnsubscribeStore;
  /** When given, the page names the subscriber (its `name`). */
  subscriptions?: SubscriptionStore;
  /** When given, the page names the watch; else it shows the watch id. */
  watchName?: (watchId: string) => Promise<string | undefined>;
  clock: Clock;
  /** Where a failing store is reported; the requester gets a 500 page either way. */
  logger?: Logger;
}

/**
 * Answers a request to the unsubscribe endpoint:
 * - GET with a valid `token` query parameter: 200, a confirmation page whose
 *   button POSTs `List-Unsubscribe=One-Click` (or "already unsubscribed");
 *   nothing is recorded.
 * - POST with a valid token and `List-Unsubscribe=One-Click` in the body
 *   (urlencoded or multipart): records the unsubscription (idempotent), 200.
 *   Without that field: 400 with the confirmation button, nothing recorded.
 * - An invalid or missing token: 400, nothing recorded.
 * - Any other method: 405 with `Allow: GET, POST`.
 *
 * Throws `UnsubscribeSecretError` when `deps.secrets` holds no usable secret
 * (a deployment without its secret is misconfigured, not a bad link).
 */
export async function handleUnsubscribeRequest(
  request: UnsubscribeRequest,
  deps: UnsubscribeDeps,
): Promise<UnsubscribeResponse> {
  if (!deps.secrets.some((secret) => secret.length >= MIN_SECRET_LENGTH)) {
    throw new UnsubscribeSecretError(
      `no unsubscribe secret of at least ${MIN_SECRET_LENGTH} characters is configured`,
    );
  }
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') {
    return page(405, METHOD_NOT_ALLOWED, { Allow: 'GET, POST' });
  }
  const token = new URLSearchParams(request.query.replace(/^\?/, '')).get('token') ?? '';
  const grant = verifyUnsubscribeToken(token, deps.secrets);
  if (!grant) return page(400, INVALID_LINK);

  try {
    const names = await describe(grant, deps);
    if (method === 'GET') {
      const done = await deps.store.unsubscribedFrom(grant.subscriberId);
      if (done.has(ALL_WATCHES) || done.has(grant.scope)) return page(200, alreadyDone(names));
      return page(200, confirmation(names, token));
    }
    if (!isOneClick(request)) return page(400, notConfirmed(names, token));
    await deps.store.unsubscribe(grant.subscriberId, grant.scope, deps.clock.now());
    return page(200, unsubscribed(names));
  } catch (error) {
    deps.logger?.error('unsubscribe request failed', {
      subscriberId: grant.subscriberId,
      scope: grant.scope,
      error: error instanceof Error ? error.message : String(error),
    });
    return page(500, UNAVAILABLE);
  }
}

/** Largest body a function URL request may carry, as the local server allows. */
const MAX_BODY_BYTES = 8 * 1024;

/**
 * `handleUnsubscribeRequest` for a Lambda function URL (payload format 2.0):
 * decodes a base64 body, refuses one over 8 KiB with a 413.
 */
export async function handleFunctionUrlUnsubscribe(
  event: LambdaFunctionURLEvent,
  deps: UnsubscribeDeps,
): Promise<LambdaFunctionURLResult> {
  const raw = event.body ?? '';
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (body.length > MAX_BODY_BYTES) {
    return {
      statusCode: 413,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'Request body too large\n',
    };
  }
  const response = await handleUnsubscribeRequest(
    {
      method: event.requestContext.http.method,
      query: event.rawQueryString ?? '',
      headers: event.headers ?? {},
      body: body.toString('utf8'),
    },
    deps,
  );
  return { statusCode: response.status, headers: response.headers, body: response.body };
}

/** Whether the body carries `List-Unsubscribe=One-Click` (RFC 8058 section 3.1). */
function isOneClick(request: UnsubscribeRequest): boolean {
  const body = request.body ?? '';
  const contentType = header(request.headers, 'content-type') ?? '';
  const boundary = /^multipart\/form-data\s*;.*?boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(
    contentType,
  );
  if (boundary) {
    return multipartField(body, boundary[1] ?? boundary[2] ?? '', 'List-Unsubscribe').includes(
      'One-Click',
    );
  }
  return new URLSearchParams(body.trim()).getAll('List-Unsubscribe').includes('One-Click');
}

/** The values of the form fields named `name` in a `multipart/form-data` body. */
function multipartField(body: string, boundary: string, name: string): string[] {
  if (boundary === '') return [];
  const values: string[] = [];
  for (const part of body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break;
    const match = /^\r?\n([\s\S]*?)\r?\n\r?\n([\s\S]*?)\r?\n?$/.exec(part);
    if (!match) continue;
    const disposition = /^content-disposition:[^\r\n]*\bname="([^"]*)"/im.exec(match[1] ?? '');
    if (disposition?.[1] === name) values.push((match[2] ?? '').trim());
  }
  return values;
}

function header(headers: UnsubscribeRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** How the page names what is stopped, and for whom; plain text, escaped when rendered. */
interface Names {
  /** `alerts of the watch "North Korean troops"`, or `all alerts`. */
  what: string;
  /** The subscriber's name, when known. */
  who?: string;
}

async function describe(grant: UnsubscribeGrant, deps: UnsubscribeDeps): Promise<Names> {
  const [subscriber, watchName] = await Promise.all([
    deps.subscriptions?.get(grant.subscriberId),
    grant.scope === ALL_WATCHES ? undefined : deps.watchName?.(grant.scope),
  ]);
  const what =
    grant.scope === ALL_WATCHES
      ? 'all alerts'
      : `alerts of the watch \u201c${watchName ?? grant.scope}\u201d`;
  return { what, ...(subscriber?.name ? { who: subscriber.name } : {}) };
}

interface Page {
  title: string;
  /** Trusted HTML: every interpolated value is passed through `escapeHtml`. */
  html: string;
}

const METHOD_NOT_ALLOWED: Page = {
  title: 'Method not allowed',
  html: '<p>This page only answers GET and POST requests.</p>',
};

const INVALID_LINK: Page = {
  title: 'This unsubscribe link is not valid',
  html:
    '<p>The link may have been cut short when it was copied. Use the unsubscribe link ' +
    'of a recent alert email, or ask whoever manages your alerts.</p>',
};

const UNAVAILABLE: Page = {
  title: 'Could not unsubscribe right now',
  html: '<p>Nothing has changed yet. Please try again in a few minutes.</p>',
};

function forWhom(names: Names): string {
  return names.who ? ` for ${escapeHtml(names.who)}` : '';
}

function button(token: string): string {
  return (
    `<form method="post" action="?token=${escapeHtml(encodeURIComponent(token))}">` +
    '<input type="hidden" name="List-Unsubscribe" value="One-Click">' +
    '<button type="submit">Unsubscribe</button></form>'
  );
}

function confirmation(names: Names, token: string): Page {
  return {
    title: 'Unsubscribe?',
    html: `<p>Stop ${escapeHtml(names.what)}${forWhom(names)}?</p>${button(token)}`,
  };
}

function notConfirmed(names: Names, token: string): Page {
  return {
    title: 'Unsubscribe not confirmed',
    html: `<p>Nothing has changed. To stop ${escapeHtml(names.what)}${forWhom(names)}, press the button.</p>${button(token)}`,
  };
}

function alreadyDone(names: Names): Page {
  return {
    title: 'You are already unsubscribed',
    html: `<p>You no longer receive ${escapeHtml(names.what)}${forWhom(names)}.</p>`,
  };
}

function unsubscribed(names: Names): Page {
  return {
    title: 'You are unsubscribed',
    html: `<p>You will no longer receive ${escapeHtml(names.what)}${forWhom(names)}.</p>`,
  };
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;' +
  'line-height:1.5;color:#1a1a1a}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}';

/** No script, no outside resource, only this page's own style, forms only back here. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function page(status: number, content: Page, extraHeaders: Record<string, string> = {}) {
  const body =
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="robots" content="noindex">' +
    `<title>${escapeHtml(content.title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(content.title)}</h1>${content.html}</main></body></html>\n`;
  return {
    status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Robots-Tag': 'noindex',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      // The token is in the URL: never send it on.
      'Referrer-Policy': 'no-referrer',
      ...extraHeaders,
    },
    body,
  } satisfies UnsubscribeResponse;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
