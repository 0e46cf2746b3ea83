import type { ChannelConfig, ChannelType } from '../ports.ts';

/** What a sender knows about a failed delivery, beyond the channel it was for. */
export interface DeliveryErrorDetails {
  /** What was being talked to, for people: `Slack incoming webhook`, `SMTP server`, ... */
  destination?: string;
  /** Why it failed, in a few words; must never contain a secret such as a webhook URL. */
  reason: string;
  /** `true` when sending the same alert again later may succeed. */
  retryable: boolean;
  /** How long the destination asked us to wait before trying again. */
  retryAfterMs?: number;
  /** Machine-readable detail: an HTTP status, an SMTP reply code, an error code. */
  code?: string | number;
}

const defaultDestinations: Record<ChannelType, string> = {
  console: 'console',
  outbox: 'outbox',
  email: 'email',
  slack: 'Slack incoming webhook',
};

/**
 * A failed attempt to deliver an alert on one channel. The notifier releases
 * its ledger claim and retries when `retryable` is set; otherwise the alert has
 * been refused for good (a bad address, a deleted channel) and retrying would
 * only be refused again.
 *
 * The message names the kind of destination, never its address: Slack webhook
 * URLs are secrets and error messages end up in logs.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly channel: ChannelType;
  readonly destination: string;
  readonly reason: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly code?: string | number;

  constructor(channel: ChannelType, details: DeliveryErrorDetails) {
    const destination = details.destination ?? defaultDestinations[channel];
    const verdict = details.retryable ? 'retryable' : 'not retryable';
    super(`${destination} delivery failed (${verdict}): ${details.reason}`);
    this.channel = channel;
    this.destination = destination;
    this.reason = details.reason;
    this.retryable = details.retryable;
    if (details.retryAfterMs !== undefined) {
      this.retryAfterMs = details.retryAfterMs;
    }
    if (details.code !== undefined) {
      this.code = details.code;
    }
  }
}

/**
 * Narrows a subscriber's channel config to the type a sender handles. A
 * mismatch is a wiring mistake, so it fails permanently rather than retrying.
 */
export function requireChannel<T extends ChannelType>(
  config: ChannelConfig,
  type: T,
): Extract<ChannelConfig, { type: T }> {
  if (config.type !== type) {
    throw new DeliveryError(type, {
      reason: `the ${type} sender was handed a ${config.type} channel`,
      retryable: false,
      code: 'channel-mismatch',
    });
  }
  return config as Extract<ChannelConfig, { type: T }>;
}
