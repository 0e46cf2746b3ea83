/**
 * Turns the raw entries of a parsed feed into `Item`s: plain text, canonical
 * absolute links, UTC dates and an id that is the same on every poll.
 */
import { createHash } from 'node:crypto';
import { canonicaliseUrl, resolveXmlBase } from './canonical-url.ts';
import { collapseWhitespace, htmlToText } from './html-text.ts';
import { ITEM_BOUNDS, type Item } from './item.ts';
import type { ParsedFeed, RawEntry } from './parse.ts';
import { hasMeaningfulMarkup, sanitizeFeedHtml } from './sanitize-html.ts';

/** An entry that produced no item, and why. */
export interface SkippedEntry {
  /** Position of the entry in the feed document, from 0. */
  index: number;
  reason: string;
}

export interface NormaliseResult {
  items: Item[];
  skipped: SkippedEntry[];
}

export interface NormaliseOptions {
  /**
   * Longest summary kept, in characters; longer ones are cut at a word
   * boundary. Default 4000; never more than `ITEM_BOUNDS.summaryChars`.
   */
  maxSummaryLength?: number;
}

const DEFAULT_MAX_SUMMARY_LENGTH = 4000;

/*
 * Ids become DynamoDB sort keys (at most 1024 bytes); a guid longer than this is
 * replaced by its hash, which is just as stable.
 */
const MAX_ID_LENGTH = 512;

/**
 * Normalises every entry of `parsed`. An entry that cannot be normalised is
 * reported in `skipped` and never affects the others. Two entries with the same
 * id in one document yield one item: the first.
 *
 * @param feedId id of the feed in the config, stored on every item.
 * @param feedUrl URL the document was fetched from (or its `Content-Location`):
 *   relative links resolve against it and the `xml:base` values in scope.
 */
export function normaliseEntries(
  feedId: string,
  feedUrl: string,
  parsed: ParsedFeed,
  options: NormaliseOptions = {},
): NormaliseResult {
  const maxSummaryLength = Math.min(
    options.maxSummaryLength ?? DEFAULT_MAX_SUMMARY_LENGTH,
    ITEM_BOUNDS.summaryChars,
  );
  const feedLang = normaliseLanguage(parsed.language);
  const items: Item[] = [];
  const skipped: SkippedEntry[] = [];
  const seenIds = new Set<string>();

  parsed.entries.forEach((entry, index) => {
    let item: Item | undefined;
    try {
      item = normaliseEntry(feedId, feedUrl, entry, feedLang, maxSummaryLength);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      skipped.push({ index, reason: `entry could not be normalised: ${message}` });
      return;
    }
    if (item === undefined) {
      skipped.push({ index, reason: 'entry has no title, summary or link' });
    } else if (seenIds.has(item.id)) {
      skipped.push({ index, reason: `duplicate id ${item.id} in the same document` });
    } else {
      seenIds.add(item.id);
      items.push(item);
    }
  });
  return { items, skipped };
}

function normaliseEntry(
  feedId: string,
  feedUrl: string,
  entry: RawEntry,
  feedLang: string | undefined,
  maxSummaryLength: number,
): Item | undefined {
  const title = truncate(htmlToText(entry.title ?? ''), ITEM_BOUNDS.titleChars);
  const summaryText = htmlToText(entry.summaryHtml ?? '');
  const summaryFromContent = summaryText === '';
  const summarySource = summaryFromContent ? entry.contentHtml : entry.summaryHtml;
  const summaryBase = summaryFromContent ? entry.contentBase : entry.summaryBase;
  const summary = truncate(
    summaryText === '' ? htmlToText(entry.contentHtml ?? '') : summaryText,
    maxSummaryLength,
  );
  const canonicalLink =
    entry.link === undefined
      ? undefined
      : canonicaliseUrl(entry.link, resolveXmlBase(entry.linkBase, feedUrl));
  // A link cut short would lead nowhere: one over the bound is dropped (such
  // links are not real ones), and the item keeps the id it would have had.
  const link =
    canonicalLink !== undefined && canonicalLink.length <= ITEM_BOUNDS.linkChars
      ? canonicalLink
      : undefined;
  if (title === '' && summary === '' && canonicalLink === undefined) return undefined;

  const item: Item = {
    id: itemId(entry.guid, canonicalLink, title, summary),
    feed: feedId,
    title,
    summary,
  };
  const published = parseFeedDate(entry.published) ?? parseFeedDate(entry.updated);
  const lang = normaliseLanguage(entry.language) ?? feedLang;
  // Relative links in the summary resolve against the xml:base in scope, and
  // without one against the item's link, which is where the summary is read.
  const summaryHtml = summaryHtmlOf(
    summarySource,
    summaryBase === undefined ? (link ?? feedUrl) : resolveXmlBase(summaryBase, feedUrl),
  );
  if (summaryHtml !== undefined) item.summaryHtml = summaryHtml;
  if (link !== undefined) item.link = link;
  if (published !== undefined) item.published = published;
  if (lang !== undefined) item.lang = lang;
  return item;
}

/**
 * The sanitised HTML of the summary, when the feed gave markup worth keeping
 * (links, lists, emphasis, paragraphs); plain text gets none, since the
 * escaped plain summary renders the same. The sanitiser keeps it within
 * `ITEM_BOUNDS.summaryHtmlChars`, cutting between elements.
 */
function summaryHtmlOf(html: string | undefined, baseUrl: string): string | undefined {
  if (html === undefined || !/<[a-z]/i.test(html)) return undefined;
  const sanitized = sanitizeFeedHtml(html, baseUrl);
  return hasMeaningfulMarkup(sanitized) ? sanitized : undefined;
}

/**
 * The item's stable id: the guid, else the canonical link, else `h:` and the
 * SHA-256 of the lower-cased title and summary.
 */
export function itemId(
  guid: string | undefined,
  canonicalLink: string | undefined,
  title: string,
  summary: string,
): string {
  const fromFeed = collapseWhitespace(guid ?? '') || canonicalLink;
  if (fromFeed !== undefined && fromFeed !== '') {
    return fromFeed.length <= MAX_ID_LENGTH ? fromFeed : `h:${sha256(fromFeed)}`;
  }
  return `h:${sha256(`${title.toLowerCase()}\n${summary.toLowerCase()}`)}`;
}

/**
 * A second identity for items that have a link: the canonical link and the
 * title. Some publishers regenerate guids on every build; an item whose guid
 * changed while its link and title stayed the same is the same item, and the
 * poller uses this key to send it only once.
 */
export function contentKey(item: Pick<Item, 'link' | 'title'>): string | undefined {
  if (item.link === undefined) return undefined;
  return `lt:${sha256(`${item.link}\n${item.title.toLowerCase()}`)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * `text` cut to at most `max` characters with an ellipsis, at the last space
 * when there is one in the second half, and never between the two halves of a
 * surrogate pair.
 */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const lastSpace = cut.lastIndexOf(' ');
  if (lastSpace > max / 2) cut = cut.slice(0, lastSpace);
  else if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Primary language subtag of a declared language (`en-US` → `en`), or
 * `undefined` when the value is not a language tag.
 */
export function normaliseLanguage(declared: string | undefined): string | undefined {
  const match = /^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$/i.exec(declared?.trim() ?? '');
  return match?.[1]?.toLowerCase();
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** UTC offsets, in minutes, of the zone names RFC 822 allows. */
const ZONE_OFFSETS = new Map<string, number>([
  ['Z', 0],
  ['UT', 0],
  ['UTC', 0],
  ['GMT', 0],
  ['EST', -300],
  ['EDT', -240],
  ['CST', -360],
  ['CDT', -300],
  ['MST', -420],
  ['MDT', -360],
  ['PST', -480],
  ['PDT', -420],
]);

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

const RFC_822_DATE =
  /^(?:[a-z]{3,9}\.?,?\s+)?(\d{1,2})[\s-]+([a-z]{3,9})\.?[\s-]+(\d{2}|\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([a-z]{1,5}|[+-]\d{2}:?\d{2})?\s*(?:\([^)]*\))?$/i;

/**
 * Parses a feed date (ISO 8601 / RFC 3339, or RFC 822 / RFC 2822 as RSS uses)
 * into ISO 8601 UTC, or `undefined` when it cannot be read with certainty.
 * A date with no zone is taken as UTC, so that the result never depends on the
 * machine's time zone; an unknown zone name makes the date unusable.
 */
export function parseFeedDate(value: string | undefined): string | undefined {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;

  const iso = ISO_DATE.exec(text);
  if (iso !== null) {
    const [, year, month, day, hour, minute, second, fraction, zone] = iso;
    return utcDate({
      year: Number(year),
      month: Number(month),
      day: Number(day),
      hour: Number(hour ?? 0),
      minute: Number(minute ?? 0),
      second: Number(second ?? 0),
      millisecond: Math.floor(Number(`0.${fraction ?? '0'}`) * 1000),
      offsetMinutes: zoneOffset(zone),
    });
  }

  const rfc = RFC_822_DATE.exec(text);
  if (rfc !== null) {
    const [, day, monthName, year, hour, minute, second, zone] = rfc;
    const monthIndex = MONTHS.indexOf(monthName?.slice(0, 3).toLowerCase() ?? '');
    if (monthIndex === -1) return undefined;
    let fullYear = Number(year);
    if (year?.length === 2) fullYear += fullYear < 50 ? 2000 : 1900;
    return utcDate({
      year: fullYear,
      month: monthIndex + 1,
      day: Number(day),
      hour: Number(hour),
      minute: Number(minute),
      second: Number(second ?? 0),
      millisecond: 0,
      offsetMinutes: zoneOffset(zone),
    });
  }
  return undefined;
}

function zoneOffset(zone: string | undefined): number | undefined {
  if (zone === undefined) return 0;
  const named = ZONE_OFFSETS.get(zone.toUpperCase());
  if (named !== undefined) return named;
  const numeric = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (numeric === null) return undefined;
  const [, sign, hours, minutes] = numeric;
  const offset = Number(hours) * 60 + Number(minutes ?? 0);
  return sign === '-' ? -offset : offset;
}

interface DateParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  offsetMinutes: number | undefined;
}

function utcDate(parts: DateParts): string | undefined {
  const { year, month, day, hour, minute, millisecond, offsetMinutes } = parts;
  if (offsetMinutes === undefined || Math.abs(offsetMinutes) > 18 * 60) return undefined;
  // A leap second (:60) is read as the last second of the minute.
  const second = Math.min(parts.second, 59);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millisecond));
  // Date.UTC rolls 31 February over into March and maps years 0-99 to 19xx:
  // such dates are invalid, not silently different.
  if (
    local.getUTCFullYear() !== year ||
    local.getUTCMonth() !== month - 1 ||
    local.getUTCDate() !== day
  ) {
    return undefined;
  }
  return new Date(local.getTime() - offsetMinutes * 60_000).toISOString();
}
