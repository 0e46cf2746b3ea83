import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildAlertMail,
  createSmtpSender,
  type SmtpSender,
} from '../../shared/adapters/smtp-sender.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import { closedPort, makeAlert, termAt } from './alert-fixture.ts';

const FROM = 'wirewatch <alerts@wirewatch.example>';

function smtpReply(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

describe('SMTP sender', () => {
  const received: ParsedMail[] = [];
  let server: SMTPServer;
  let sender: SmtpSender;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('gone@')) {
          callback(smtpReply(550, 'No such user here'));
        } else if (address.address.startsWith('busy@')) {
          callback(smtpReply(451, 'Try again later'));
        } else {
          callback();
        }
      },
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            received.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.server.address() as AddressInfo;
    sender = createSmtpSender({ host: '127.0.0.1', port, from: FROM, timeoutMs: 5_000 });
  });

  beforeEach(() => {
    received.length = 0;
  });

  afterAll(async () => {
    sender.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('delivers a subject, a text part and an HTML part with the link', async () => {
    const alert = makeAlert();

    await sender.send(alert, { type: 'email', to: 'analyst@example.org' });

    expect(received).toHaveLength(1);
    const [mail] = received;
    expect(mail?.subject).toBe(
      '[wirewatch] Korea troop deployments: North Korean troops deploy to Kursk region',
    );
    expect(mail?.text).toContain('Matched: "north korean" (title), troops (summary)');
    expect(mail?.text).toContain('https://news.example.com/world/korea-troops?id=42');
    expect(mail?.html).toContain('href="https://news.example.com/world/korea-troops?id=42"');
    expect(mail?.html).toContain('<strong>troops</strong>');
    expect(mail?.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('delivers feed HTML escaped, never as live tags', async () => {
    const title = 'Leak <script>alert(document.cookie)</script> troops';
    const summary =
      'Photo <img src=x onerror="alert(1)"> shows troops <a href="javascript:x">here</a>';
    const alert = makeAlert({
      item: { title, summary },
      matchedTerms: [termAt(title, 'troops', 'title'), termAt(summary, 'troops', 'summary')],
    });

    await sender.send(alert, { type: 'email', to: 'analyst@example.org' });

    const html = received[0]?.html;
    expect(typeof html).toBe('string');
    expect(html).not.toMatch(/<script|<img|<a href="javascript/i);
    expect(html).toContain('&lt;script&gt;alert(document.cookie)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(received[0]?.text).toContain(title);
  });

  it('reports a server that cannot be reached as retryable', async () => {
    const down = createSmtpSender({ host: '127.0.0.1', port: await closedPort(), from: FROM });

    const sending = down.send(makeAlert(), { type: 'email', to: 'analyst@example.org' });

    await expect(sending).rejects.toBeInstanceOf(DeliveryError);
    await expect(sending).rejects.toMatchObject({ retryable: true, channel: 'email' });
    down.close();
  });

  it('reports a permanent 550 rejection as not retryable', async () => {
    const sending = sender.send(makeAlert(), { type: 'email', to: 'gone@example.org' });

    await expect(sending).rejects.toMatchObject({ retryable: false, code: 550 });
    await expect(sending).rejects.toThrow(/SMTP server delivery failed \(not retryable\)/);
    expect(received).toHaveLength(0);
  });

  it('reports a temporary 451 rejection as retryable', async () => {
    const sending = sender.send(makeAlert(), { type: 'email', to: 'busy@example.org' });

    await expect(sending).rejects.toMatchObject({ retryable: true, code: 451 });
  });
});

describe('buildAlertMail', () => {
  it('gives the same alert the same Message-ID so resends can be recognised', () => {
    const alert = makeAlert();

    const first = buildAlertMail(alert, 'a@example.org', FROM);
    const second = buildAlertMail(alert, 'a@example.org', FROM);
    const other = buildAlertMail({ ...alert, alertId: 'alert-2' }, 'a@example.org', FROM);

    expect(first.messageId).toBe(second.messageId);
    expect(first.messageId).not.toBe(other.messageId);
    expect(first.messageId).toMatch(/^<[A-Za-z0-9_-]+@wirewatch\.example>$/);
  });
});
