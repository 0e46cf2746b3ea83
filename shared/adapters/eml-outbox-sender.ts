/**
 * Email without an SMTP server: each message, built exactly as it would be
 * sent, is written as an `.eml` file that any mail client opens: alerts to
 * `<outboxDir>/<subscriberId>/<alertId>.eml`, digests to
 * `<outboxDir>/<subscriberId>/digest-<digestId>.eml`.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AlertSender } from '../ports.ts';
import { createEmailSender } from './email-message.ts';
import { outboxPathSegment } from './outbox-sender.ts';

export interface EmlOutboxSenderOptions {
  outboxDir: string;
  from: string;
}

/** An `AlertSender` for `{ type: 'email' }` that writes `.eml` files instead of sending. */
export function createEmlOutboxSender(options: EmlOutboxSenderOptions): AlertSender {
  return createEmailSender(options.from, async (mail, key) => {
    // Loaded on the first email, not with the local stack: most local runs send none.
    const { default: MailComposer } = await import('nodemailer/lib/mail-composer/index.js');
    const message = await new MailComposer(mail).compile().build();
    const name = key.kind === 'digest' ? `digest-${key.id}` : key.id;
    const file = join(
      options.outboxDir,
      outboxPathSegment(key.subscriberId),
      `${outboxPathSegment(name)}.eml`,
    );
    await mkdir(dirname(file), { recursive: true });
    // Written whole, then renamed: a reader never sees half a message.
    await writeFile(`${file}.tmp`, message);
    await rename(`${file}.tmp`, file);
  });
}
