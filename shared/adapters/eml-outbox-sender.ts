/**
 * Email without an SMTP server: each alert's message, built exactly as it
 * would be sent, is written as an `.eml` file that any mail client opens, to
 * `<outboxDir>/<subscriberId>/<alertId>.eml`.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { requireChannel } from '../alerts/delivery-error.ts';
import type { Alert, AlertSender, ChannelConfig } from '../ports.ts';
import { outboxPathSegment } from './outbox-sender.ts';
import { buildAlertMail } from './smtp-sender.ts';

export interface EmlOutboxSenderOptions {
  outboxDir: string;
  from: string;
}

/** An `AlertSender` for `{ type: 'email' }` that writes `.eml` files instead of sending. */
export function createEmlOutboxSender(options: EmlOutboxSenderOptions): AlertSender {
  return {
    channel: 'email',
    async send(alert: Alert, channel: ChannelConfig): Promise<void> {
      const { to } = requireChannel(channel, 'email');
      const message = await new MailComposer(buildAlertMail(alert, to, options.from))
        .compile()
        .build();
      const file = join(
        options.outboxDir,
        outboxPathSegment(alert.subscriberId),
        `${outboxPathSegment(alert.alertId)}.eml`,
      );
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, message);
      await rename(`${file}.tmp`, file);
    },
  };
}
