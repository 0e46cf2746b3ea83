import nodemailer, { type NodemailerError } from 'nodemailer';
import { DeliveryError } from '../alerts/delivery-error.ts';
import type { AlertSender } from '../ports.ts';
import { createEmailSender } from './email-message.ts';

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
 * An `AlertSender` for `{ type: 'email', to }` over SMTP: alerts and digests
 * (messages from `email-message.ts`); follow-ups wait for the digest. Not
 * pooled: a Lambda invocation sends a handful of alerts and must not leave
 * sockets open.
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
  const sender = createEmailSender(options.from, async (mail) => {
    try {
      await transport.sendMail(mail);
    } catch (error) {
      throw smtpDeliveryError(error);
    }
  });
  return {
    ...sender,
    close(): void {
      transport.close();
    },
  };
}
