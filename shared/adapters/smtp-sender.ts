import nodemailer, { type NodemailerError, type SendMailOptions } from 'nodemailer';
import { DeliveryError, requireChannel } from '../alerts/delivery-error.ts';
import { renderAlertEmail } from '../alerts/render.ts';
import type { Alert, AlertSender, ChannelConfig } from '../ports.ts';

/** How to reach the SMTP server and who the alerts come from. */
export interface SmtpSenderOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). Otherwise STARTTLS is used when offered. */
  secure?: boolean;
  auth?: { user: string; pass: string };
  /** Sender address, e.g. `wirewatch <alerts@example.com>`. */
  from: string;
  /** Limits on connecting, waiting for the greeting and an idle socket. Default 10 s each. */
  timeoutMs?: number;
}

/** An SMTP `AlertSender` that also owns a connection to close. */
export interface SmtpSender extends AlertSender {
  /** Closes the transport; call on shutdown. */
  close(): void;
}

const DESTINATION = 'SMTP server';
const DEFAULT_TIMEOUT_MS = 10_000;

/** The domain of the sender address, for Message-IDs; `wirewatch.invalid` when none. */
function senderDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1] ?? 'wirewatch.invalid';
}

/**
 * Builds the message for one alert: text and HTML parts from
 * `renderAlertEmail`, plus headers that mark it as automated. The Message-ID
 * is derived from the alert id so that a resend after a lost reply carries the
 * same id and mail clients can fold the copies. Transport-neutral: an SES
 * transport can hand the same options to nodemailer's MIME builder.
 */
export function buildAlertMail(alert: Alert, to: string, from: string): SendMailOptions {
  const { subject, text, html } = renderAlertEmail(alert);
  const localPart = Buffer.from(`${alert.subscriberId}\u0000${alert.alertId}`, 'utf8').toString(
    'base64url',
  );
  return {
    from,
    to,
    subject,
    text,
    html,
    messageId: `<${localPart}@${senderDomain(from)}>`,
    headers: {
      // RFC 3834: tells auto-responders (out-of-office) not to reply.
      'Auto-Submitted': 'auto-generated',
      'X-Wirewatch-Watch': alert.watchId,
      'X-Wirewatch-Story': alert.storyId,
    },
  };
}

/** Connection-level failures: the message was not refused, the server was not reached. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
]);

function isNodemailerError(error: unknown): error is NodemailerError {
  return error instanceof Error;
}

/**
 * Classifies a nodemailer failure. An SMTP reply decides by its class: 4xx
 * (and 503) is transient, 5xx is a permanent rejection. Without a reply, a
 * failure to connect or a timeout is transient, and anything else (bad
 * address, missing credentials, bad configuration) would fail again.
 */
export function smtpDeliveryError(error: unknown): DeliveryError {
  if (!isNodemailerError(error)) {
    return new DeliveryError('email', {
      destination: DESTINATION,
      reason: String(error),
      retryable: true,
    });
  }
  const responseCode = error.responseCode;
  if (typeof responseCode === 'number') {
    const permanent = error.permanent ?? (responseCode >= 500 && responseCode !== 503);
    const response = (error.response ?? error.message).replace(/\s+/g, ' ').slice(0, 300);
    return new DeliveryError('email', {
      destination: DESTINATION,
      reason: `${error.command ? `${error.command} ` : ''}rejected with ${response}`,
      retryable: !permanent,
      code: responseCode,
    });
  }
  const code = error.code ?? 'unknown';
  return new DeliveryError('email', {
    destination: DESTINATION,
    reason: `${error.message} (${code})`,
    retryable: TRANSIENT_CODES.has(code) || TRANSIENT_CODES.has(error.originalCode ?? ''),
    code,
  });
}

/**
 * An `AlertSender` for `{ type: 'email', to }` over SMTP. Not pooled: a
 * Lambda invocation sends a handful of alerts and must not leave sockets open.
 */
export function createSmtpSender(options: SmtpSenderOptions): SmtpSender {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    channel: 'email',
    async send(alert: Alert, channel: ChannelConfig): Promise<void> {
      const { to } = requireChannel(channel, 'email');
      try {
        await transport.sendMail(buildAlertMail(alert, to, options.from));
      } catch (error) {
        throw smtpDeliveryError(error);
      }
    },
    close(): void {
      transport.close();
    },
  };
}
