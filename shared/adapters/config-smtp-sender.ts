/**
 * An SMTP `AlertSender` whose server and credentials come from the current
 * config (with its secrets resolved), so that a changed SMTP password is used
 * without a redeploy: the connection settings are rebuilt when they change.
 */

import type { ConfigSource } from '../alerts/config-subscriptions.ts';
import { DeliveryError } from '../alerts/delivery-error.ts';
import type { Alert, AlertSender, ChannelConfig, Digest, FollowUp, SendReceipt } from '../ports.ts';
import { EmailFollowUpError } from './email-message.ts';
import { createSmtpSender, type SmtpSender } from './smtp-sender.ts';

export function createConfigSmtpSender(source: ConfigSource): AlertSender {
  let current: { key: string; sender: SmtpSender } | undefined;

  async function currentSender(): Promise<SmtpSender> {
    const config = await source.current();
    const smtp = config.email.smtp;
    if (!smtp) {
      // Retryable, as a missing sender is: the alert waits (and ends in the
      // dead letters with this reason) until the secret is set.
      throw new DeliveryError('email', {
        destination: 'SMTP server',
        reason: 'email.smtp is not configured, or a secret it names is not set',
        retryable: true,
        code: 'not_configured',
      });
    }
    const key = JSON.stringify([smtp, config.email.from]);
    if (current?.key !== key) {
      current?.sender.close();
      current = { key, sender: createSmtpSender({ ...smtp, from: config.email.from }) };
    }
    return current.sender;
  }

  return {
    channel: 'email',
    async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
      return (await currentSender()).send(alert, channel);
    },
    canFollowUp(): boolean {
      return false;
    },
    async sendFollowUp(_followUp: FollowUp, _channel: ChannelConfig): Promise<SendReceipt> {
      throw new EmailFollowUpError();
    },
    async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
      return (await currentSender()).sendDigest(digest, channel);
    },
  };
}
