import { DeliveryError, requireChannel } from '../alerts/delivery-error.ts';
import { renderSlackMessage } from '../alerts/render.ts';
import {
  type Alert,
  type AlertSender,
  type ChannelConfig,
  type Clock,
  systemClock,
} from '../ports.ts';

/** Tuning for the Slack webhook client. */
export interface SlackWebhookSenderOptions {
  /** Limit for the whole request, response body included. Default 10 s. */
  timeoutMs?: number;
  /** Used to turn an HTTP-date `Retry-After` into a delay. */
  clock?: Clock;
}

const DESTINATION = 'Slack incoming webhook';
const DEFAULT_TIMEOUT_MS = 10_000;
const BODY_EXCERPT_CHARS = 100;

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

/**
 * Webhook URLs are secrets. Anything that came back from the network and goes
 * into an error (a response body, a low-level error message) passes through
 * here first, in case it echoes the URL or its path.
 */
function redact(text: string, webhookUrl: string): string {
  let out = text.split(webhookUrl).join('[webhook]');
  try {
    const { pathname, search } = new URL(webhookUrl);
    for (const secret of [`${pathname}${search}`, pathname]) {
      if (secret.length > 1) {
        out = out.split(secret).join('[webhook]');
      }
    }
  } catch {
    // An unparseable URL never got this far: validateWebhookUrl rejects it.
  }
  return out;
}

function validateWebhookUrl(webhookUrl: string): URL {
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new DeliveryError('slack', {
      destination: DESTINATION,
      reason: 'the configured webhook URL is not a valid URL',
      retryable: false,
      code: 'invalid_url',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DeliveryError('slack', {
      destination: DESTINATION,
      reason: `the configured webhook URL has an unsupported scheme (${url.protocol})`,
      retryable: false,
      code: 'invalid_url',
    });
  }
  return url;
}

/** Statuses worth retrying: rate limits, request timeouts and Slack-side failures. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

function networkError(error: unknown, timeoutMs: number, webhookUrl: string): DeliveryError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new DeliveryError('slack', {
      destination: DESTINATION,
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
    destination: DESTINATION,
    reason: redact(`${detail} (${code})`, webhookUrl),
    retryable: true,
    code,
  });
}

/**
 * An `AlertSender` for `{ type: 'slack', webhookUrl }`: posts the Block Kit
 * message from `renderSlackMessage` to the incoming webhook.
 *
 * Any 2xx is delivered. 429, 408, 5xx, network failures and timeouts are
 * retryable (429 and 503 carry `Retry-After` as `retryAfterMs`). Every other
 * answer (400 `invalid_payload` or `no_text`, 403 `action_prohibited`, 404
 * `channel_not_found` or `no_service`, 410 `channel_is_archived`, ...) means the
 * webhook or payload is bad for good, so it is not retryable. Redirects are
 * not followed: the payload goes to the configured URL or nowhere.
 *
 * The webhook URL is never put in an error message: errors name the
 * destination kind, the HTTP status and Slack's short error code.
 */
export function createSlackWebhookSender(options: SlackWebhookSenderOptions = {}): AlertSender {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = options.clock ?? systemClock;
  return {
    channel: 'slack',
    async send(alert: Alert, channel: ChannelConfig): Promise<void> {
      const { webhookUrl } = requireChannel(channel, 'slack');
      const url = validateWebhookUrl(webhookUrl);
      const signal = AbortSignal.timeout(timeoutMs);
      let status: number;
      let body: string;
      let retryAfter: string | null;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(renderSlackMessage(alert)),
          redirect: 'manual',
          signal,
        });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        body = await response.text();
      } catch (error) {
        throw networkError(error, timeoutMs, webhookUrl);
      }
      if (status >= 200 && status < 300) {
        return;
      }
      const excerpt = redact(body.replace(/\s+/g, ' ').trim(), webhookUrl).slice(
        0,
        BODY_EXCERPT_CHARS,
      );
      const retryAfterMs = parseRetryAfter(retryAfter, clock.now());
      throw new DeliveryError('slack', {
        destination: DESTINATION,
        reason: `HTTP ${status}${excerpt === '' ? '' : ` ${excerpt}`}`,
        retryable: isRetryableStatus(status),
        // Slack answers errors with a short snake_case code; keep it for whoever handles the error.
        code: /^[a-z_]+$/.test(excerpt) ? excerpt : status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    },
  };
}
