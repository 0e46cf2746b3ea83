/**
 * Email through Amazon SES v2: nodemailer builds the same MIME message as for
 * SMTP (`email-message.ts`) and its SES transport sends it raw with
 * `SendEmailCommand`, so headers such as `List-Unsubscribe` reach the reader.
 */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { DeliveryError } from '../alerts/delivery-error.ts';
import type { AlertSender } from '../ports.ts';
import { createEmailSender } from './email-message.ts';

/** The part of `SESv2Client` the sender uses, so a test can hand in its own. */
export interface SesClientLike {
  send(command: unknown, options?: unknown): Promise<{ MessageId?: string }>;
}

export interface SesSenderOptions {
  /** Built once per cold start (`aws-clients.ts`). */
  sesClient: SesClientLike;
  /** The From address; its address or domain must be a verified SES identity. */
  from: string;
  /** SES configuration set for event publishing (bounces, complaints), when there is one. */
  configurationSetName?: string;
}

const DESTINATION = 'Amazon SES';

/** SES and AWS SDK error names: the request may succeed later as it is. */
const RETRYABLE_NAMES = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServiceError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  // Sending paused for the account or configuration set (by its owner, or by
  // SES over bounce rates): a person resumes it, and the alert should then go
  // out. Retryable, so alerts wait in the queue (and its dead letters, with
  // this reason) instead of being recorded as refused for good.
  'SendingPausedException',
]);

/**
 * SES refused this message, or this account cannot send: sending it again
 * unchanged would be refused again. The notifier records the alert as
 * rejected; a redrive retries it once the cause is fixed.
 */
const PERMANENT_NAMES = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'BadRequestException',
  'NotFoundException',
  'InvalidParameterValue',
  'AccessDeniedException',
]);

/** Socket-level failures of the HTTP request to SES. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

interface SesErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

/**
 * Classifies a failed SES send. Throttling, sending limits, 5xx replies and
 * network failures are retryable; `MessageRejected`, an unverified MAIL FROM
 * domain, a suspended account and bad requests are not. A paused account is
 * retryable (see `RETRYABLE_NAMES`). Unknown errors decide by the SDK's own
 * marks (`$retryable`, `$fault`), else by HTTP status: 4xx is permanent.
 */
export function sesDeliveryError(error: unknown): DeliveryError {
  const shape: SesErrorShape = typeof error === 'object' && error !== null ? error : {};
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const status =
    typeof shape.$metadata?.httpStatusCode === 'number'
      ? shape.$metadata.httpStatusCode
      : undefined;
  const message =
    typeof shape.message === 'string' ? shape.message.replace(/\s+/g, ' ').slice(0, 300) : '';

  let retryable: boolean;
  if (RETRYABLE_NAMES.has(name)) retryable = true;
  else if (PERMANENT_NAMES.has(name)) retryable = false;
  else if (code !== undefined && NETWORK_CODES.has(code)) retryable = true;
  else if (shape.$retryable !== undefined || shape.$fault === 'server') retryable = true;
  else if (status !== undefined) retryable = status >= 500 || status === 429;
  else retryable = shape.$fault !== 'client';

  return new DeliveryError('email', {
    destination: DESTINATION,
    reason: `${name}${status === undefined ? '' : ` (HTTP ${status})`}${message === '' ? '' : `: ${message}`}`,
    retryable,
    code: name !== 'Error' ? name : (code ?? 'unknown'),
  });
}

/**
 * An `AlertSender` for `{ type: 'email', to }` through SES v2: alerts and
 * digests; follow-ups wait for the digest.
 */
export function createSesSender(options: SesSenderOptions): AlertSender {
  const transport = nodemailer.createTransport({
    SES: { sesClient: options.sesClient, SendEmailCommand },
  });
  return createEmailSender(options.from, async (mail) => {
    try {
      await transport.sendMail({
        ...mail,
        ...(options.configurationSetName === undefined
          ? {}
          : { ses: { ConfigurationSetName: options.configurationSetName } }),
      });
    } catch (error) {
      throw sesDeliveryError(error);
    }
  });
}
