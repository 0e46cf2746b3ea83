import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { buildAlertMail } from '../../shared/adapters/email-message.ts';
import { renderEmailAlert, renderEmailDigest } from '../../shared/alerts/email.ts';
import { cleanOneLine } from '../../shared/alerts/render.ts';
import {
  renderSlackAlert,
  renderSlackDigest,
  renderSlackFollowUp,
} from '../../shared/alerts/slack.ts';
import type { Digest } from '../../shared/ports.ts';
import { makeAlert } from './alert-fixture.ts';
import { makeDigest } from './email-fixture.ts';

/** Every bidirectional formatting character Unicode defines (UAX #9, table 4), and the marks. */
const BIDI_CONTROLS = [
  '\u061C',
  '\u200E',
  '\u200F',
  '\u202A',
  '\u202B',
  '\u202C',
  '\u202D',
  '\u202E',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];
const ANY_BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

/** A title that shows as "Invoice exe.pdf" with the override, hiding an `.exe`. */
const SPOOFED_TITLE = 'Invoice \u202Efdp.exe\u202C and more';
const SPOOFED_FEED = 'reuters\u2067-world\u2069';

/** The alert email as it goes on the wire, parsed back: the Subject header as a reader's client sees it. */
async function receivedSubject(title: string): Promise<string | undefined> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const mail = buildAlertMail(
    makeAlert({ item: { title }, matchedTerms: [] }),
    'analyst@example.org',
    'wirewatch <alerts@wirewatch.example>',
  );
  const info = await transport.sendMail(mail);
  const parsed = await simpleParser(info.message as Buffer);
  return parsed.subject;
}

describe('bidirectional control characters from feed text', () => {
  it.each(BIDI_CONTROLS.map((c) => [`U+${c.codePointAt(0)?.toString(16).toUpperCase()}`, c]))(
    'are removed from one-line text (%s)',
    (_name, control) => {
      expect(cleanOneLine(`abc${control}def`)).toBe('abcdef');
    },
  );

  it('do not reach the Subject header of an alert email', async () => {
    const subject = await receivedSubject(SPOOFED_TITLE);

    expect(subject).toBe('[Korea troop deployments] Invoice fdp.exe and more');
  });

  it('do not reach the subject or the headline of the rendered email', () => {
    const { subject, text, html } = renderEmailAlert(
      makeAlert({ item: { title: SPOOFED_TITLE, feed: SPOOFED_FEED }, matchedTerms: [] }),
    );

    expect(subject).not.toMatch(ANY_BIDI_CONTROL);
    expect(text).not.toMatch(ANY_BIDI_CONTROL);
    expect(html).not.toMatch(ANY_BIDI_CONTROL);
    expect(text).toContain('Invoice fdp.exe and more');
  });

  it('do not reach the Slack text or any of its blocks', () => {
    const message = renderSlackAlert(
      makeAlert({
        watchName: 'Korea \u202Esnoitacol\u202C',
        item: { title: SPOOFED_TITLE, feed: SPOOFED_FEED },
        matchedTerms: [],
      }),
    );

    expect(message.text).not.toMatch(ANY_BIDI_CONTROL);
    expect(message.text).toContain('Invoice fdp.exe and more');
    expect(JSON.stringify(message.blocks)).not.toMatch(ANY_BIDI_CONTROL);
    expect(JSON.stringify(message.blocks)).toContain('Invoice fdp.exe and more');
  });

  it('do not reach a Slack follow-up naming another outlet', () => {
    const message = renderSlackFollowUp({
      alert: makeAlert({ item: { title: SPOOFED_TITLE, feed: SPOOFED_FEED }, matchedTerms: [] }),
      first: { itemId: 'first-1', title: 'First report', feed: 'ap-world' },
    });

    expect(message.text).not.toMatch(ANY_BIDI_CONTROL);
    expect(JSON.stringify(message.blocks)).not.toMatch(ANY_BIDI_CONTROL);
  });

  it('do not reach the digest email or the Slack digest', () => {
    const alert = makeAlert({
      watchName: 'Korea \u202Esnoitacol\u202C',
      item: { title: SPOOFED_TITLE, feed: SPOOFED_FEED, summary: `Summary \u202Eesrever\u202C` },
      matchedTerms: [],
    });
    const digest: Digest = {
      ...makeDigest(),
      entries: [{ kind: 'alert', alert, queuedAt: '2025-03-05T14:05:00Z' }],
    };

    const email = renderEmailDigest(digest);
    const slack = renderSlackDigest(digest);

    expect(email.subject).not.toMatch(ANY_BIDI_CONTROL);
    expect(email.text).not.toMatch(ANY_BIDI_CONTROL);
    expect(email.html).not.toMatch(ANY_BIDI_CONTROL);
    expect(slack.text).not.toMatch(ANY_BIDI_CONTROL);
    expect(JSON.stringify(slack.blocks)).not.toMatch(ANY_BIDI_CONTROL);
  });

  it('keep right-to-left text itself, which needs no control to show', () => {
    expect(cleanOneLine('שלום \u200Fעולם')).toBe('שלום עולם');
  });
});
