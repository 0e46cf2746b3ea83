import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConfigSmtpSender } from '../../shared/adapters/config-smtp-sender.ts';
import {
  buildAlertMail,
  buildDigestMail,
  EmailFollowUpError,
  unsubscribeHeaders,
} from '../../shared/adapters/email-message.ts';
import { createEmlOutboxSender } from '../../shared/adapters/eml-outbox-sender.ts';
import { createSmtpSender, type SmtpSender } from '../../shared/adapters/smtp-sender.ts';
import { DeliveryError } from '../../shared/alerts/delivery-error.ts';
import { type Config, parseConfig } from '../../shared/config/config.ts';
import { closedPort, makeAlert, termAt } from './alert-fixture.ts';
import { makeDigest, UNSUBSCRIBE } from './email-fixture.ts';

const FROM = 'wirewatch <alerts@wirewatch.example>';
const TO = { type: 'email', to: 'analyst@example.org' } as const;

function smtpReply(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** A header exactly as it arrived, unfolded (mailparser parses some headers into objects). */
function rawHeader(mail: ParsedMail | undefined, name: string): string[] {
  return (mail?.headerLines ?? [])
    .filter((h) => h.key === name.toLowerCase())
    .map((h) =>
      h.line
        .slice(h.line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim(),
    );
}

/** A config with one feed and, when `port` is given, SMTP on the local test server. */
function configWith(from: string, port?: number): Config {
  const smtp = port === undefined ? '' : `\n  smtp:\n    host: 127.0.0.1\n    port: ${port}`;
  return parseConfig(
    `feeds:\n  - id: f\n    url: https://f.example/rss\nemail:\n  from: "${from}"${smtp}\n`,
    'test.yaml',
  );
}

describe('SMTP sender', () => {
  const received: ParsedMail[] = [];
  let server: SMTPServer;
  let sender: SmtpSender;
  let port: number;

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
    port = (server.server.address() as AddressInfo).port;
    sender = createSmtpSender({ host: '127.0.0.1', port, from: FROM, timeoutMs: 5_000 });
  });

  beforeEach(() => {
    received.length = 0;
  });

  afterAll(async () => {
    sender.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('delivers an alert with a subject, a text part and an HTML part', async () => {
    const receipt = await sender.send(makeAlert(), TO);

    expect(receipt).toEqual({});
    expect(received).toHaveLength(1);
    const [mail] = received;
    expect(mail?.subject).toBe(
      '[Korea troop deployments] North Korean troops deploy to Kursk region',
    );
    expect(mail?.text).toContain('Matched: "north korean" (title), troops (summary)');
    expect(mail?.text).toContain('https://news.example.com/world/korea-troops?id=42');
    expect(mail?.html).toContain('href="https://news.example.com/world/korea-troops?id=42"');
    expect(mail?.html).toContain('<strong>troops</strong>');
    expect(mail?.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail?.headers.get('x-wirewatch-watch')).toBe('korea-troops');
  });

  it('adds List-Unsubscribe with both links and the one-click header (RFC 8058)', async () => {
    await sender.send(makeAlert({ unsubscribe: UNSUBSCRIBE }), TO);

    const [mail] = received;
    expect(rawHeader(mail, 'List-Unsubscribe')).toEqual([
      '<https://wirewatch.example/unsubscribe?s=sub-1&w=korea-troops&t=abc123>, <mailto:unsubscribe@wirewatch.example?subject=unsubscribe%20sub-1%20korea-troops>',
    ]);
    expect(rawHeader(mail, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    expect(mail?.text).toContain(`Unsubscribe from this watch: ${UNSUBSCRIBE.url}`);
  });

  it('sends no List-Unsubscribe headers when the alert has no unsubscribe link', async () => {
    await sender.send(makeAlert(), TO);

    expect(rawHeader(received[0], 'List-Unsubscribe')).toEqual([]);
    expect(rawHeader(received[0], 'List-Unsubscribe-Post')).toEqual([]);
  });

  it('labels an update in the subject', async () => {
    await sender.send(makeAlert({ kind: 'update' }), TO);

    expect(received[0]?.subject).toBe(
      '[Korea troop deployments] Update: North Korean troops deploy to Kursk region',
    );
  });

  it('delivers a digest grouped by watch, with its own unsubscribe headers', async () => {
    const receipt = await sender.sendDigest(makeDigest(), TO);

    expect(receipt).toEqual({});
    const [mail] = received;
    expect(mail?.subject).toBe(
      'wirewatch digest: 2 alerts, 2 more reports (Korea troop deployments, Patriot transfers)',
    );
    expect(mail?.text).toContain('== Korea troop deployments ==');
    expect(mail?.text).toContain(
      'Also reported by ap-world: North Korean soldiers seen near Kursk <https://ap.example/kursk>',
    );
    expect(mail?.html).toContain('>Patriot transfers</h2>');
    expect(rawHeader(mail, 'List-Unsubscribe')).toEqual([
      '<https://wirewatch.example/unsubscribe?s=sub-1&w=*&t=def456>',
    ]);
    expect(rawHeader(mail, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    expect(mail?.headers.get('x-wirewatch-digest')).toBe('digest-sub-1-2025-03-06T07:00');
  });

  it('cannot post follow-ups: they go in the digest', async () => {
    const followUp = { alert: makeAlert(), first: { itemId: 'i', title: 't', feed: 'f' } };

    expect(sender.canFollowUp(TO)).toBe(false);
    await expect(sender.sendFollowUp(followUp, TO)).rejects.toBeInstanceOf(EmailFollowUpError);
    await expect(sender.sendFollowUp(followUp, TO)).rejects.toThrow(/next digest/);
    expect(received).toHaveLength(0);
  });

  it('delivers feed HTML escaped, never as live tags', async () => {
    const title = 'Leak <script>alert(document.cookie)</script> troops';
    const summary =
      'Photo <img src=x onerror="alert(1)"> shows troops <a href="javascript:x">here</a>';
    const alert = makeAlert({
      item: { title, summary },
      matchedTerms: [termAt(title, 'troops', 'title'), termAt(summary, 'troops', 'summary')],
    });

    await sender.send(alert, TO);

    const html = received[0]?.html;
    expect(typeof html).toBe('string');
    expect(html).not.toMatch(/<script|<img|<a href="javascript/i);
    expect(html).toContain('&lt;script&gt;alert(document.cookie)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(received[0]?.text).toContain(title);
  });

  it('reports a server that cannot be reached as retryable', async () => {
    const down = createSmtpSender({ host: '127.0.0.1', port: await closedPort(), from: FROM });

    const sending = down.send(makeAlert(), TO);

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

  it('reports a temporary 451 rejection of a digest as retryable', async () => {
    const sending = sender.sendDigest(makeDigest(), { type: 'email', to: 'busy@example.org' });

    await expect(sending).rejects.toMatchObject({ retryable: true, code: 451 });
  });

  it('sends through the SMTP server of the current config, following a changed From', async () => {
    let config = configWith('wirewatch <alerts@one.example>', port);
    const configured = createConfigSmtpSender({ current: async () => config });

    await configured.send(makeAlert(), TO);
    config = configWith('wirewatch <alerts@two.example>', port);
    await configured.sendDigest(makeDigest(), TO);

    expect(received.map((mail) => mail.from?.text)).toEqual([
      '"wirewatch" <alerts@one.example>',
      '"wirewatch" <alerts@two.example>',
    ]);
    expect(received[1]?.subject).toMatch(/^wirewatch digest: /);
    expect(configured.canFollowUp(TO)).toBe(false);
  });

  it('keeps alerts retryable while the config has no SMTP server', async () => {
    const configured = createConfigSmtpSender({ current: async () => configWith('a@b.example') });

    const sending = configured.send(makeAlert(), TO);

    await expect(sending).rejects.toMatchObject({ retryable: true, code: 'not_configured' });
  });

  it('refuses a channel of another type for good', async () => {
    const sending = sender.send(makeAlert(), { type: 'console' });

    await expect(sending).rejects.toMatchObject({ retryable: false, code: 'channel-mismatch' });
  });
});

describe('email messages', () => {
  it('give the same alert the same Message-ID so resends can be recognised', () => {
    const alert = makeAlert();

    const first = buildAlertMail(alert, 'a@example.org', FROM);
    const second = buildAlertMail(alert, 'a@example.org', FROM);
    const other = buildAlertMail({ ...alert, alertId: 'alert-2' }, 'a@example.org', FROM);

    expect(first.messageId).toBe(second.messageId);
    expect(first.messageId).not.toBe(other.messageId);
    expect(first.messageId).toMatch(/^<[A-Za-z0-9_-]+@wirewatch\.example>$/);
    // An update of the story is a message of its own, one per updating report.
    const update = { ...alert, kind: 'update' as const, item: { ...alert.item, id: 'item-9' } };
    const updateMail = buildAlertMail(update, 'a@example.org', FROM);
    expect(updateMail.messageId).not.toBe(first.messageId);
    expect(buildAlertMail(update, 'a@example.org', FROM).messageId).toBe(updateMail.messageId);
    expect(
      buildAlertMail({ ...update, item: { ...alert.item, id: 'item-10' } }, 'a@example.org', FROM)
        .messageId,
    ).not.toBe(updateMail.messageId);
  });

  it('give a digest a Message-ID of its own, stable for its id', () => {
    const digest = makeDigest();

    const first = buildDigestMail(digest, 'a@example.org', FROM);
    const again = buildDigestMail(digest, 'a@example.org', FROM);
    const later = buildDigestMail({ ...digest, digestId: 'other' }, 'a@example.org', FROM);

    expect(first.messageId).toBe(again.messageId);
    expect(first.messageId).not.toBe(later.messageId);
    expect(first.messageId).not.toBe(buildAlertMail(makeAlert(), 'a@example.org', FROM).messageId);
  });

  it('offer one-click unsubscribe only for an https link', () => {
    expect(unsubscribeHeaders({ url: 'http://plain.example/u' })).toEqual({
      'List-Unsubscribe': '<http://plain.example/u>',
    });
    expect(unsubscribeHeaders({ url: 'javascript:x', mailto: 'mailto:u@x.example' })).toEqual({
      'List-Unsubscribe': '<mailto:u@x.example>',
    });
    expect(unsubscribeHeaders({ url: 'javascript:x' })).toEqual({});
    expect(unsubscribeHeaders(undefined)).toEqual({});
  });
});

describe('.eml outbox sender', () => {
  let outboxDir: string;

  beforeAll(async () => {
    outboxDir = await mkdtemp(path.join(tmpdir(), 'wirewatch-eml-'));
  });

  afterAll(async () => {
    await rm(outboxDir, { recursive: true, force: true });
  });

  it('writes alerts and digests as messages a mail client opens', async () => {
    const outbox = createEmlOutboxSender({ outboxDir, from: FROM });

    await outbox.send(makeAlert({ unsubscribe: UNSUBSCRIBE }), TO);
    await outbox.sendDigest(makeDigest(), TO);

    const dir = path.join(outboxDir, 'sub-1');
    expect((await readdir(dir)).sort()).toEqual([
      'alert-1.eml',
      'digest-digest-sub-1-2025-03-06T07%3A00.eml',
    ]);
    const alert = await simpleParser(await readFile(path.join(dir, 'alert-1.eml')));
    expect(alert.subject).toBe(
      '[Korea troop deployments] North Korean troops deploy to Kursk region',
    );
    expect(rawHeader(alert, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    expect(alert.html).toContain('<strong>troops</strong>');
    const digest = await simpleParser(
      await readFile(path.join(dir, 'digest-digest-sub-1-2025-03-06T07%3A00.eml')),
    );
    expect(digest.text).toContain('== Patriot transfers ==');
    expect(outbox.canFollowUp(TO)).toBe(false);
  });

  it('writes an update next to the first alert of its story, not over it', async () => {
    const outbox = createEmlOutboxSender({ outboxDir, from: FROM });
    const first = makeAlert({ subscriberId: 'sub-2' });

    await outbox.send(first, TO);
    await outbox.send({ ...first, kind: 'update', item: { ...first.item, id: 'item-9' } }, TO);

    const files = await readdir(path.join(outboxDir, 'sub-2'));
    expect(files).toHaveLength(2);
    expect(files).toContain('alert-1.eml');
  });
});
