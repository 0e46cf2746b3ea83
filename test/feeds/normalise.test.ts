import { describe, expect, it } from 'vitest';
import {
  normaliseEntries,
  normaliseLanguage,
  parseFeedDate,
} from '../../shared/feeds/normalise.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';

const FEED_URL = 'https://desk.example/feeds/world.xml';

function rss(items: string, channelExtra = '<language>en-us</language>'): string {
  return `<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Desk</title>${channelExtra}${items}</channel></rss>`;
}

async function normalise(xml: string) {
  return normaliseEntries('desk', FEED_URL, await parseFeed(xml, FEED_URL));
}

describe('normaliseEntries: ids', () => {
  it('takes the guid first, then the canonical link, then a content hash', async () => {
    const { items } = await normalise(
      rss(`
        <item><title>With guid</title><guid isPermaLink="false"> wire:1 </guid><link>https://desk.example/a</link></item>
        <item><title>With link</title><link>https://Desk.example/b?utm_source=rss#top</link></item>
        <item><title>With neither</title><description>Only text</description></item>`),
    );

    expect(items.map((item) => item.id)).toEqual([
      'wire:1',
      'https://desk.example/b',
      expect.stringMatching(/^h:[0-9a-f]{64}$/),
    ]);
  });

  it('gives the same hash id to the same text on every poll and a different one to different text', async () => {
    const entry = (title: string) =>
      rss(`<item><title>${title}</title><description>&lt;p&gt;Body&lt;/p&gt;</description></item>`);

    const first = await normalise(entry('Seoul says'));
    const again = await normalise(entry('  Seoul   &lt;b&gt;says&lt;/b&gt; '));
    const other = await normalise(entry('Tokyo says'));

    expect(again.items[0]?.id).toBe(first.items[0]?.id);
    expect(other.items[0]?.id).not.toBe(first.items[0]?.id);
  });

  it('gives one id to links that differ only by tracking parameters', async () => {
    const { items, skipped } = await normalise(
      rss(`
        <item><title>One</title><link>https://desk.example/s?id=7&amp;utm_source=a&amp;fbclid=x</link></item>
        <item><title>One again</title><link>https://desk.example/s?id=7&amp;gclid=y&amp;utm_campaign=b</link></item>`),
    );

    expect(items).toHaveLength(1);
    expect(items[0]?.link).toBe('https://desk.example/s?id=7');
    expect(skipped).toEqual([
      { index: 1, reason: 'duplicate id https://desk.example/s?id=7 in the same document' },
    ]);
  });
});

describe('normaliseEntries: text, links and language', () => {
  it('makes title and summary plain text: tags and scripts gone, entities decoded', async () => {
    const { items } = await normalise(
      rss(`<item><guid>g</guid><title>AT&amp;amp;T &lt;b&gt;deal&lt;/b&gt;</title>
        <description><![CDATA[<p>First&nbsp;line</p><script>alert("x")</script><p>second &amp; last</p>]]></description></item>`),
    );

    expect(items[0]?.title).toBe('AT&T deal');
    expect(items[0]?.summary).toBe('First line second & last');
  });

  it('falls back to content:encoded when there is no description', async () => {
    const { items } = await normalise(
      `<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>c</title>
        <item><guid>g</guid><title>t</title><content:encoded><![CDATA[<p>Full text</p>]]></content:encoded></item>
      </channel></rss>`,
    );

    expect(items[0]?.summary).toBe('Full text');
  });

  it('resolves relative links against the feed URL and drops links that are not http(s)', async () => {
    const { items } = await normalise(
      rss(`
        <item><guid>1</guid><title>Relative</title><link>../2026/story?utm_medium=feed</link></item>
        <item><guid>2</guid><title>Script</title><link>javascript:alert(document.cookie)</link></item>`),
    );

    expect(items[0]?.link).toBe('https://desk.example/2026/story');
    expect(items[1]).not.toHaveProperty('link');
  });

  it('takes the entry language over the feed language and keeps the primary subtag', async () => {
    const { items } = await normalise(
      rss(`
        <item><guid>1</guid><title>Feed language</title></item>
        <item><guid>2</guid><title>Eigene Sprache</title><dc:language>de-DE</dc:language></item>
        <item><guid>3</guid><title>Bad tag</title><dc:language>English please</dc:language></item>`),
    );

    expect(items.map((item) => item.lang)).toEqual(['en', 'de', 'en']);
  });

  it('reads xml:lang on an Atom feed and on an entry', async () => {
    const { items } = await normalise(
      `<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ko-KR"><title>f</title>
        <entry><id>1</id><title>Korean</title></entry>
        <entry xml:lang="en"><id>2</id><title>English</title></entry></feed>`,
    );

    expect(items.map((item) => item.lang)).toEqual(['ko', 'en']);
  });

  it('omits lang when neither the feed nor the entry declares one', async () => {
    const { items } = await normalise(rss('<item><guid>1</guid><title>t</title></item>', ''));

    expect(items[0]).not.toHaveProperty('lang');
  });

  it('cuts a long summary at a word boundary', async () => {
    const long = 'word '.repeat(2000);

    const { items } = normaliseEntries(
      'desk',
      FEED_URL,
      await parseFeed(
        rss(`<item><guid>1</guid><title>t</title><description>${long}</description></item>`),
        FEED_URL,
      ),
      { maxSummaryLength: 100 },
    );

    expect(items[0]?.summary.length).toBeLessThanOrEqual(100);
    expect(items[0]?.summary).toMatch(/^(word )+word…$/);
  });
});

describe('normaliseEntries: bad entries', () => {
  it('omits an unparseable RSS date on that entry only', async () => {
    const { items, skipped } = await normalise(
      rss(`
        <item><guid>1</guid><title>Good</title><pubDate>Wed, 04 Mar 2026 06:12:00 GMT</pubDate></item>
        <item><guid>2</guid><title>Bad</title><pubDate>sometime last week</pubDate></item>
        <item><guid>3</guid><title>Good too</title><pubDate>Thu, 05 Mar 2026 08:50:00 -0500</pubDate></item>`),
    );

    expect(skipped).toEqual([]);
    expect(items.map((item) => item.published)).toEqual([
      '2026-03-04T06:12:00.000Z',
      undefined,
      '2026-03-05T13:50:00.000Z',
    ]);
    expect(items[1]).not.toHaveProperty('published');
  });

  it('omits an unparseable Atom date on that entry only', async () => {
    const { items } = await normalise(
      `<feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>
        <entry><id>1</id><title>Bad</title><published>31/02/2026</published><updated>never</updated></entry>
        <entry><id>2</id><title>Good</title><published>2026-03-04T16:20:00+01:00</published></entry></feed>`,
    );

    expect(items).toHaveLength(2);
    expect(items[0]).not.toHaveProperty('published');
    expect(items[1]?.published).toBe('2026-03-04T15:20:00.000Z');
  });

  it('skips an entry with no title, summary or link, and keeps the others', async () => {
    const { items, skipped } = await normalise(
      rss(`<item><guid>1</guid></item><item><guid>2</guid><title>Kept</title></item>`),
    );

    expect(items.map((item) => item.id)).toEqual(['2']);
    expect(skipped).toEqual([{ index: 0, reason: 'entry has no title, summary or link' }]);
  });

  it('is not polluted by __proto__ or constructor elements, attributes or guids', async () => {
    const { items } = await normalise(
      rss(`
        <item __proto__="x" constructor="y">
          <__proto__><polluted>yes</polluted><isAdmin>true</isAdmin></__proto__>
          <constructor><prototype><polluted>yes</polluted></prototype></constructor>
          <guid>__proto__</guid><title>Proto</title>
        </item>
        <item><guid>constructor</guid><title>Constructor</title><toString>x</toString></item>
        <item><guid>hasOwnProperty</guid><title>Third</title></item>`),
    );

    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(items.map((item) => item.id)).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(items.every((item) => Object.getPrototypeOf(item) === Object.prototype)).toBe(true);
    expect(Object.keys(items[0] ?? {}).sort()).toEqual(['feed', 'id', 'lang', 'summary', 'title']);
  });
});

describe('parseFeedDate', () => {
  it.each([
    ['Wed, 04 Mar 2026 06:12:00 GMT', '2026-03-04T06:12:00.000Z'],
    ['Wed, 4 Mar 2026 06:12 +0900', '2026-03-03T21:12:00.000Z'],
    ['Thu, 05 Mar 2026 08:50:00 EST', '2026-03-05T13:50:00.000Z'],
    ['05 March 2026 08:50:00 PDT', '2026-03-05T15:50:00.000Z'],
    ['Thu, 05 Mar 26 08:50:00 Z', '2026-03-05T08:50:00.000Z'],
    ['2026-03-04T16:20:00+01:00', '2026-03-04T15:20:00.000Z'],
    ['2026-03-04T16:20:00.250Z', '2026-03-04T16:20:00.250Z'],
    ['2026-03-04T16:20:00', '2026-03-04T16:20:00.000Z'],
    ['2026-03-04', '2026-03-04T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseFeedDate(text)).toBe(iso);
  });

  it.each([
    'sometime last week',
    '31/02/2026',
    '2026-02-30T10:00:00Z',
    'Mon, 30 Feb 2026 10:00:00 GMT',
    'Wed, 04 Mar 2026 06:12:00 CEST',
    '2026-03-04T25:00:00Z',
    '1',
    '',
  ])('refuses %j', (text) => {
    expect(parseFeedDate(text)).toBeUndefined();
  });
});

describe('normaliseLanguage', () => {
  it.each([
    ['en-us', 'en'],
    ['EN', 'en'],
    ['zh_Hant_TW', 'zh'],
    ['fil', 'fil'],
    ['english', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('maps %j to %j', (declared, lang) => {
    expect(normaliseLanguage(declared)).toBe(lang);
  });
});
