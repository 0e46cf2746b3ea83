/**
 * Items have bounds: a normal-but-huge entry is cut down at normalisation, so
 * that its message always fits on a queue and validates, instead of failing
 * its feed on every poll.
 */
import { describe, expect, it } from 'vitest';
import { ITEM_BOUNDS } from '../../shared/feeds/item.ts';
import { normaliseEntries } from '../../shared/feeds/normalise.ts';
import { parseFeed } from '../../shared/feeds/parse.ts';
import { encodeMessage, ItemMessageSchema } from '../../shared/messages.ts';

const FEED_URL = 'https://desk.example/feeds/world.xml';

function rss(items: string): string {
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>${items}</channel></rss>`;
}

async function normalise(xml: string) {
  return normaliseEntries('desk', FEED_URL, await parseFeed(xml, FEED_URL));
}

describe('normaliseEntries: bounds', () => {
  it('cuts a 1 MB title to the bound at a word, with an ellipsis', async () => {
    const { items } = await normalise(
      rss(`<item><guid>g-1</guid><title>${'Breaking '.repeat(120_000)}</title></item>`),
    );

    const title = items[0]?.title ?? '';
    expect(title.length).toBeLessThanOrEqual(ITEM_BOUNDS.titleChars);
    expect(title.length).toBeGreaterThan(ITEM_BOUNDS.titleChars - 20);
    expect(title).toMatch(/^(Breaking )+Breaking…$/);
  });

  it('never cuts a character in half, even with no space to cut at', async () => {
    const { items } = await normalise(
      rss(`<item><guid>g-1</guid><title>${'😀'.repeat(ITEM_BOUNDS.titleChars)}</title></item>`),
    );

    const title = items[0]?.title ?? '';
    expect(title.length).toBeLessThanOrEqual(ITEM_BOUNDS.titleChars);
    expect(title.endsWith('…')).toBe(true);
    expect(title.slice(0, -1)).toBe('😀'.repeat((title.length - 1) / 2));
    expect(title).not.toMatch(
      /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
    );
  });

  it('keeps a summary within its bound even when a longer one is asked for', async () => {
    const { items } = await normaliseEntries(
      'desk',
      FEED_URL,
      await parseFeed(
        rss(
          `<item><guid>g-1</guid><title>t</title><description>${'word '.repeat(10_000)}</description></item>`,
        ),
        FEED_URL,
      ),
      { maxSummaryLength: 1_000_000 },
    );

    const summary = items[0]?.summary ?? '';
    expect(summary.length).toBeLessThanOrEqual(ITEM_BOUNDS.summaryChars);
    expect(summary.endsWith('word…')).toBe(true);
  });

  it('keeps the sanitised HTML within its bound, cut between elements', async () => {
    const html = `<p>${'<a href="https://desk.example/x">link</a> and '.repeat(1_000)}</p>`;
    const { items } = await normalise(
      rss(
        `<item><guid>g-1</guid><title>t</title><description><![CDATA[${html}]]></description></item>`,
      ),
    );

    const summaryHtml = items[0]?.summaryHtml ?? '';
    expect(html.length).toBeGreaterThan(ITEM_BOUNDS.summaryHtmlChars);
    expect(summaryHtml.length).toBeLessThanOrEqual(ITEM_BOUNDS.summaryHtmlChars);
    expect(summaryHtml).toMatch(/^<p><a href="https:\/\/desk\.example\/x"[^>]*>link<\/a> and /);
    expect(summaryHtml.endsWith('</p>')).toBe(true);
  });

  it('keeps sanitised HTML within its bound as it was', async () => {
    const { items } = await normalise(
      rss(
        '<item><guid>g-1</guid><title>t</title><description><![CDATA[<p>Seoul <b>says</b></p>]]></description></item>',
      ),
    );

    expect(items[0]?.summaryHtml).toBe('<p>Seoul <b>says</b></p>');
  });

  it('drops a link longer than its bound, keeping the item under a stable id', async () => {
    const link = `https://desk.example/${'a'.repeat(ITEM_BOUNDS.linkChars)}`;
    const entry = rss(`<item><title>Long link</title><link>${link}</link></item>`);

    const first = await normalise(entry);
    const again = await normalise(entry);

    expect(first.items[0]?.link).toBeUndefined();
    expect(first.items[0]?.id).toMatch(/^h:[0-9a-f]{64}$/);
    expect(again.items[0]?.id).toBe(first.items[0]?.id);
  });

  it('gives items that always make a valid items-queue message', async () => {
    const { items } = await normalise(
      rss(
        `<item><guid>g-1</guid><title>${'T'.repeat(50_000)}</title><description>${'S'.repeat(50_000)}</description></item>`,
      ),
    );
    const item = items[0];
    if (item === undefined) throw new Error('expected an item');

    const message = encodeMessage(ItemMessageSchema, {
      type: 'item',
      version: 1,
      item,
      polledAt: '2026-03-05T12:00:00Z',
    });

    expect(message.item.title.length).toBe(ITEM_BOUNDS.titleChars);
  });

  it('refuses to queue an item over the bounds that came from elsewhere', () => {
    expect(() =>
      encodeMessage(ItemMessageSchema, {
        type: 'item',
        version: 1,
        item: { id: 'x', feed: 'desk', title: 'T'.repeat(ITEM_BOUNDS.titleChars + 1), summary: '' },
        polledAt: '2026-03-05T12:00:00Z',
      }),
    ).toThrow(/refusing to send an invalid message/);
  });
});
