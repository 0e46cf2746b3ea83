import { describe, expect, it } from 'vitest';
import { renderEmailAlert, renderEmailDigest } from '../../shared/alerts/email.ts';
import { controlCharactersIn, makeAlert, termAt } from './alert-fixture.ts';
import { makeDigest, UNSUBSCRIBE } from './email-fixture.ts';

/** The markup an item must never get into an email. */
const LIVE_MARKUP = /<script|<img|<iframe|<form|<style|<[^>]*\son[a-z]+\s*=|href="javascript/i;

describe('renderEmailAlert', () => {
  it('puts the watch and the headline in the subject', () => {
    const { subject } = renderEmailAlert(makeAlert());

    expect(subject).toBe('[Korea troop deployments] North Korean troops deploy to Kursk region');
  });

  it('labels an update in the subject, the text and the HTML', () => {
    const { subject, text, html } = renderEmailAlert(makeAlert({ kind: 'update' }));

    expect(subject).toBe(
      '[Korea troop deployments] Update: North Korean troops deploy to Kursk region',
    );
    expect(text.split('\n')[0]).toBe('[UPDATE] [HIGH] Korea troop deployments');
    expect(html).toContain('>UPDATE</span>');
  });

  it('links the headline and bolds the matched terms in it and in the snippet', () => {
    const { html } = renderEmailAlert(makeAlert());

    expect(html).toContain(
      '<a href="https://news.example.com/world/korea-troops?id=42" style="color:#0b57d0;text-decoration:none"><strong>North Korean</strong> troops deploy to Kursk region</a>',
    );
    expect(html).toContain('thousands of <strong>troops</strong> to the front');
    expect(html).toContain('reuters-world · Wed 5 Mar 2025, 14:03 UTC');
    expect(html).toContain('>HIGH</span>');
  });

  it('keeps title highlights on the matched words when the title has surrounding spaces', () => {
    const title = '  Patriot systems sent to Kyiv ';
    const alert = makeAlert({ item: { title }, matchedTerms: [termAt(title, 'Patriot', 'title')] });

    const { html } = renderEmailAlert(alert);

    expect(html).toContain('<strong>Patriot</strong> systems sent to Kyiv</a>');
  });

  it('colours only known severities and never injects anything into styles', () => {
    const { html } = renderEmailAlert(makeAlert({ severity: 'constructor' }));

    expect(html).toContain(';background:#555555">CONSTRUCTOR</span>');
  });

  it('is a phone-readable page: viewport, one fluid column, no remote images or stylesheets', () => {
    const { html } = renderEmailAlert(makeAlert({ unsubscribe: UNSUBSCRIBE }));

    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('max-width:600px');
    expect(html).not.toMatch(/<img|<link|<style|url\(/i);
    const fontSizes = [...html.matchAll(/font-size:(\d+)px/g)].map((m) => Number(m[1]));
    expect(Math.min(...fontSizes)).toBeGreaterThanOrEqual(14);
  });

  it('shows the sanitised summary HTML when the item has it, with inline styles', () => {
    const alert = makeAlert({
      item: {
        summaryHtml:
          '<p style="font-size:2px" onclick="x()">Pyongyang <a href="/more">sent</a> <b>troops</b></p><script>alert(1)</script><img src="https://t.example/p.gif">',
      },
    });

    const { html } = renderEmailAlert(alert);

    expect(html).toContain(
      '<p style="margin:0 0 10px">Pyongyang <a href="https://news.example.com/more" rel="noopener noreferrer" style="color:#0b57d0">sent</a> <b>troops</b></p>',
    );
    expect(html).not.toMatch(LIVE_MARKUP);
    expect(html).not.toContain('font-size:2px');
    expect(html).not.toContain('thousands of <strong>troops</strong>');
  });

  it('escapes hostile feed text everywhere and links only web links', () => {
    const title = 'Alert <script>alert(1)</script> & "more"';
    const summary = '<img src=x onerror="alert(2)"> troops <iframe src=//evil>';
    const alert = makeAlert({
      item: { title, summary, link: 'javascript:alert(3)', feed: '<b>feed</b>' },
      watchName: '<i>watch</i>',
      severity: '"><script>',
      matchedTerms: [termAt(summary, 'troops', 'summary', '<u>troops</u>')],
    });

    const { html, text, subject } = renderEmailAlert(alert);

    expect(html).not.toMatch(LIVE_MARKUP);
    expect(html).not.toMatch(/<b>|<i>|<u>/);
    expect(html).toContain('Alert &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;');
    expect(html).toContain('Link (not a web link, not opened): javascript:alert(3)');
    expect(subject).toBe(`[<i>watch</i>] ${title}`);
    expect(text).toContain(title);
  });

  it('blanks control characters in the subject and the text part', () => {
    const alert = makeAlert({
      watchName: 'Korea\r\nBcc: victim@example.org',
      item: { title: 'Troops \u001b]0;pwned\u0007 moved', summary: 'x\u009b31m' },
      matchedTerms: [],
    });

    const { subject, text } = renderEmailAlert(alert);

    expect(subject).not.toMatch(/[\r\n]/);
    expect(controlCharactersIn(subject)).toEqual([]);
    expect(controlCharactersIn(text)).toEqual([]);
  });

  it('says why it was sent and links the unsubscribe page in the footer', () => {
    const { html, text } = renderEmailAlert(makeAlert({ unsubscribe: UNSUBSCRIBE }));

    expect(text).toContain(
      'You get this because you follow the watch "Korea troop deployments" in wirewatch.',
    );
    expect(text).toContain(`Unsubscribe from this watch: ${UNSUBSCRIBE.url}`);
    expect(html).toContain(
      '<a href="https://wirewatch.example/unsubscribe?s=sub-1&amp;w=korea-troops&amp;t=abc123" style="color:#0b57d0">Unsubscribe from this watch</a>',
    );
  });

  it('leaves out an unsubscribe link that is not a web or mailto link', () => {
    const { html, text } = renderEmailAlert(
      makeAlert({ unsubscribe: { url: 'javascript:alert(1)' } }),
    );

    expect(html).not.toContain('Unsubscribe');
    expect(text).not.toContain('Unsubscribe');
  });

  it('caps a very long subject', () => {
    const { subject } = renderEmailAlert(
      makeAlert({ item: { title: 'word '.repeat(200) }, matchedTerms: [] }),
    );

    expect(subject.length).toBeLessThanOrEqual(250);
    expect(subject.endsWith('…')).toBe(true);
  });
});

describe('renderEmailDigest', () => {
  it('counts alerts and other reports and names the watches in the subject', () => {
    const { subject } = renderEmailDigest(makeDigest());

    expect(subject).toBe(
      'wirewatch digest: 2 alerts, 2 more reports (Korea troop deployments, Patriot transfers)',
    );
  });

  it('says "1 alert" for one, and cuts a long list of watch names', () => {
    const [first] = makeDigest().entries;
    if (first === undefined) throw new Error('fixture has entries');
    const many = Array.from({ length: 30 }, (_, i) => ({
      ...first,
      alert: { ...first.alert, watchId: `w${i}`, watchName: `A rather long watch name ${i}` },
    }));

    expect(renderEmailDigest(makeDigest({ entries: [first] })).subject).toBe(
      'wirewatch digest: 1 alert (Korea troop deployments)',
    );
    const long = renderEmailDigest(makeDigest({ entries: many })).subject;
    expect(long.length).toBeLessThanOrEqual(250);
    expect(long).toMatch(/^wirewatch digest: 30 alerts \(A rather long watch name 0, .*, …\)$/);
  });

  it('groups by watch, then story, with other reports under their story', () => {
    const { text } = renderEmailDigest(makeDigest());

    const lines = text.split('\n');
    const at = (fragment: string) => lines.findIndex((line) => line.includes(fragment));
    expect(at('== Korea troop deployments ==')).toBeLessThan(
      at('* North Korean troops deploy to Kursk region'),
    );
    expect(at('* North Korean troops deploy to Kursk region')).toBeLessThan(
      at('Also reported by ap-world: North Korean soldiers seen near Kursk'),
    );
    expect(at('Also reported by ap-world')).toBeLessThan(at('* Pyongyang moves troops north'));
    expect(at('* Pyongyang moves troops north')).toBeLessThan(
      at('Also reported by bbc-news: More troops arrive, Seoul says'),
    );
    expect(at('Also reported by bbc-news')).toBeLessThan(at('== Patriot transfers =='));
    expect(at('== Patriot transfers ==')).toBeLessThan(
      at('* Update: Germany to send two more Patriot systems to Ukraine [MEDIUM]'),
    );
  });

  it('shows a story alerted before the digest under its first title, in HTML too', () => {
    const { html, text } = renderEmailDigest(makeDigest());

    expect(text).toContain('* Pyongyang moves troops north (alerted earlier)');
    expect(html).toContain(
      '<a href="https://yonhap.example/0" style="color:#0b57d0;text-decoration:none">Pyongyang moves troops north</a>',
    );
    expect(html).toContain(
      'Also reported by bbc-news: <a href="https://bbc.example/more" style="color:#0b57d0">More troops arrive, Seoul says</a>',
    );
  });

  it('shows the time in the subscriber time zone and links both unsubscribe levels', () => {
    const { html, text } = renderEmailDigest(makeDigest());

    expect(text).toContain('08:00 (Europe/Warsaw)');
    expect(html).toContain('>Stop alerts for &quot;Korea troop deployments&quot;</a>');
    expect(text).toContain(
      'Unsubscribe from all alerts: https://wirewatch.example/unsubscribe?s=sub-1&w=*&t=def456',
    );
  });

  it('escapes hostile text from follow-ups, first reports and names', () => {
    const digest = makeDigest();
    const followUp = digest.entries[3];
    if (followUp?.first === undefined) throw new Error('fixture has a follow-up');
    followUp.first.title = '<script>alert(1)</script>';
    followUp.first.link = 'javascript:alert(2)';
    followUp.alert.item.feed = '<img src=x onerror=alert(3)>';
    followUp.alert.item.title = '<iframe src=//evil></iframe>';

    const { html } = renderEmailDigest({ ...digest, subscriberName: '<b>Ana</b>' });

    expect(html).not.toMatch(LIVE_MARKUP);
    expect(html).not.toContain('<b>Ana</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('says so when there is nothing in it', () => {
    const { subject, text } = renderEmailDigest(makeDigest({ entries: [] }));

    expect(subject).toBe('wirewatch digest: 0 alerts');
    expect(text).toContain('Nothing new since the last digest.');
  });
});
