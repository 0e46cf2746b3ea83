import { describe, expect, it } from 'vitest';
import {
  formatPublished,
  highlightSnippet,
  renderAlertEmail,
  renderAlertText,
  renderSlackMessage,
  SLACK_TEXT_MAX_CHARS,
  type SlackMessage,
  safeWebLink,
} from '../../shared/alerts/render.ts';
import { controlCharactersIn, makeAlert, termAt } from './alert-fixture.ts';

function allSlackTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) =>
    block.type === 'section' ? [block.text.text] : block.elements.map((e) => e.text),
  );
}

describe('highlightSnippet', () => {
  it('splits the text at the matched offsets', () => {
    const text = 'North Korean troops deploy to Kursk';

    const result = highlightSnippet(text, [{ start: 13, end: 19 }]);

    expect(result.segments).toEqual([
      { text: 'North Korean ', highlighted: false },
      { text: 'troops', highlighted: true },
      { text: ' deploy to Kursk', highlighted: false },
    ]);
    expect(result.clippedStart).toBe(false);
    expect(result.clippedEnd).toBe(false);
  });

  it('merges overlapping ranges and ignores ranges outside the text', () => {
    const text = 'air defence systems';

    const result = highlightSnippet(text, [
      { start: 4, end: 11 },
      { start: 0, end: 7 },
      { start: 15, end: 99 },
      { start: 5, end: 5 },
      { start: -3, end: 2 },
    ]);

    expect(result.segments).toEqual([
      { text: 'air defence', highlighted: true },
      { text: ' systems', highlighted: false },
    ]);
  });

  it('cuts a long text to a window around the first match, on word boundaries', () => {
    const before = 'filler words here '.repeat(40);
    const after = ' and more words follow'.repeat(40);
    const text = `${before}Patriot batteries${after}`;
    const start = text.indexOf('Patriot');

    const result = highlightSnippet(text, [{ start, end: start + 'Patriot'.length }], 120);

    const shown = result.segments.map((s) => s.text).join('');
    expect(result.clippedStart).toBe(true);
    expect(result.clippedEnd).toBe(true);
    expect(shown.length).toBeLessThanOrEqual(120);
    expect(result.segments.filter((s) => s.highlighted)).toEqual([
      { text: 'Patriot', highlighted: true },
    ]);
    expect(text).toContain(shown);
    expect(text[text.indexOf(shown) - 1]).toBe(' ');
  });

  it('blanks control characters without moving the offsets', () => {
    const text = 'troops\u001b[2J moved';

    const result = highlightSnippet(text, [{ start: 11, end: 16 }]);

    expect(result.segments).toEqual([
      { text: 'troops [2J ', highlighted: false },
      { text: 'moved', highlighted: true },
    ]);
  });
});

describe('formatPublished', () => {
  it('formats an ISO time as a readable UTC time', () => {
    expect(formatPublished('2025-03-05T23:03:27+09:00')).toBe('Wed 5 Mar 2025, 14:03 UTC');
  });

  it('returns undefined when the feed gave no usable time', () => {
    expect(formatPublished(undefined)).toBeUndefined();
    expect(formatPublished('yesterday-ish')).toBeUndefined();
  });
});

describe('safeWebLink', () => {
  it('accepts http and https links only', () => {
    expect(safeWebLink('https://example.com/a b')).toBe('https://example.com/a%20b');
    expect(safeWebLink('http://example.com/')).toBe('http://example.com/');
    expect(safeWebLink('javascript:alert(1)')).toBeUndefined();
    expect(safeWebLink('data:text/html,<b>x</b>')).toBeUndefined();
    expect(safeWebLink('https://reuters.com@evil.example/')).toBeUndefined();
    expect(safeWebLink('/relative/path')).toBeUndefined();
  });
});

describe('renderAlertText', () => {
  it('says what matched, where, when and from which feed', () => {
    const alert = makeAlert();

    const text = renderAlertText(alert);

    expect(text.split('\n')).toEqual([
      '[HIGH] Korea troop deployments',
      'North Korean troops deploy to Kursk region',
      'https://news.example.com/world/korea-troops?id=42',
      'Feed: reuters-world | Published: Wed 5 Mar 2025, 14:03 UTC',
      'Matched: "north korean" (title), troops (summary)',
      `"${alert.item.summary}"`,
    ]);
  });

  it('shows a link that is not a web link as text only', () => {
    const alert = makeAlert({ item: { link: 'javascript:alert(1)' } });

    const text = renderAlertText(alert);

    expect(text).toContain('Link (not a web link): javascript:alert(1)');
  });

  it('never passes terminal escape sequences through', () => {
    const alert = makeAlert({
      item: { title: 'Troops \u001b]0;pwned\u0007 moved', summary: 'x\u009b31m' },
      matchedTerms: [],
    });

    const text = renderAlertText(alert);

    expect(controlCharactersIn(text)).toEqual([]);
  });
});

describe('renderAlertEmail', () => {
  it('puts the watch name and headline in the subject', () => {
    const { subject } = renderAlertEmail(makeAlert());

    expect(subject).toBe(
      '[wirewatch] Korea troop deployments: North Korean troops deploy to Kursk region',
    );
  });

  it('highlights matched terms in the headline and the snippet with <strong>', () => {
    const { html } = renderAlertEmail(makeAlert());

    expect(html).toContain(
      '<a href="https://news.example.com/world/korea-troops?id=42" style="color:#0b57d0"><strong>North Korean</strong> troops deploy to Kursk region</a>',
    );
    expect(html).toContain('thousands of <strong>troops</strong> to the front');
  });

  it('escapes feed HTML everywhere and links only web links', () => {
    const title = 'Alert <script>alert(1)</script> & "more"';
    const summary = '<img src=x onerror="alert(2)"> troops';
    const alert = makeAlert({
      item: { title, summary, link: 'javascript:alert(3)', feed: '<b>feed</b>' },
      watchName: '<i>watch</i>',
      matchedTerms: [termAt(summary, 'troops', 'summary', '<u>troops</u>')],
    });

    const { html, subject } = renderAlertEmail(alert);

    expect(html).not.toMatch(/<script|<img|<b>|<i>|<u>/);
    expect(html).toContain('Alert &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(2)&quot;&gt;');
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('javascript:alert(3)');
    expect(subject).toBe(`[wirewatch] <i>watch</i>: ${title}`);
  });

  it('keeps title highlights on the matched words when the title has surrounding spaces', () => {
    const title = '  Patriot systems sent to Kyiv ';
    const alert = makeAlert({ item: { title }, matchedTerms: [termAt(title, 'Patriot', 'title')] });

    const { html } = renderAlertEmail(alert);

    expect(html).toContain('<strong>Patriot</strong> systems sent to Kyiv');
  });

  it('colours only known severities and never injects anything into styles', () => {
    const { html } = renderAlertEmail(makeAlert({ severity: 'constructor' }));

    expect(html).toContain('<span style="font-weight:bold;color:#555555">CONSTRUCTOR</span>');
  });

  it('caps a very long subject', () => {
    const { subject } = renderAlertEmail(
      makeAlert({ item: { title: 'word '.repeat(200) }, matchedTerms: [] }),
    );

    expect(subject.length).toBeLessThanOrEqual(250);
    expect(subject.endsWith('…')).toBe(true);
  });
});

describe('renderSlackMessage', () => {
  it('links the headline and bolds the matched terms in the snippet', () => {
    const message = renderSlackMessage(makeAlert());

    const [headline, context, snippet, matched] = allSlackTexts(message);
    expect(headline).toBe(
      '*<https://news.example.com/world/korea-troops?id=42|North Korean troops deploy to Kursk region>*',
    );
    expect(context).toBe(
      '*HIGH* · Korea troop deployments · reuters-world · Wed 5 Mar 2025, 14:03 UTC',
    );
    expect(snippet).toBe(
      '>Pyongyang has sent thousands of *troops* to the front line, officials in Seoul said on Wednesday.',
    );
    expect(matched).toBe('Matched: *"north korean"* (title), *troops* (summary)');
    expect(message.text).toBe(
      '[HIGH] Korea troop deployments: North Korean troops deploy to Kursk region',
    );
  });

  it('escapes feed text so that it cannot mention anyone or forge a link', () => {
    const summary =
      'Hey <!channel> and @here, see <https://evil.example|Reuters> or <@U123> & troops';
    const alert = makeAlert({
      item: { title: '<!here> <!subteam^S1> breaking', summary, link: 'https://ok.example/a|b>c' },
      matchedTerms: [termAt(summary, 'troops', 'summary')],
    });

    const message = renderSlackMessage(alert);

    const texts = [message.text, ...allSlackTexts(message)];
    const angleBracketed = texts.flatMap((t) => t.match(/<[^>]*>/g) ?? []);
    expect(angleBracketed).toEqual([
      '<https://ok.example/a%7Cb%3Ec|&lt;!here&gt; &lt;!subteam^S1&gt; breaking>',
    ]);
    expect(texts.join('\n')).not.toMatch(/@here/);
    expect(texts.join('\n')).toContain('&lt;https://evil.example|Reuters&gt;');
  });

  it('keeps every text within Slack limits for huge items', () => {
    const summary = `${'&<> '.repeat(3000)}troops ${'& '.repeat(3000)}`;
    const alert = makeAlert({
      item: { title: '&'.repeat(5000), summary, link: `https://example.com/${'a'.repeat(1400)}` },
      watchName: '<'.repeat(4000),
      matchedTerms: [
        termAt(summary, 'troops', 'summary'),
        ...Array.from({ length: 200 }, (_, i) => ({
          term: `term-${i}-${'&'.repeat(100)}`,
          field: 'title' as const,
          start: 0,
          end: 1,
        })),
      ],
    });

    const message = renderSlackMessage(alert);

    for (const text of [message.text, ...allSlackTexts(message)]) {
      expect(text.length).toBeLessThanOrEqual(SLACK_TEXT_MAX_CHARS);
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    expect(allSlackTexts(message)[3]).toMatch(/, and \d+ more$/);
  });

  it('shows a link that is not a web link as text, not as a Slack link', () => {
    const message = renderSlackMessage(makeAlert({ item: { link: 'javascript:alert(1)' } }));

    const [headline] = allSlackTexts(message);
    expect(headline).toBe(
      '*North Korean troops deploy to Kursk region*\nLink (not a web link): javascript:alert(1)',
    );
  });
});
