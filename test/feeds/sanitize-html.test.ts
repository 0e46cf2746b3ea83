import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';
import { SANITIZED_HTML_MAX_CHARS, sanitizeFeedHtml } from '../../shared/feeds/sanitize-html.ts';

/** The sanitize category of the feed corpus, copied whole (see test/fixtures/feeds/README.md). */
const SANITIZE_DIR = 'feedparser/wellformed/sanitize/';
const FIXTURES = fileURLToPath(new URL('../fixtures/feeds/', import.meta.url));

const BASE = 'https://news.example.com/world/story';

/** Everything that must never reach an email from a feed. */
const FORBIDDEN: [string, RegExp][] = [
  ['script', /<script/i],
  ['event handler', /<[^>]*\son[a-z]+\s*=/i],
  ['javascript: URL', /javascript:/i],
  ['data: URL', /=\s*"?\s*data:/i],
  ['img', /<img/i],
  ['form', /<form/i],
  ['input', /<input/i],
  ['iframe', /<iframe/i],
  ['style element', /<style/i],
  ['style attribute', /<[^>]*\sstyle\s*=/i],
  ['object or embed', /<(object|embed)/i],
];

function forbiddenIn(html: string): string[] {
  return FORBIDDEN.filter(([, pattern]) => pattern.test(html)).map(([name]) => name);
}

describe('sanitizeFeedHtml', () => {
  it('keeps text elements and absolute http(s) and mailto links, with rel set', () => {
    const html = sanitizeFeedHtml(
      '<p>Troops <b>moved</b> <em>north</em>, <a href="https://a.example/x" target="_blank" title="t">report</a> and <a href="mailto:desk@a.example">desk</a>.</p><ul><li>one</li></ul><blockquote>quote</blockquote><pre><code>x</code></pre>',
      BASE,
    );

    expect(html).toBe(
      '<p>Troops <b>moved</b> <em>north</em>, <a href="https://a.example/x" rel="noopener noreferrer">report</a> and <a href="mailto:desk@a.example" rel="noopener noreferrer">desk</a>.</p><ul><li>one</li></ul><blockquote>quote</blockquote><pre><code>x</code></pre>',
    );
  });

  it('resolves relative links against the item link', () => {
    const html = sanitizeFeedHtml('<a href="../map?a=1&amp;b=2">map</a>', BASE);

    expect(html).toBe(
      '<a href="https://news.example.com/map?a=1&amp;b=2" rel="noopener noreferrer">map</a>',
    );
  });

  it.each([
    ['javascript:', '<a href="javascript:alert(1)">x</a>'],
    ['javascript: with a tab inside', '<a href="jav&#x09;ascript:alert(1)">x</a>'],
    ['upper-case JAVASCRIPT:', '<a href="  JAVASCRIPT:alert(1)">x</a>'],
    ['data:', '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>'],
    ['vbscript:', '<a href="vbscript:msgbox(1)">x</a>'],
    ['credentials in the URL', '<a href="https://user:pass@a.example/">x</a>'],
  ])('turns a %s link into its text', (_name, input) => {
    expect(sanitizeFeedHtml(input, BASE)).toBe('<span>x</span>');
  });

  it('drops scripts, styles, frames, forms and handlers, keeping readable text', () => {
    const html = sanitizeFeedHtml(
      '<p onclick="steal()" style="color:red" class="x">Seoul said</p><script>alert(1)</script><style>p{display:none}</style><iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name="pw">Log in</form><svg><script>alert(2)</script></svg>',
      BASE,
    );

    expect(html).toBe('<p>Seoul said</p>Log in');
  });

  it('replaces a remote image with its alt text and drops one without', () => {
    const html = sanitizeFeedHtml(
      '<p>Before <img src="https://t.example/pixel.gif" alt="Troops at the border"> after<img src="https://t.example/1.gif"></p>',
      BASE,
    );

    expect(html).toBe('<p>Before <span> Troops at the border </span> after<span></span></p>');
  });

  it('turns headings into one modest level and layout elements into divs', () => {
    const html = sanitizeFeedHtml(
      '<h1>Big</h1><table><tr><td>a</td><td>b</td></tr></table><section>s</section>',
      BASE,
    );

    expect(html).toBe('<h4>Big</h4><div><div><div>a</div><div>b</div></div></div><div>s</div>');
  });

  it('sets the given inline styles and never keeps a feed style', () => {
    const html = sanitizeFeedHtml(
      '<p style="position:fixed">a <b style="font-size:1px">b</b> <a href="https://a.example/" style="display:none">c</a></p>',
      BASE,
      { inlineStyles: { p: 'margin:0', a: 'color:#0b57d0' } },
    );

    expect(html).toBe(
      '<p style="margin:0">a <b>b</b> <a href="https://a.example/" rel="noopener noreferrer" style="color:#0b57d0">c</a></p>',
    );
  });

  it('escapes text that looks like markup', () => {
    expect(sanitizeFeedHtml('5 &lt; 6 &amp; <b>"x"</b>', BASE)).toBe('5 &lt; 6 &amp; <b>"x"</b>');
  });

  it('cuts long output at an element boundary, well-formed and within the limit', () => {
    const items = Array.from({ length: 3000 }, (_, i) => `<li>item &amp; ${i} <b>bold</b></li>`);

    const html = sanitizeFeedHtml(`<ul>${items.join('')}</ul>`, BASE);

    expect(html.length).toBeLessThanOrEqual(SANITIZED_HTML_MAX_CHARS);
    expect(html.length).toBeGreaterThan(SANITIZED_HTML_MAX_CHARS - 100);
    expect(html).toMatch(/^<ul><li>item &amp; 0 <b>bold<\/b><\/li>.*<\/b><\/li><\/ul>$/);
  });

  it('cuts one overlong paragraph at a word, never inside an entity', () => {
    const html = sanitizeFeedHtml(`<p>${'word &amp; '.repeat(5000)}</p>`, BASE);

    expect(html.length).toBeLessThanOrEqual(SANITIZED_HTML_MAX_CHARS);
    expect(html).toMatch(/(word|&amp;)…<\/p>$/);
    expect(html).not.toMatch(/&[a-z]*…/);
  });
});

describe('summaryHtml on normalised items', () => {
  async function normalise(description: string) {
    const xml = `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Item</title><link>https://news.example.com/a/story</link><description><![CDATA[${description}]]></description></item></channel></rss>`;
    const parsed = await parseFeed(xml, 'https://news.example.com/feed.xml');
    return normaliseEntries('test', 'https://news.example.com/feed.xml', parsed).items[0];
  }

  it('is set when the summary has links or emphasis, resolved against the item link', async () => {
    const item = await normalise('Troops <b>moved</b>, says <a href="/source">the ministry</a>.');

    expect(item?.summary).toBe('Troops moved, says the ministry.');
    expect(item?.summaryHtml).toBe(
      'Troops <b>moved</b>, says <a href="https://news.example.com/source" rel="noopener noreferrer">the ministry</a>.',
    );
  });

  it('is absent for plain text and for a single bare paragraph', async () => {
    expect((await normalise('Just text &amp; more'))?.summaryHtml).toBeUndefined();
    expect((await normalise('<p>Just a paragraph</p>'))?.summaryHtml).toBeUndefined();
  });
});

describe('the sanitize category of the feed corpus', () => {
  it('leaves nothing dangerous in any item of any hostile sample', async () => {
    const files = (await readdir(`${FIXTURES}${SANITIZE_DIR}`)).map(
      (name) => `${SANITIZE_DIR}${name}`,
    );
    const problems: string[] = [];
    let withHtml = 0;
    let hostileInputs = 0;

    for (const file of files) {
      const document = await readFile(`${FIXTURES}${file}`, 'utf8');
      const url = `http://127.0.0.1:8097/tests/${file}`;
      const parsed = await parseFeed(document, url);
      const raw = parsed.entries.flatMap((e) => [e.summaryHtml ?? '', e.contentHtml ?? '']);
      hostileInputs += raw.filter((html) => forbiddenIn(html).length > 0).length;
      const outputs = [
        ...raw.map((html) => sanitizeFeedHtml(html, url)),
        ...normaliseEntries('corpus', url, parsed).items.map((item) => item.summaryHtml ?? ''),
      ];
      for (const html of outputs) {
        if (html !== '') withHtml++;
        const found = forbiddenIn(html);
        if (found.length > 0) problems.push(`${file}: ${found.join(', ')} in ${html}`);
      }
    }

    expect(files.length).toBeGreaterThan(700);
    expect(hostileInputs).toBeGreaterThan(100);
    expect(withHtml).toBeGreaterThan(400);
    expect(problems).toEqual([]);
  });
});
