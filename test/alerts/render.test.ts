import { describe, expect, it } from 'vitest';
import {
  cutTo,
  formatPublished,
  highlightSnippet,
  renderAlertText,
  safeWebLink,
} from '../../shared/alerts/render.ts';
import { controlCharactersIn, makeAlert } from './alert-fixture.ts';

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

describe('cutTo', () => {
  it('leaves a short text as it is', () => {
    expect(cutTo('Troops move', 11)).toBe('Troops move');
  });

  it('ends a cut with an ellipsis within the limit and never splits a surrogate pair', () => {
    const text = `abc${'\u{1F600}'.repeat(10)}`;

    const cut = cutTo(text, 7);

    expect(cut.length).toBeLessThanOrEqual(7);
    expect(cut).toBe(`abc\u{1F600}…`);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
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
