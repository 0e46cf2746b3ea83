/**
 * What the XML tree builder does not track: which namespace each element is
 * in, and which `xml:base` values are in scope. `parse.ts` feeds it every
 * attribute and every start and end tag as xml2js sees them, and reads
 * elements by namespace (`<a:feed xmlns:a="http://www.w3.org/2005/Atom">` is
 * an Atom feed; `atom10:link` in an RSS item is `atom:link`) instead of by the
 * prefix a publisher happened to choose.
 */

const ATOM_10 = 'http://www.w3.org/2005/Atom';
const ATOM_03 = 'http://purl.org/atom/ns#';
const RSS_10 = 'http://purl.org/rss/1.0/';
const RSS_090 = 'http://my.netscape.com/rdf/simple/0.9/';
const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';

/** The namespaces of the feed formats themselves. */
const FORMAT_NAMESPACES = [
  ATOM_10,
  ATOM_03,
  RSS_10,
  RSS_090,
  'http://backend.userland.com/rss2',
  'http://backend.userland.com/rss',
];

/**
 * Namespaces read under a fixed prefix whatever prefix the document declares:
 * the names `parse.ts` asks rss-parser for are written with these.
 */
const CANONICAL_PREFIXES = new Map([
  [RDF, 'rdf'],
  [ATOM_10, 'atom'],
  [ATOM_03, 'atom'],
  ['http://purl.org/dc/elements/1.1/', 'dc'],
  ['http://purl.org/rss/1.0/modules/content/', 'content'],
  ['http://search.yahoo.com/mrss/', 'media'],
]);

/**
 * `xmlns:p="..."` declarations that bind a prefix to a feed format namespace,
 * anywhere in a document (found before parsing, for `prepareXml`).
 */
const FORMAT_PREFIX_DECLARATION = new RegExp(
  String.raw`\bxmlns:([A-Za-z_][\w.-]*)\s*=\s*["'](?:${FORMAT_NAMESPACES.map((uri) =>
    uri.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'),
  ).join('|')})["']`,
  'g',
);

/** Prefixes other than `atom` that a document binds to a feed format namespace. */
export function formatPrefixes(xml: string): string[] {
  const prefixes = new Set<string>();
  for (const match of xml.matchAll(FORMAT_PREFIX_DECLARATION)) {
    if (match[1] !== undefined && match[1] !== 'atom') prefixes.add(match[1]);
  }
  return [...prefixes];
}

interface Scope {
  /** Prefix (`''` for the default namespace) → namespace URI. */
  namespaces: ReadonlyMap<string, string>;
  /** `xml:base` values in scope, outermost first, as written. */
  bases: readonly string[];
}

const EMPTY_SCOPE: Scope = { namespaces: new Map(), bases: [] };

/**
 * Tracks namespace declarations and `xml:base` through one parse. Call
 * `attribute` for each attribute of an element, then `open` with its name,
 * and `close` at its end tag; xml2js calls its attribute processors before its
 * tag name processors, and its validator at every end tag.
 */
export class XmlScopes {
  private readonly stack: Scope[] = [];
  private pendingNamespaces: Map<string, string> | undefined;
  private pendingBase: string | undefined;
  /** Namespaces whose elements are read by their local name: the root's format. */
  private formatNamespaces: ReadonlySet<string> = new Set();
  /** Namespace URI of the root element, once it is open. */
  rootNamespace: string | undefined;

  /** Records an attribute of the element about to open. */
  attribute(name: string, value: string): void {
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      this.pendingNamespaces ??= new Map();
      this.pendingNamespaces.set(name === 'xmlns' ? '' : name.slice('xmlns:'.length), value);
    } else if (name === 'xml:base') {
      this.pendingBase = value;
    }
  }

  /** Opens the element written `name`; returns the name it is read by. */
  open(name: string): string {
    const parent = this.stack.at(-1) ?? EMPTY_SCOPE;
    let namespaces = parent.namespaces;
    if (this.pendingNamespaces !== undefined) {
      namespaces = new Map([...parent.namespaces, ...this.pendingNamespaces]);
    }
    const bases =
      this.pendingBase === undefined ? parent.bases : [...parent.bases, this.pendingBase];
    this.pendingNamespaces = undefined;
    this.pendingBase = undefined;
    this.stack.push({ namespaces, bases });

    const colon = name.indexOf(':');
    const prefix = colon === -1 ? '' : name.slice(0, colon);
    const local = colon === -1 ? name : name.slice(colon + 1);
    const uri = namespaces.get(prefix);
    if (this.stack.length === 1) this.startRoot(uri);
    if (uri === undefined || uri === '') return name;
    if (this.formatNamespaces.has(uri)) return local;
    const canonical = CANONICAL_PREFIXES.get(uri);
    return canonical === undefined ? name : `${canonical}:${local}`;
  }

  /** The `xml:base` values in scope of the element about to close, outermost first. */
  bases(): readonly string[] {
    return this.stack.at(-1)?.bases ?? [];
  }

  /** Closes the innermost open element. */
  close(): void {
    this.stack.pop();
  }

  private startRoot(uri: string | undefined): void {
    this.rootNamespace = uri;
    if (uri === RDF) this.formatNamespaces = new Set([RSS_10, RSS_090]);
    else if (uri !== undefined && FORMAT_NAMESPACES.includes(uri)) {
      this.formatNamespaces = new Set([uri]);
    }
  }
}
