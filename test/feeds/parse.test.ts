import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';
import { parseError } from '../support/parse-error.ts';

/** Files copied from the third-party feed corpus (see test/fixtures/feeds/README.md). */
const CORPUS = fileURLToPath(new URL('../fixtures/feeds/', import.meta.url));

function corpusFile(relativePath: string): Promise<string> {
  return readFile(`${CORPUS}${relativePath}`, 'utf8');
}

describe('parseFeed and normaliseEntries on the feed corpus', () => {
  it('reads an RSS 2.0 feed: items, plain-text HTML descriptions, guid ids, UTC dates', async () => {
    const feedUrl = 'http://liftoff.msfc.nasa.gov/rss.xml';
    const parsed = await parseFeed(
      await corpusFile('node-feedparser/feeds/rss2sample.xml'),
      feedUrl,
    );

    const { items, skipped } = normaliseEntries('liftoff', feedUrl, parsed);

    expect(parsed).toMatchObject({ format: 'rss', title: 'Liftoff News', language: 'en-us' });
    expect(skipped).toEqual([]);
    expect(items).toHaveLength(4);
    expect(items[0]).toEqual({
      id: 'http://liftoff.msfc.nasa.gov/2003/06/03.html#item573',
      feed: 'liftoff',
      title: 'Star City',
      summary:
        "How do Americans get ready to work with Russians aboard the International Space Station? They take a crash course in culture, language and protocol at Russia's Star City.",
      summaryHtml:
        'How do Americans get ready to work with Russians aboard the International Space Station? They take a crash course in culture, language and protocol at Russia\'s <a href="http://howe.iki.rssi.ru/GCTC/gctc_e.htm" rel="noopener noreferrer">Star City</a>.',
      link: 'http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp',
      published: '2003-06-03T09:39:21.000Z',
      lang: 'en',
    });
  });

  it('uses a permalink guid as the link of an RSS item that has none', async () => {
    const feedUrl = 'http://liftoff.msfc.nasa.gov/rss.xml';
    const parsed = await parseFeed(
      await corpusFile('node-feedparser/feeds/rss2sample.xml'),
      feedUrl,
    );

    const { items } = normaliseEntries('liftoff', feedUrl, parsed);

    expect(items[1]).toMatchObject({
      title: '',
      link: 'http://liftoff.msfc.nasa.gov/2003/05/30.html',
      id: 'http://liftoff.msfc.nasa.gov/2003/05/30.html#item572',
    });
  });

  it('reads an Atom 1.0 feed: entry ids, xml:lang, relative links made absolute, offsets to UTC', async () => {
    const feedUrl =
      'http://talkingpointsmemo.com/account/feed/all/LpNewCzTqYYiHqtKqyTw5DaF1aUucgyyXb2dsqKU2yMr';
    const parsed = await parseFeed(await corpusFile('node-feedparser/feeds/tpm.atom'), feedUrl);

    const { items, skipped } = normaliseEntries('tpm', feedUrl, parsed);

    expect(parsed).toMatchObject({ format: 'atom', title: 'All TPM News', language: 'en-US' });
    expect(skipped).toEqual([]);
    expect(items).toHaveLength(20);
    expect(items[0]).toMatchObject({
      id: 'tag:talkingpointsmemo.com,2005:ArticleDecorator/270060',
      title: 'Hannity Announces Fox Has Hired Sebastian Gorka As NatSec Strategist',
      link: 'http://talkingpointsmemo.com/livewire/hannity-announces-fox-hired-sebastian-gorka-national-security-strategist',
      published: '2017-11-08T23:15:58.000Z',
      lang: 'en',
    });
    // The content is double-escaped HTML with numeric character references.
    expect(items[0]?.summary).toContain(
      '“Joining us now is Dr. Sebastian Gorka,” Hannity said on his radio show.',
    );
    expect(items.every((item) => item.link?.startsWith('http://talkingpointsmemo.com/'))).toBe(
      true,
    );
  });

  it('reads an RSS 1.0 (RDF) feed with Dublin Core dates and language', async () => {
    const feedUrl = 'https://sfbay.craigslist.org/search/apa?format=rss';
    const parsed = await parseFeed(await corpusFile('rss-parser/input/craigslist.rss'), feedUrl);

    const { items } = normaliseEntries('craigslist', feedUrl, parsed);

    expect(parsed.format).toBe('rdf');
    expect(items).toHaveLength(25);
    expect(items[0]).toMatchObject({
      title: 'Bright, Spacious Beautiful Victorian (oakland north / temescal) $4300 3bd 1930ft2',
      link: 'http://sfbay.craigslist.org/eby/apa/6186664607.html',
      published: '2017-06-21T17:33:10.000Z',
      lang: 'en',
    });
  });

  it('turns line breaks in CDATA HTML into spaces and hashes an entry with no guid or link', async () => {
    const feedUrl = 'http://example.com/feed.xml';
    const parsed = await parseFeed(
      await corpusFile('feedparser/wellformed/rss/item_description_br.xml'),
      feedUrl,
    );

    const { items } = normaliseEntries('br', feedUrl, parsed);

    expect(items).toHaveLength(1);
    expect(items[0]?.summary).toBe('article title article byline text of article');
    expect(items[0]?.id).toMatch(/^h:[0-9a-f]{64}$/);
  });

  it.each([
    ['not well-formed XML', 'feedparser/illformed/rss_incomplete_cdata.xml', /not well-formed XML/],
    [
      'an HTML page',
      'node-feedparser/feeds/notafeed.html',
      /not an RSS or Atom feed \(root element <html>\)/,
    ],
    ['an HTML page saved as .rss', 'rss-parser/input/unrecognized.rss', /not an RSS or Atom feed/],
    [
      'a document with no element',
      'feedparser/illformed/rss_empty_document.xml',
      /no XML root element/,
    ],
  ])('throws a FeedParseError naming the feed for %s', async (_what, file, reason) => {
    const feedUrl = `https://feeds.example/${file}`;

    const error = await parseError(parseFeed(await corpusFile(file), feedUrl));

    expect(error.feedUrl).toBe(feedUrl);
    expect(error.message).toContain(feedUrl);
    expect(error.message).toMatch(reason);
  });
});

describe('parseFeed', () => {
  it('throws a FeedParseError for an empty body', async () => {
    const error = await parseError(parseFeed('', 'https://feeds.example/empty'));

    expect(error.message).toBe(
      'Could not parse feed https://feeds.example/empty: the document is empty',
    );
  });

  it('reads an RSS or RDF document with no channel as a feed with no entries, as feedparser does', async () => {
    const rss = await parseFeed('<rss version="2.0">\n</rss>', 'https://feeds.example/rss');
    const bare = await parseFeed('<rss/>', 'https://feeds.example/bare');
    const rdf = await parseFeed(
      '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"></rdf:RDF>',
      'https://feeds.example/rdf',
    );

    expect(rss).toEqual({ format: 'rss', entries: [] });
    expect(bare).toEqual({ format: 'rss', entries: [] });
    expect(rdf).toEqual({ format: 'rdf', entries: [] });
  });

  it('reads the items written directly under an <rss> that has no channel', async () => {
    const parsed = await parseFeed(
      '<rss><item><title>Loose</title><link>https://feeds.example/a</link></item></rss>',
      'https://feeds.example/rss',
    );

    expect(parsed.entries).toEqual([{ title: 'Loose', link: 'https://feeds.example/a' }]);
  });

  it('reads an Atom feed whose elements carry a prefix bound to the Atom namespace', async () => {
    const parsed = await parseFeed(
      `<a:feed xmlns:a="http://www.w3.org/2005/Atom" xmlns="http://www.w3.org/1999/xhtml">
        <a:title>Prefixed</a:title>
        <a:entry><a:id>urn:p:1</a:id><a:title>One</a:title>
          <a:link rel="alternate" href="https://desk.example/one"/>
          <a:content type="xhtml"><div>Body <b>bold</b></div></a:content>
        </a:entry></a:feed>`,
      'https://desk.example/feed',
    );

    expect(parsed).toMatchObject({ format: 'atom', title: 'Prefixed' });
    expect(parsed.entries).toEqual([
      {
        guid: 'urn:p:1',
        title: 'One',
        link: 'https://desk.example/one',
        contentHtml: '<div>Body <b>bold</b></div>',
      },
    ]);
  });

  it('reads RSS 2.0 and RSS 1.0 elements under a prefix bound to their namespace', async () => {
    const rss2 = await parseFeed(
      `<r:rss version="2.0" xmlns:r="http://backend.userland.com/rss2"><r:channel>
        <r:title>R</r:title><r:item><r:title>Two</r:title></r:item></r:channel></r:rss>`,
      'https://desk.example/rss2',
    );
    const rss1 = await parseFeed(
      `<RDF xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rss="http://purl.org/rss/1.0/">
        <rss:channel><rss:title>R1</rss:title></rss:channel>
        <rss:item><rss:title>One</rss:title><rss:link>https://desk.example/1</rss:link></rss:item>
      </RDF>`,
      'https://desk.example/rss1',
    );

    expect(rss2).toMatchObject({ format: 'rss', title: 'R', entries: [{ title: 'Two' }] });
    expect(rss1).toMatchObject({
      format: 'rdf',
      title: 'R1',
      entries: [{ title: 'One', link: 'https://desk.example/1' }],
    });
  });

  it('does not take an Atom link inside an RSS item for its RSS link, whatever its prefix', async () => {
    const parsed = await parseFeed(
      `<rss version="2.0" xmlns:a10="http://www.w3.org/2005/Atom"><channel><item>
        <a10:link rel="self" href="https://desk.example/self"/>
        <link xmlns="http://www.w3.org/2005/Atom" rel="edit" href="https://desk.example/edit"/>
        <link>https://desk.example/story</link></item></channel></rss>`,
      'https://desk.example/rss',
    );

    expect(parsed.entries[0]?.link).toBe('https://desk.example/story');
  });

  it('names the root and its namespace when a prefixed root is not a feed', async () => {
    const error = await parseError(
      parseFeed('<x:feed xmlns:x="https://other.example/ns"></x:feed>', 'https://desk.example/x'),
    );

    expect(error.reason).toBe(
      'not an RSS or Atom feed (root element <x:feed> in namespace https://other.example/ns)',
    );
  });

  it('says so when the body is not UTF-8 text', async () => {
    const utf16 = Buffer.from('<rss version="2.0"><channel/></rss>', 'utf16le').toString('utf8');

    const error = await parseError(parseFeed(utf16, 'https://feeds.example/utf16'));

    expect(error.reason).toMatch(/not UTF-8 text/);
  });

  it('reads an RSS feed that has no version attribute', async () => {
    const parsed = await parseFeed(
      '<rss><channel><title>No version</title><item><title>One</title></item></channel></rss>',
      'https://feeds.example/rss',
    );

    expect(parsed.entries).toEqual([{ title: 'One' }]);
  });

  it('keeps the Atom alternate link over other links and prefers HTML alternates', async () => {
    const parsed = await parseFeed(
      `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:x</id><title>t</title>
        <link rel="enclosure" href="https://desk.example/a.mp3"/>
        <link rel="alternate" type="application/pdf" href="https://desk.example/a.pdf"/>
        <link href="https://desk.example/a.html"/>
      </entry></feed>`,
      'https://desk.example/feed',
    );

    expect(parsed.entries[0]?.link).toBe('https://desk.example/a.html');
  });

  it('reads an Atom link written as text without failing the feed', async () => {
    const parsed = await parseFeed(
      `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:x</id><title>t</title>
        <link>https://desk.example/a.html</link></entry></feed>`,
      'https://desk.example/feed',
    );

    expect(parsed.entries[0]?.link).toBe('https://desk.example/a.html');
  });
});
