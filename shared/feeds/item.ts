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
