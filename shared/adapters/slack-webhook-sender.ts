/**
 * Slack delivery over an incoming webhook, and the HTTP plumbing every Slack
 * sender shares: one POST with a timeout and no redirects, an inline wait for
 * short rate limits, classification of the answer into a `DeliveryError`,
 * and redaction of secrets from anything that goes into an error.
 */
import { DeliveryError, requireChannel } from '../alerts/delivery-error.ts';
import { renderSlackAlert, renderSlackDigest, type SlackMessage } from '../alerts/slack.ts';
import {
  type Alert,
  type AlertSender,
  type ChannelConfig,
  type Clock,
  type Digest,
  type SendReceipt,
  systemClock,
} from '../ports.ts';

/** Tuning shared by the Slack senders. */
export interface SlackSenderOptions {
  /** Limit for one request, response body included. Default 10 s. */
  timeoutMs?: number;
  /** Used to turn an HTTP-date `Retry-After` into a delay. */
  clock?: Clock;
  /**
   * A 429 whose `Retry-After` is at most this long is waited out and the same
   * post tried again (up to {@link MAX_INLINE_RETRIES} times), so that alerts
   * keep their order through a burst of rate limits. Default 5 s.
   */
  maxInlineWaitMs?: number;
  /** How to wait for `Retry-After`; tests hand in one that does not. */
  sleep?: (ms: number) => Promise<void>;
}

/** How many times one post is tried again after a short 429 before giving up. */
export const MAX_INLINE_RETRIES = 3;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_INLINE_WAIT_MS = 5_000;
const BODY_EXCERPT_CHARS = 100;
const WEBHOOK_DESTINATION = 'Slack incoming webhook';

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads `Retry-After` (delay in seconds, or an HTTP date) as milliseconds from
 * now; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null || value.trim() === '') {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** One request to Slack. */
export interface SlackPost {
  url: URL;
  /** What is being talked to, for people: it names the error, never the address. */
  destination: string;
  headers: Record<string, string>;
  body: unknown;
  /** Strings that must never appear in an error (a webhook URL and its path, a token). */
  secrets: readonly string[];
}

/** A 2xx answer from Slack. */
export interface SlackAnswer {
  status: number;
  body: string;
}

/**
 * Replaces every secret in `text`. Anything that came back from the network
 * and goes into an error (a response body, a low-level error message) passes
 * through here first, in case it echoes the URL or the token.
 */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 1) {
      out = out.split(secret).join('[secret]');
    }
  }
  return out;
}

/** Statuses worth retrying: rate limits, request timeouts and Slack-side failures. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

/**
 * Slack's short snake_case error code in a response body: the whole body of a
 * webhook answer (`channel_not_found`) or the `error` of a Web API answer.
 */
export function slackErrorCode(body: string): string | undefined {
  const trimmed = body.trim();
  if (/^[a-z_]+$/.test(trimmed)) {
    return trimmed;
  }
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const { error } = parsed;
      return typeof error === 'string' && /^[a-z_]+$/.test(error) ? error : undefined;
    }
  } catch {
    // Not JSON: an HTML error page from a proxy, say. The status says enough.
  }
  return undefined;
}

function networkError(error: unknown, post: SlackPost, timeoutMs: number): DeliveryError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new DeliveryError('slack', {
      destination: post.destination,
      reason: `no response within ${timeoutMs} ms`,
      retryable: true,
      code: 'timeout',
    });
  }
  // fetch reports "fetch failed" and keeps the socket error (ECONNREFUSED, ...) as its cause.
  const cause = error instanceof Error ? error.cause : undefined;
  const code =
    cause instanceof Error && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : 'network';
  const message = error instanceof Error ? error.message : String(error);
  const detail = cause instanceof Error ? `${message}: ${cause.message}` : message;
  return new DeliveryError('slack', {
    destination: post.destination,
    reason: redact(`${detail} (${code})`, post.secrets),
    retryable: true,
    code,
  });
}

/**
 * Posts `post.body` as JSON and returns the 2xx answer. Redirects are not
 * followed: the payload goes to the configured address or nowhere. A 429
 * whose `Retry-After` is within `maxInlineWaitMs` is waited out and the same
 * post tried again, up to {@link MAX_INLINE_RETRIES} times. Any other
 * non-2xx answer throws a `DeliveryError`: retryable for 429, 408, 5xx,
 * timeouts and network failures (with `retryAfterMs` when Slack sent one),
 * not retryable for everything else (400 `invalid_payload`, 403, 404
 * `no_service`, 410 `channel_is_archived`, a redirect, ...).
 */
export async function postToSlack(
  post: SlackPost,
  options: SlackSenderOptions = {},
): Promise<SlackAnswer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = options.clock ?? systemClock;
  const maxInlineWaitMs = options.maxInlineWaitMs ?? DEFAULT_MAX_INLINE_WAIT_MS;
  const sleep = options.sleep ?? defaultSleep;
  const payload = JSON.stringify(post.body);
  for (let retries = 0; ; retries++) {
    let status: number;
    let body: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(post.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...post.headers },
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      body = await response.text();
    } catch (error) {
      throw networkError(error, post, timeoutMs);
    }
    if (status >= 200 && status < 300) {
      return { status, body };
    }
    const retryAfterMs = parseRetryAfter(retryAfter, clock.now());
    if (
      status === 429 &&
      retryAfterMs !== undefined &&
      retryAfterMs <= maxInlineWaitMs &&
      retries < MAX_INLINE_RETRIES
    ) {
      await sleep(retryAfterMs);
      continue;
    }
    const excerpt = redact(body.replace(/\s+/g, ' ').trim(), post.secrets).slice(
      0,
      BODY_EXCERPT_CHARS,
    );
    const slackCode = slackErrorCode(body);
    throw new DeliveryError('slack', {
      destination: post.destination,
      reason: `HTTP ${status}${excerpt === '' ? '' : ` ${excerpt}`}`,
      retryable: isRetryableStatus(status),
      code: slackCode ?? status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

/** The secrets of a webhook URL: the URL itself and its path, which holds the token. */
function webhookSecrets(webhookUrl: string): string[] {
  const secrets = [webhookUrl];
  try {
    const { pathname, search } = new URL(webhookUrl);
    secrets.push(`${pathname}${search}`, pathname);
  } catch {
    // An unparseable URL never gets as far as a request: validateWebhookUrl rejects it.
  }
  return secrets;
}

function validateWebhookUrl(webhookUrl: string): URL {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new DeliveryError('slack', {
      destination: WEBHOOK_DESTINATION,
      reason: 'the configured webhook URL is not a valid URL',
      retryable: false,
      code: 'invalid_url',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DeliveryError('slack', {
      destination: WEBHOOK_DESTINATION,
      reason: `the configured webhook URL has an unsupported scheme (${url.protocol})`,
      retryable: false,
      code: 'invalid_url',
    });
  }
  return url;
}

/** Narrows a channel to the webhook variant; a bot-token channel here is a wiring mistake. */
function requireWebhook(channel: ChannelConfig): { webhookUrl: string } {
  const slack = requireChannel(channel, 'slack');
  if (!('webhookUrl' in slack)) {
    throw new DeliveryError('slack', {
      destination: WEBHOOK_DESTINATION,
      reason: 'the webhook sender was handed a bot-token channel (use createSlackSender)',
      retryable: false,
      code: 'channel-mismatch',
    });
  }
  return slack;
}

/** Posts a rendered message to an incoming webhook. */
export async function postToWebhook(
  webhookUrl: string,
  message: SlackMessage,
  options: SlackSenderOptions,
): Promise<SendReceipt> {
  const url = validateWebhookUrl(webhookUrl);
  await postToSlack(
    {
      url,
      destination: WEBHOOK_DESTINATION,
      headers: {},
      body: { ...message, unfurl_links: false, unfurl_media: false },
      secrets: webhookSecrets(webhookUrl),
    },
    options,
  );
  // A webhook answers `ok`: there is nothing to reply to later.
  return {};
}

/**
 * An `AlertSender` for `{ type: 'slack', webhookUrl }`: posts Block Kit
 * alerts and digests to the incoming webhook. A webhook cannot be replied
 * to, so `canFollowUp` is false and follow-ups wait for the digest.
 *
 * The webhook URL is a secret and never appears in an error: errors name the
 * destination kind, the HTTP status and Slack's short error code.
 */
export function createSlackWebhookSender(options: SlackSenderOptions = {}): AlertSender {
  return {
    channel: 'slack',
    async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
      const { webhookUrl } = requireWebhook(channel);
      return postToWebhook(webhookUrl, renderSlackAlert(alert), options);
    },
    canFollowUp(): boolean {
      return false;
    },
    async sendFollowUp(): Promise<SendReceipt> {
      throw new DeliveryError('slack', {
        destination: WEBHOOK_DESTINATION,
        reason: 'an incoming webhook cannot reply in a thread; follow-ups go to the digest',
        retryable: false,
        code: 'follow-up-unsupported',
      });
    },
    async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
      const { webhookUrl } = requireWebhook(channel);
      return postToWebhook(webhookUrl, renderSlackDigest(digest), options);
    },
  };
}
