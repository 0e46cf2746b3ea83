/**
 * The nodemailer message of an alert or a digest, the same for every email
 * transport (SMTP, SES, the `.eml` outbox), and the `AlertSender` shape they
 * share: email sends alerts and digests; follow-ups wait for the digest.
 */
import { createHash } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import { requireChannel } from '../alerts/delivery-error.ts';
import { renderEmailAlert, renderEmailDigest, safeMailto } from '../alerts/email.ts';
import { safeWebLink } from '../alerts/render.ts';
import type {
  Alert,
  AlertSender,
  ChannelConfig,
  Digest,
  FollowUp,
  SendReceipt,
  UnsubscribeLink,
} from '../ports.ts';

/** The domain of the sender address, for Message-IDs; `wirewatch.invalid` when none. */
function senderDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1] ?? 'wirewatch.invalid';
}

function messageId(parts: readonly string[], from: string): string {
  const localPart = Buffer.from(parts.join('\u0000'), 'utf8').toString('base64url');
  return `<${localPart}@${senderDomain(from)}>`;
}

/**
 * `List-Unsubscribe` (RFC 2369) with the https link and the mailto, and
 * `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) when the link
 * is https, so that mail clients show an unsubscribe button that POSTs to it.
 */
export function unsubscribeHeaders(link: UnsubscribeLink | undefined): Record<string, string> {
  const url = safeWebLink(link?.url);
  const mailto = safeMailto(link?.mailto);
  const targets = [url, mailto].filter((t): t is string => t !== undefined);
  if (targets.length === 0) return {};
  const headers: Record<string, string> = {
    'List-Unsubscribe': targets.map((t) => `<${t}>`).join(', '),
  };
  if (url?.startsWith('https:')) {
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  return headers;
}

/** Headers every wirewatch email carries: automated, so auto-responders stay quiet. */
const AUTOMATED_HEADERS = {
  // RFC 3834: tells auto-responders (out-of-office) not to reply.
  'Auto-Submitted': 'auto-generated',
  // The same for Exchange and Outlook, which read their own header.
  'X-Auto-Response-Suppress': 'All',
};

/**
 * The message of one alert. The Message-ID is derived from the subscriber and
 * the alert id, so that a resend after a lost reply carries the same id and
 * mail clients can fold the copies.
 */
export function buildAlertMail(alert: Alert, to: string, from: string): SendMailOptions {
  const { subject, text, html } = renderEmailAlert(alert);
  return {
    from,
    to,
    subject,
    text,
    html,
    // An update is another message about the same story: it carries its report in its id.
    messageId: messageId(
      alert.kind === 'update'
        ? [alert.subscriberId, alert.alertId, 'update', alert.item.feed, alert.item.id]
        : [alert.subscriberId, alert.alertId],
      from,
    ),
    headers: {
      ...AUTOMATED_HEADERS,
      ...unsubscribeHeaders(alert.unsubscribe),
      'X-Wirewatch-Watch': alert.watchId,
      'X-Wirewatch-Story': alert.storyId,
    },
  };
}

/** The message of one digest; its Message-ID is derived from the digest id, stable across resends. */
export function buildDigestMail(digest: Digest, to: string, from: string): SendMailOptions {
  const { subject, text, html } = renderEmailDigest(digest);
  return {
    from,
    to,
    subject,
    text,
    html,
    messageId: messageId(['digest', digest.subscriberId, digest.digestId], from),
    headers: {
      ...AUTOMATED_HEADERS,
      ...unsubscribeHeaders(digest.unsubscribe),
      'X-Wirewatch-Digest': digest.digestId,
    },
  };
}

/** Says why an email sender was asked for a follow-up: a wiring mistake, since `canFollowUp` is false. */
export class EmailFollowUpError extends Error {
  override readonly name = 'EmailFollowUpError';

  constructor() {
    super(
      'email cannot post follow-ups in place: they go in the next digest (canFollowUp is false for email)',
    );
  }
}

/** What a message is, for transports that name files or log after it. */
export interface MailKey {
  subscriberId: string;
  kind: 'alert' | 'digest';
  /** The alert id or the digest id. */
  id: string;
}

/**
 * An `AlertSender` for `{ type: 'email', to }` on top of one way to deliver a
 * built message. `deliver` throws a `DeliveryError` when the message is not
 * accepted.
 */
export function createEmailSender(
  from: string,
  deliver: (mail: SendMailOptions, key: MailKey) => Promise<void>,
): AlertSender {
  return {
    channel: 'email',
    async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
      const { to } = requireChannel(channel, 'email');
      await deliver(buildAlertMail(alert, to, from), {
        subscriberId: alert.subscriberId,
        kind: 'alert',
        // An update is a message of its own next to the story's first alert.
        id:
          alert.kind === 'update'
            ? `${alert.alertId}.update-${createHash('sha256').update(`${alert.item.feed}\n${alert.item.id}`).digest('hex').slice(0, 12)}`
            : alert.alertId,
      });
      return {};
    },
    canFollowUp(): boolean {
      return false;
    },
    async sendFollowUp(_followUp: FollowUp, _channel: ChannelConfig): Promise<SendReceipt> {
      throw new EmailFollowUpError();
    },
    async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
      const { to } = requireChannel(channel, 'email');
      await deliver(buildDigestMail(digest, to, from), {
        subscriberId: digest.subscriberId,
        kind: 'digest',
        id: digest.digestId,
      });
      return {};
    },
  };
}
