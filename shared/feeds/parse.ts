/**
 * Parses an RSS 0.9x/2.0, RSS 1.0 (RDF), Atom 0.3/1.0 or JSON Feed 1.x
 * document into raw entries, with rss-parser's `parseString` doing the XML
 * work (after `prepareXml` has taken the DTD and stray entities out). Entries
 * keep the feed's own strings (HTML, relative links, date text);
 * `normalise.ts` turns them into items.
 */
import Parser from 'rss-parser';
import { utf16ByteOrder } from './charset.ts';
import { EntityExpansionError, prepareXml, withoutForbiddenCharacters } from './xml-prepare.ts';
import { XmlScopes } from './xml-scope.ts';

/** One entry of a feed as written in it, before normalisation. */
export interface RawEntry {
  /** RSS `guid` or Atom `id`, trimmed. */
  guid?: string;
  /** The entry's link as written (may be relative). */
  link?: string;
  /**
   * The `xml:base` values in scope of the link, outermost first, as written
   * (each may be relative to the one before); absent when there are none.
   */
  linkBase?: string[];
  /** Title; may hold HTML markup or entities. */
  title?: string;
  /** RSS `description` or Atom `summary`, as HTML. */
  summaryHtml?: string;
  /** The `xml:base` values in scope of the summary, like `linkBase`. */
  summaryBase?: string[];
  /** RSS `content:encoded` or Atom `content`, as HTML. */
  contentHtml?: string;
  /** The `xml:base` values in scope of the content, like `linkBase`. */
  contentBase?: string[];
  /** Publication date text (RSS `pubDate`, `dc:date`, Atom `published`). */
  published?: string;
  /** Atom `updated` (Atom 0.3 `modified`) text. */
  updated?: string;
  /** Language the entry declares (`dc:language`, `xml:lang`), as written. */
  language?: string;
}

/** A parsed feed document. */
export interface ParsedFeed {
  format: 'rss' | 'rdf' | 'atom' | 'json';
  title?: string;
  /** Language the feed declares (`language`, `dc:language`, `xml:lang`), as written. */
  language?: string;
  /** RSS `<ttl>`: minutes the feed may be cached before it is fetched again. */
  ttlMinutes?: number;
  /** RSS `<skipHours>`: hours (0-23, UTC) in which the feed asks not to be read. */
  skipHours?: number[];
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
const SHIELDED_ELEMENTS = new Set([
  'link',
  'published',
  'updated',
  'issued',
  'modified',
  'created',
]);
const SHIELD_PREFIX = 'wirewatch-raw-';
/** Added to each entry's tree node: the `xml:base` values in scope of the entry. */
const XML_BASE_KEY = 'wirewatch-xml-base';
/*
 * Element and attribute names become object keys in xml2js's tree: names that
 * are also Object.prototype members are renamed so that a feed can neither
 * replace a tree node's prototype nor shadow what rss-parser calls.
 */
const UNSAFE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype).concat(['prototype']));
const UNSAFE_PREFIX = 'wirewatch-unsafe-';
/** Core RSS element names, by lower case: some feeds (and iTunes) treat them case-insensitively. */
const RSS_CORE_NAMES = new Map(
  ['title', 'link', 'description', 'item', 'channel', 'guid', 'pubDate', 'language', 'ttl'].map(
    (name) => [name.toLowerCase(), name],
  ),
);

const ITEM_FIELDS = [
  ['$', 'rawAttributes', { keepArray: true }],
  [`${SHIELD_PREFIX}link`, 'rawLinks', { keepArray: true }],
  [`${SHIELD_PREFIX}published`, 'rawPublished', { keepArray: true }],
  [`${SHIELD_PREFIX}updated`, 'rawUpdated', { keepArray: true }],
  [`${SHIELD_PREFIX}issued`, 'rawIssued', { keepArray: true }],
  [`${SHIELD_PREFIX}modified`, 'rawModified', { keepArray: true }],
  [`${SHIELD_PREFIX}created`, 'rawCreated', { keepArray: true }],
  ['guid', 'rawGuid', { keepArray: true }],
  ['id', 'rawId', { keepArray: true }],
  ['media:title', 'rawMediaTitle', { keepArray: true }],
  [XML_BASE_KEY, 'rawXmlBase', { keepArray: true }],
  ['summary', 'rawSummary', { keepArray: true }],
  ['content', 'rawContent', { keepArray: true }],
  ['description', 'rawDescription', { keepArray: true }],
  ['content:encoded', 'rawContentEncoded', { keepArray: true }],
];

const FEED_FIELDS = [
  ['$', 'rawAttributes', { keepArray: true }],
  ['dc:language', 'rawDcLanguage', { keepArray: true }],
  ['ttl', 'rawTtl', { keepArray: true }],
  ['skipHours', 'rawSkipHours', { keepArray: true }],
];

/** The part of rss-parser's output read here; every value is untrusted. */
interface ParserOutput {
  title?: unknown;
  language?: unknown;
  rawAttributes?: unknown;
  rawDcLanguage?: unknown;
  rawTtl?: unknown;
  rawSkipHours?: unknown;
  items?: unknown;
}

/**
 * Parses `document` (already decoded to a string) fetched from `feedUrl`:
 * JSON Feed when it is a JSON object, else XML.
 *
 * @throws FeedParseError when the document is not well-formed, not a feed, or
 *   declares entities beyond the expansion limits.
 */
export async function parseFeed(document: string, feedUrl: string): Promise<ParsedFeed> {
  if (/^[\uFEFF\s]*\{/.test(document)) return parseJsonFeed(document, feedUrl);
  // Checked before `prepareXml` removes NULs, which would garble such a document.
  const head = Array.from(document.slice(0, 64), (char) => char.charCodeAt(0));
  if (utf16ByteOrder(head) !== undefined) {
    throw new FeedParseError(
      feedUrl,
      'the document is not UTF-8 text (UTF-16 read as UTF-8: no byte-order mark or declaration said so?)',
    );
  }

  let xml: string;
  try {
    xml = prepareXml(document);
  } catch (error) {
    if (error instanceof EntityExpansionError) {
      throw new FeedParseError(feedUrl, error.message, { cause: error });
    }
    throw error;
  }
  let rootElement: string | undefined;
  let root: string | undefined;
  const scopes = new XmlScopes();
  const safeName = (name: string): string =>
    UNSAFE_NAMES.has(name) ? `${UNSAFE_PREFIX}${name}` : name;
  const parser = new Parser({
    defaultRSS: 2,
    xml2js: {
      // xml2js hands an element's attributes over before its name, and calls
      // the validator at its end tag: enough to track namespaces and xml:base.
      attrValueProcessors: [
        (value: string, name: string) => {
          scopes.attribute(name, value);
          return value;
        },
      ],
      tagNameProcessors: [
        (written: string) => {
          rootElement ??= written;
          const read = scopes.open(written);
          root ??= read;
          const name = RSS_CORE_NAMES.get(read.toLowerCase()) ?? read;
          return SHIELDED_ELEMENTS.has(name) ? `${SHIELD_PREFIX}${name}` : safeName(name);
        },
      ],
      attrNameProcessors: [safeName],
      validator: (xpath: string, _previous: unknown, node: unknown) => {
        const bases = scopes.bases();
        scopes.close();
        return completeNode(xpath, node, bases);
      },
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
    throw new FeedParseError(
      feedUrl,
      explainParseFailure(error, xml, rootElement, root, scopes.rootNamespace),
      { cause: error },
    );
  }

  const format = feedFormat(root);
  if (format === undefined) {
    throw new FeedParseError(feedUrl, notAFeed(rootElement, scopes.rootNamespace));
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
      ttlMinutes: positiveNumber(text(first(output.rawTtl))),
      skipHours: skipHours(first(output.rawSkipHours)),
    }),
    entries: entries.map((entry) => readEntry(format, asRecord(entry) ?? {})),
  };
}

/**
 * Fills in what rss-parser needs and cannot do without, as each element ends:
 * an `<rss>` with no `<channel>` reads as one holding the root's items (as
 * feedparser reads it), an RDF root with none as an empty channel; and each
 * entry gets the `xml:base` values in scope.
 */
function completeNode(xpath: string, node: unknown, bases: readonly string[]): unknown {
  const name = xpath.slice(xpath.lastIndexOf('/') + 1);
  const record = asRecord(node);
  if (xpath === '/rss' || xpath === '/rdf:RDF') {
    const element = record ?? {};
    if (element.channel === undefined) {
      element.channel = [
        xpath === '/rss' && element.item !== undefined ? { item: element.item } : {},
      ];
    }
    return element;
  }
  if (record !== undefined && (name === 'item' || name === 'entry')) {
    if (bases.length > 0) record[XML_BASE_KEY] = [...bases];
    else delete record[XML_BASE_KEY];
  }
  return node;
}

function readEntry(format: 'rss' | 'rdf' | 'atom', item: Record<string, unknown>): RawEntry {
  const attributes = asRecord(item.rawAttributes);
  const guidElement = format === 'atom' ? first(item.rawId) : first(item.rawGuid);
  const guid = text(guidElement);
  const chosenLink = entryLink(item.rawLinks);
  const link = chosenLink?.href ?? permalinkGuid(guidElement, guid);
  const entryBases = Array.isArray(item.rawXmlBase)
    ? item.rawXmlBase.filter((base): base is string => typeof base === 'string')
    : [];
  const summaryElement = first(format === 'atom' ? item.rawSummary : item.rawDescription);
  const contentElement = first(format === 'atom' ? item.rawContent : item.rawContentEncoded);

  return definedOnly({
    guid,
    link,
    linkBase: chosenLink === undefined ? undefined : basesOf(entryBases, chosenLink.element),
    title: text(item.title) ?? text(first(item.rawMediaTitle)),
    summaryHtml: format === 'atom' ? text(item.summary) : text(item.content),
    summaryBase: basesOf(entryBases, summaryElement),
    contentHtml: format === 'atom' ? text(item.content) : text(item['content:encoded']),
    contentBase: basesOf(entryBases, contentElement),
    published:
      text(first(item.rawPublished)) ??
      text(first(item.rawIssued)) ??
      text(item.pubDate) ??
      text(item.date) ??
      text(first(item.rawCreated)),
    updated: text(first(item.rawUpdated)) ?? text(first(item.rawModified)),
    language: text(item.language) ?? text(attributes?.['xml:lang']),
  });
}

/**
 * The `xml:base` values in scope of an element of an entry: the entry's, then
 * the element's own; `undefined` when there are none.
 */
function basesOf(entryBases: string[], element: unknown): string[] | undefined {
  const own = asRecord(asRecord(element)?.$)?.['xml:base'];
  const bases = typeof own === 'string' ? [...entryBases, own] : entryBases;
  return bases.length > 0 ? bases : undefined;
}

/**
 * Picks the entry's link: the Atom `alternate` link (HTML first), else the first
 * Atom link with an `href`, else the RSS `<link>` text; with its element.
 */
function entryLink(rawLinks: unknown): { href: string; element: unknown } | undefined {
  if (!Array.isArray(rawLinks)) return undefined;
  const atomLinks: { href: string; rel: string; type: string; element: unknown }[] = [];
  for (const raw of rawLinks) {
    const attributes = asRecord(asRecord(raw)?.$);
    const href = text(attributes?.href);
    if (href !== undefined) {
      atomLinks.push({
        href,
        rel: text(attributes?.rel) ?? 'alternate',
        type: text(attributes?.type) ?? '',
        element: raw,
      });
    }
  }
  const alternates = atomLinks.filter((link) => link.rel === 'alternate');
  const preferred =
    alternates.find((link) => link.type === '' || link.type.includes('html')) ??
    alternates[0] ??
    atomLinks[0];
  if (preferred !== undefined) return preferred;
  for (const raw of rawLinks) {
    const href = text(raw);
    if (href !== undefined) return { href, element: raw };
  }
  return undefined;
}

/** An RSS `guid` is the item's permalink unless it says `isPermaLink="false"`. */
function permalinkGuid(guidElement: unknown, guid: string | undefined): string | undefined {
  if (guid === undefined || !/^https?:\/\//i.test(guid)) return undefined;
  const isPermaLink = text(asRecord(asRecord(guidElement)?.$)?.isPermaLink);
  return isPermaLink?.toLowerCase() === 'false' ? undefined : guid;
}

function feedFormat(rootElement: string | undefined): 'rss' | 'rdf' | 'atom' | undefined {
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

/** Why a document whose root element is not a feed's is not read, naming the root. */
function notAFeed(rootElement: string | undefined, namespace: string | undefined): string {
  const where = namespace === undefined || namespace === '' ? '' : ` in namespace ${namespace}`;
  return `not an RSS or Atom feed (root element <${rootElement}>${where})`;
}

function explainParseFailure(
  error: unknown,
  xml: string,
  rootElement: string | undefined,
  root: string | undefined,
  rootNamespace: string | undefined,
): string {
  if (xml.trim() === '') return 'the document is empty';
  if (rootElement === undefined) return 'no XML root element found';
  if (feedFormat(root) === undefined) return notAFeed(rootElement, rootNamespace);
  const detail = (error instanceof Error ? error.message : String(error))
    .replace(/\s+/g, ' ')
    .replace(/ ?Char: ?$/, '')
    .trim();
  // sax reports well-formedness errors with a position; anything else came from
  // reading a tree that lacks what the format needs.
  if (/\bLine: \d+/.test(detail)) return `not well-formed XML: ${detail}`;
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

function positiveNumber(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The `<hour>` values of a `<skipHours>` element that are whole hours 0-23. */
function skipHours(element: unknown): number[] | undefined {
  const hours = asRecord(element)?.hour;
  if (!Array.isArray(hours)) return undefined;
  const valid = hours
    .map((h) => Number(text(h)))
    .filter((h) => Number.isInteger(h) && h >= 0 && h <= 23);
  return valid.length > 0 ? [...new Set(valid)].sort((a, b) => a - b) : undefined;
}

/** Parses a JSON Feed 1.0/1.1 document (https://jsonfeed.org/version/1.1). */
function parseJsonFeed(document: string, feedUrl: string): ParsedFeed {
  let root: unknown;
  try {
    // Keys such as "__proto__" become own properties of plain objects: harmless.
    root = JSON.parse(withoutForbiddenCharacters(document).replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new FeedParseError(
      feedUrl,
      `not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const feed = asRecord(root);
  const version = feed === undefined ? undefined : ownString(feed, 'version');
  if (
    feed === undefined ||
    version === undefined ||
    !/^https?:\/\/jsonfeed\.org\/version\/1/.test(version)
  ) {
    throw new FeedParseError(
      feedUrl,
      'a JSON document that is not a JSON Feed (no jsonfeed.org version)',
    );
  }
  const rawItems = Object.hasOwn(feed, 'items') ? feed.items : undefined;
  if (!Array.isArray(rawItems)) {
    throw new FeedParseError(feedUrl, 'the JSON Feed has no items array');
  }
  return {
    format: 'json',
    ...definedOnly({ title: ownString(feed, 'title'), language: ownString(feed, 'language') }),
    entries: rawItems.map((raw) => {
      const item = asRecord(raw) ?? {};
      const id = item.id;
      return definedOnly({
        guid: typeof id === 'number' ? String(id) : ownString(item, 'id'),
        link: ownString(item, 'url') ?? ownString(item, 'external_url'),
        title: ownString(item, 'title'),
        summaryHtml: ownString(item, 'summary'),
        contentHtml: ownString(item, 'content_html') ?? escapeHtml(ownString(item, 'content_text')),
        published: ownString(item, 'date_published'),
        updated: ownString(item, 'date_modified'),
        language: ownString(item, 'language'),
      });
    }),
  };
}

function ownString(record: Record<string, unknown>, key: string): string | undefined {
  if (!Object.hasOwn(record, key)) return undefined;
  const value = record[key];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Plain text as HTML, so that `content_text` goes through the same HTML-to-text path. */
function escapeHtml(value: string | undefined): string | undefined {
  return value?.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
