import { describe, expect, it } from 'vitest';
import { decodeFeedBody } from '../../shared/feeds/charset.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';
import { parseError } from '../support/parse-error.ts';

/** An RSS feed whose first item has `title` (written as is) and whose second is plain. */
function feedWithTitle(title: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title>
<item><title>${title}</title><guid>g1</guid></item>
<item><title>Plain item</title><guid>g2</guid></item>
</channel></rss>`;
}

async function titlesOf(document: string): Promise<(string | undefined)[]> {
  const feed = await parseFeed(document, 'https://feeds.example/wire');
  return feed.entries.map((entry) => entry.title);
}

describe('references to characters XML 1.0 forbids', () => {
  it.each([
    '&#0;',
    '&#1;',
    '&#8;',
    '&#x0B;',
    '&#x1F;',
    '&#xD800;',
    '&#57343;',
    '&#xFFFE;',
    '&#xFFFF;',
    '&#x110000;',
    '&#99999999999;',
  ])('reads the feed with %s in a title replaced by U+FFFD', async (reference) => {
    const titles = await titlesOf(feedWithTitle(`Before${reference}after`));

    expect(titles).toEqual(['Before\uFFFDafter', 'Plain item']);
  });

  it('replaces such a reference in an attribute value and in a declared entity', async () => {
    const document = `<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY bad "x&#0;y">]>
<rss version="2.0"><channel><title>Wire</title>
<item><title>A &bad; B</title><link>https://news.example/a?q=&#0;</link></item>
</channel></rss>`;

    const feed = await parseFeed(document, 'https://feeds.example/wire');

    expect(feed.entries[0]?.title).toBe('A x\uFFFDy B');
    expect(feed.entries[0]?.link).toBe('https://news.example/a?q=\uFFFD');
  });

  it('keeps references to characters XML allows, control or not', async () => {
    const titles = await titlesOf(feedWithTitle('tab&#9;nl&#xA;e&#233;&#x1F600;&#xFFFD;'));

    expect(titles[0]).toBe('tab\tnl\neé😀\uFFFD');
  });

  it('leaves a reference inside CDATA as the text it is', async () => {
    const titles = await titlesOf(feedWithTitle('<![CDATA[x &#0; y]]>'));

    expect(titles[0]).toBe('x &#0; y');
  });
});

describe('raw NUL and other characters XML 1.0 forbids', () => {
  it('reads a UTF-8 feed with a stray NUL byte, the NUL removed', async () => {
    const bytes = Buffer.from(feedWithTitle('Breaking\u0000 news').replace('<rss', '\u0000<rss'));

    const decoded = decodeFeedBody(bytes, 'application/rss+xml');
    const titles = await titlesOf(decoded.text);

    expect(decoded.charset).toBe('utf-8');
    expect(titles).toEqual(['Breaking news', 'Plain item']);
  });

  it('reads a feed with a NUL inside a start tag', async () => {
    const titles = await titlesOf(feedWithTitle('Tag').replace('<item>', '<item\u0000>'));

    expect(titles).toEqual(['Tag', 'Plain item']);
  });

  it('removes the other raw control characters XML forbids, keeping tab and line breaks', async () => {
    const titles = await titlesOf(feedWithTitle('a\u0001b\u0008c\u000Bd\u001Fe\tf'));

    expect(titles[0]).toBe('abcde\tf');
  });

  it('removes U+FFFE and U+FFFF, shows a lone surrogate as U+FFFD and keeps a surrogate pair', async () => {
    const titles = await titlesOf(feedWithTitle('a\uFFFEb\uFFFFc\uD800d\uDC00e\uD83D\uDE00'));

    expect(titles[0]).toBe('abc\uFFFDd\uFFFDe😀');
  });

  it('reads a JSON Feed with a stray NUL byte in a string, the NUL removed', async () => {
    const document = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 'Wire',
      items: [{ id: '1', title: 'Breaking__ news', url: 'https://news.example/1' }],
    }).replace('__', '\u0000');

    const titles = await titlesOf(document);

    expect(titles).toEqual(['Breaking news']);
  });

  it('does not blame UTF-16 when a well-formedness error is elsewhere and a NUL is present', async () => {
    const document = feedWithTitle('Stray\u0000 NUL').replace('</channel>', '</channel></oops>');

    const error = await parseError(parseFeed(document, 'https://feeds.example/wire'));

    expect(error.reason).not.toMatch(/UTF-16|not UTF-8/);
    expect(error.reason).toMatch(/not well-formed XML/);
  });

  it('still says a document of ASCII in UTF-16, read as UTF-8, is not UTF-8 text', async () => {
    const utf16 = Buffer.from(feedWithTitle('Wide'), 'utf16le').toString('utf8');

    const error = await parseError(parseFeed(utf16, 'https://feeds.example/utf16'));

    expect(error.reason).toMatch(/not UTF-8 text/);
  });
});

describe('UTF-16 without a byte-order mark', () => {
  it.each([
    ['utf16le', 'utf-16le'],
    ['utf16be', 'utf-16be'],
  ] as const)(
    'is recognised by the NUL pattern of its ASCII markup (%s)',
    async (encoding, charset) => {
      const text =
        '<rss version="2.0"><channel><title>Wire</title><item><title>Café</title><guid>g</guid></item></channel></rss>';
      const le = Buffer.from(text, 'utf16le');
      const bytes = encoding === 'utf16le' ? le : Buffer.from(le).swap16();

      const decoded = decodeFeedBody(bytes);

      expect(decoded.charset).toBe(charset);
      expect(await titlesOf(decoded.text)).toEqual(['Café']);
    },
  );

  it('is not taken from one NUL in an otherwise UTF-8 document', () => {
    const decoded = decodeFeedBody(Buffer.from('<\u0000rss version="2.0"><channel/></rss>'));

    expect(decoded.charset).toBe('utf-8');
  });
});
