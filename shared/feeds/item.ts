import { SANITIZED_HTML_MAX_CHARS } from './sanitize-html.ts';

/**
 * An `Item` is one entry of one feed after normalisation: plain text, canonical
 * link, UTC date and an id that stays the same every time the feed is polled.
 */
export interface Item {
  /** Stable id of the entry within its feed (guid, else canonical link, else content hash). */
  id: string;
  /** Id of the feed (from the config) the item was read from. */
  feed: string;
  /** Plain-text title (HTML stripped, entities decoded, whitespace collapsed). */
  title: string;
  /** Plain-text summary or content. */
  summary: string;
  /**
   * The summary's HTML after sanitising (allow-listed tags and attributes only:
   * no scripts, event handlers, forms, remote images or `javascript:` links),
   * when the feed gave HTML. Rendered only in email.
   */
  summaryHtml?: string;
  /** Canonical absolute link, tracking parameters removed. */
  link?: string;
  /** Publication time as ISO 8601 UTC, when the feed gave a usable one. */
  published?: string;
  /** Language code (`en`, `ko`, ...) when the feed or entry declares one. */
  lang?: string;
}

/**
 * The longest an item's fields may be, in characters (UTF-16 code units).
 * Normalisation cuts text to them and drops a longer link, so that
 * every item makes a queue message well under SQS's 256 KiB, and the items
 * queue's schema refuses anything longer.
 */
export const ITEM_BOUNDS = {
  titleChars: 1_000,
  summaryChars: 20_000,
  /** The sanitiser's own bound: it cuts between elements, so no tag is left open. */
  summaryHtmlChars: SANITIZED_HTML_MAX_CHARS,
  linkChars: 8_192,
} as const;
