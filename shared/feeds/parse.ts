/**
 * Parses an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom document into raw entries, with
 * rss-parser's `parseString` doing the XML work. Entries keep the feed's own
 * strings (HTML, relative links, date text); `normalise.ts` turns them into items.
 */
import Parser from 'rss-parser';

/** One entry of a feed as written in it, before normalisation. */
export interface RawEntry {
  /** RSS `guid` or Atom `id`, trimmed. */
  guid?: string;
  /** The entry's link as written (may be relative). */
  link?: string;
  /** Title; may hold HTML markup or entities. */
  title?: string;
  /** RSS `description` or Atom `summary`, as HTML. */
  summaryHtml?: string;
  /** RSS `content:encoded` or Atom `content`, as HTML. */
  contentHtml?: string;
  /** Publication date text (RSS `pubDate`, `dc:date`, Atom `published`). */
  published?: string;
  /** Atom `updated` text. */
  updated?: string;
  /** Language the entry declares (`dc:language`, `xml:lang`), as written. */
  language?: string;
}

/** A parsed feed document. */
export interface ParsedFeed {
  format: 'rss' | 'rdf' | 'atom';
  title?: string;
  /** Language the feed declares (`language`, `dc:language`, `xml:lang`), as written. */
  language?: string;
  entries: RawEntry[];
}

/** The document could not be read as a feed; names the feed and says why. */
export class FeedParseError extends Error {
  override readonly name = 'FeedParseError';
  readonly kind = 'parse';

  constructor(
    readonly feedUrl: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Could not parse feed ${feedUrl}: ${reason}`, options);
  }
}

/*
 * rss-parser turns these elements into dates and links itself and throws on
 * odd values (an unparseable Atom date, an Atom link without attributes), which
 * would reject the whole feed for one bad entry. Renaming them while xml2js
 * builds the tree hides them from rss-parser; they come back as raw custom fields.
 */
const SHIELDED_ELEMENTS = new Set(['link', 'published', 'updated']);
const SHIELD_PREFIX = 'wirewatch-raw-';

const ITEM_FIELDS = [
  ['$', 'rawAttributes', { keepArray: true }],
  [`${SHIELD_PREFIX}link`, 'rawLinks', { keepArray: true }],
  [`${SHIELD_PREFIX}published`, 'rawPublished', { keepArray: true }],
  [`${SHIELD_PREFIX}updated`, 'rawUpdated', { keepArray: true }],
  ['guid', 'rawGuid', { keepArray: true }],
  ['id', 'rawId', { keepArray: true }],
];

const FEED_FIELDS = [
  ['$', 'rawAttributes', { keepArray: true }],
  ['dc:language', 'rawDcLanguage', { keepArray: true }],
];

/** The part of rss-parser's output read here; every value is untrusted. */
interface ParserOutput {
  title?: unknown;
  language?: unknown;
  rawAttributes?: unknown;
  rawDcLanguage?: unknown;
  items?: unknown;
}

/**
 * Parses `xml` (already decoded to a string) fetched from `feedUrl`.
 *
 * @throws FeedParseError when the document is not well-formed XML or not an
 *   RSS, RDF or Atom feed.
 */
export async function parseFeed(xml: string, feedUrl: string): Promise<ParsedFeed> {
  let rootElement: string | undefined;
  const parser = new Parser({
    defaultRSS: 2,
    xml2js: {
      tagNameProcessors: [
        (name: string) => {
          rootElement ??= name;
          return SHIELDED_ELEMENTS.has(name) ? `${SHIELD_PREFIX}${name}` : name;
        },
      ],
    },
    // rss-parser's typings only allow plain key names; the JS accepts these tuples.
    customFields: { item: ITEM_FIELDS, feed: FEED_FIELDS } as unknown as Parser.CustomFields<
      Record<string, unknown>,
      Record<string, unknown>
    >,
  });

  let output: ParserOutput;
  try {
    output = await parser.parseString(xml);
  } catch (error) {
    throw new FeedParseError(feedUrl, explainParseFailure(error, xml, rootElement), {
      cause: error,
    });
  }

  const format = feedFormat(rootElement);
  if (format === undefined) {
    throw new FeedParseError(feedUrl, `not an RSS or Atom feed (root element <${rootElement}>)`);
  }
  const feedAttributes = asRecord(output.rawAttributes);
  const entries = Array.isArray(output.items) ? output.items : [];
  return {
    format,
    ...definedOnly({
      title: text(output.title),
      language:
        text(output.language) ??
        text(first(output.rawDcLanguage)) ??
        text(feedAttributes?.['xml:lang']),
    }),
    entries: entries.map((entry) => readEntry(format, asRecord(entry) ?? {})),
  };
}

function readEntry(format: ParsedFeed['format'], item: Record<string, unknown>): RawEntry {
  const attributes = asRecord(item.rawAttributes);
  const guidElement = format === 'atom' ? first(item.rawId) : first(item.rawGuid);
  const guid = text(guidElement);
  const link = entryLink(item.rawLinks) ?? permalinkGuid(guidElement, guid);

  return definedOnly({
    guid,
    link,
    title: text(item.title),
    summaryHtml: format === 'atom' ? text(item.summary) : text(item.content),
    contentHtml: format === 'atom' ? text(item.content) : text(item['content:encoded']),
    published: text(first(item.rawPublished)) ?? text(item.pubDate) ?? text(item.date),
    updated: text(first(item.rawUpdated)),
    language: text(item.language) ?? text(attributes?.['xml:lang']),
  });
}

/**
 * Picks the entry's link: the Atom `alternate` link (HTML first), else the first
 * Atom link with an `href`, else the RSS `<link>` text.
 */
function entryLink(rawLinks: unknown): string | undefined {
  if (!Array.isArray(rawLinks)) return undefined;
  const atomLinks: { href: string; rel: string; type: string }[] = [];
  for (const raw of rawLinks) {
    const attributes = asRecord(asRecord(raw)?.$);
    const href = text(attributes?.href);
    if (href !== undefined) {
      atomLinks.push({
        href,
        rel: text(attributes?.rel) ?? 'alternate',
        type: text(attributes?.type) ?? '',
      });
    }
  }
  const alternates = atomLinks.filter((link) => link.rel === 'alternate');
  const preferred =
    alternates.find((link) => link.type === '' || link.type.includes('html')) ??
    alternates[0] ??
    atomLinks[0];
  if (preferred !== undefined) return preferred.href;
  for (const raw of rawLinks) {
    const href = text(raw);
    if (href !== undefined) return href;
  }
  return undefined;
}

/** An RSS `guid` is the item's permalink unless it says `isPermaLink="false"`. */
function permalinkGuid(guidElement: unknown, guid: string | undefined): string | undefined {
  if (guid === undefined || !/^https?:\/\//i.test(guid)) return undefined;
  const isPermaLink = text(asRecord(asRecord(guidElement)?.$)?.isPermaLink);
  return isPermaLink?.toLowerCase() === 'false' ? undefined : guid;
}

function feedFormat(rootElement: string | undefined): ParsedFeed['format'] | undefined {
  switch (rootElement) {
    case 'rss':
      return 'rss';
    case 'rdf:RDF':
      return 'rdf';
    case 'feed':
      return 'atom';
    default:
      return undefined;
  }
}

function explainParseFailure(error: unknown, xml: string, rootElement: string | undefined): string {
  if (xml.trim() === '') return 'the document is empty';
  if (xml.includes('\u0000')) {
    return 'the document is not UTF-8 text (UTF-16, UTF-32 or compressed bytes?)';
  }
  if (rootElement === undefined) return 'no XML root element found';
  const format = feedFormat(rootElement);
  if (format === undefined) return `not an RSS or Atom feed (root element <${rootElement}>)`;
  const detail = (error instanceof Error ? error.message : String(error))
    .replace(/\s+/g, ' ')
    .replace(/ ?Char: ?$/, '')
    .trim();
  // sax reports well-formedness errors with a position; anything else came from
  // reading a tree that lacks what the format needs.
  if (/\bLine: \d+/.test(detail)) return `not well-formed XML: ${detail}`;
  if (format !== 'atom' && !/<(?:[\w.-]+:)?channel[\s/>]/.test(xml)) {
    return `the <${rootElement}> element has no <channel> element`;
  }
  return `unreadable <${rootElement}> document: ${detail}`;
}

/** The text of an xml2js value: a string, or the character content of an element. */
function text(value: unknown): string | undefined {
  const raw = typeof value === 'string' ? value : asRecord(value)?._;
  if (typeof raw !== 'string') return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Drops `undefined` members so that records carry only what the feed gave. */
function definedOnly<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}
