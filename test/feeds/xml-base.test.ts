/**
 * `xml:base` (feed, channel, entry and element level, nested, relative to the
 * base before it) resolves the links of entries and of their HTML before they
 * are made canonical: inline cases, and the corpus's xml:base files with the
 * bases feedparser's `Expect` lines and node-feedparser's tests state.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveXmlBase } from '../../shared/feeds/canonical-url.ts';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';

/** Files copied from the third-party feed corpus (see test/fixtures/feeds/README.md). */
const CORPUS = fileURLToPath(new URL('../fixtures/feeds/', import.meta.url));

async function itemsOf(document: string, documentUrl: string) {
  const parsed = await parseFeed(document, documentUrl);
  return normaliseEntries('desk', documentUrl, parsed).items;
}

describe('xml:base', () => {
  it('resolves an entry link against the feed, entry and link bases, each relative to the one before', async () => {
    const items = await itemsOf(
      `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://desk.example/feed/">
        <entry xml:base="entry/"><id>urn:1</id><title>One</title>
          <link xml:base="../stories/" href="one.html"/></entry>
        <entry><id>urn:2</id><title>Two</title><link href="two.html"/></entry>
      </feed>`,
      'https://desk.example/atom.xml',
    );

    expect(items.map((item) => item.link)).toEqual([
      'https://desk.example/feed/stories/one.html',
      'https://desk.example/feed/two.html',
    ]);
  });

  it('resolves a relative feed base against the document URL', async () => {
    const items = await itemsOf(
      `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/news/">
        <entry><id>urn:1</id><title>One</title><link href="one.html"/></entry></feed>`,
      'https://desk.example/feeds/atom.xml',
    );

    expect(items[0]?.link).toBe('https://desk.example/news/one.html');
  });

  it('resolves the links in content under the content element base, not the link', async () => {
    const items = await itemsOf(
      `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://desk.example/">
        <entry xml:base="a/"><id>urn:1</id><title>One</title><link href="story.html"/>
          <content type="html" xml:base="media/">&lt;p&gt;See &lt;a href="map.html"&gt;the map&lt;/a&gt;&lt;/p&gt;</content>
        </entry></feed>`,
      'https://desk.example/atom.xml',
    );

    expect(items[0]?.link).toBe('https://desk.example/a/story.html');
    expect(items[0]?.summaryHtml).toContain('href="https://desk.example/a/media/map.html"');
  });

  it('applies the RSS root, channel and item bases to the item link and description', async () => {
    const items = await itemsOf(
      `<rss version="2.0" xml:base="https://desk.example/"><channel xml:base="wire/">
        <item xml:base="2026/"><title>One</title><link>one.html</link>
          <description>&lt;a href="../about.html"&gt;about&lt;/a&gt; us</description></item>
      </channel></rss>`,
      'https://feeds.example/rss.xml',
    );

    expect(items[0]?.link).toBe('https://desk.example/wire/2026/one.html');
    expect(items[0]?.summaryHtml).toContain('href="https://desk.example/wire/about.html"');
  });

  it('ignores a base that is not an http(s) URL and keeps the one in scope', async () => {
    const items = await itemsOf(
      `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://desk.example/safe/">
        <entry xml:base="javascript:alert(1)//"><id>urn:1</id><title>One</title>
          <link href="one.html"/></entry></feed>`,
      'https://desk.example/atom.xml',
    );

    expect(items[0]?.link).toBe('https://desk.example/safe/one.html');
  });

  it('resolves each base per RFC 3986: dot segments, an empty base, a fragment-only base', () => {
    expect(
      resolveXmlBase(['http://example.com/', 'test/entry/', '../'], 'http://doc.example/'),
    ).toBe('http://example.com/test/');
    expect(resolveXmlBase([''], 'http://doc.example/a/feed.xml')).toBe(
      'http://doc.example/a/feed.xml',
    );
    expect(resolveXmlBase(['#fragment'], 'http://doc.example/a/feed.xml')).toBe(
      'http://doc.example/a/feed.xml#fragment',
    );
    expect(resolveXmlBase(undefined, 'http://doc.example/a/feed.xml')).toBe(
      'http://doc.example/a/feed.xml',
    );
  });
});

describe('xml:base in the feed corpus', () => {
  /** Only the files the name filter below picks were copied into the fixtures. */
  const BASE_DIR = 'feedparser/wellformed/base/';
  /** feedparser's harness URL of a file, or its Content-Location header when it has one. */
  const documentUrlOf = (name: string, document: string): string =>
    /^Header:\s*Content-Location:\s*(\S+)/m.exec(document)?.[1] ??
    `http://127.0.0.1:8097/tests/wellformed/base/${name}`;

  it("gives an entry's summary and content the base feedparser expects", async () => {
    const names = (await readdir(`${CORPUS}${BASE_DIR}`)).filter((name) =>
      /^(?:http_relative_)?(?:entry_(?:summary|content)_xml_base|relative_xml_base)/.test(name),
    );
    const checked: string[] = [];
    for (const name of names) {
      const document = await readFile(`${CORPUS}${BASE_DIR}${name}`, 'utf8');
      const expect_ =
        /entries\[0\]\['(summary_detail|content)'\](?:\[0\])?\['base'\] == '([^']+)'/.exec(
          document,
        );
      if (expect_ === null) continue;
      const [, field, base] = expect_;
      const documentUrl = documentUrlOf(name, document);
      const entry = (await parseFeed(document, documentUrl)).entries[0];
      const bases = field === 'content' ? entry?.contentBase : entry?.summaryBase;

      expect(resolveXmlBase(bases, documentUrl), name).toBe(base);
      checked.push(name);
    }

    expect(checked.length).toBeGreaterThanOrEqual(10);
  });

  it('resolves relative links in item HTML under an RSS root and item base (node-feedparser)', async () => {
    const document = await readFile(
      `${CORPUS}node-feedparser/feeds/rss-with-relative-html-urls.xml`,
      'utf8',
    );

    const items = await itemsOf(document, 'https://feeds.example/relative.xml');

    expect(items[0]?.summaryHtml).toContain('href="https://example.com/posts/post-1"');
  });

  it("does not carry one item's base over to the next (node-feedparser)", async () => {
    const document = await readFile(
      `${CORPUS}node-feedparser/feeds/rss-with-item-scoped-html-base.xml`,
      'utf8',
    );

    const items = await itemsOf(document, 'https://feeds.example/scoped.xml');

    expect(items[0]?.summaryHtml).toContain('href="https://example.com/first/post"');
    expect(items[0]?.link).toBe('https://example.com/first/first');
    expect(items[1]?.link).toBe('https://feeds.example/second');
    expect(items[1]?.summaryHtml).not.toContain('first/post');
  });

  it('resolves links under an empty or a fragment-only feed base against the document URL', async () => {
    const documentUrl = 'http://talkingpointsmemo.com/account/feed/all';
    for (const file of ['tpm-with-empty-base.atom', 'tpm-with-fragment-base.atom']) {
      const document = await readFile(`${CORPUS}node-feedparser/feeds/${file}`, 'utf8');

      const items = await itemsOf(document, documentUrl);

      expect(items[0]?.link, file).toBe(
        'http://talkingpointsmemo.com/livewire/hannity-announces-fox-hired-sebastian-gorka-national-security-strategist',
      );
    }
  });
});
