/**
 * Makes a feed document safe and palatable for a strict XML parser before it
 * sees it:
 * - the DOCTYPE is removed, so no DTD or external entity is ever fetched;
 *   internal entities it declares are expanded here, within a budget, so an
 *   entity bomb ("billion laughs") fails fast instead of eating memory;
 * - HTML named entities (`&eacute;`, which feeds use without declaring them)
 *   become numeric references, unknown ones and bare `&` are escaped, so one
 *   stray ampersand does not lose the whole feed;
 * - characters XML 1.0 forbids are taken out, as lenient feed readers do, so
 *   one stray byte does not lose the whole feed either: raw C0 controls (a NUL
 *   byte in a UTF-8 feed), U+FFFE and U+FFFF are removed, a lone surrogate
 *   and a character reference to any of them (`&#0;`, `&#x1F;`, `&#xD800;`)
 *   become U+FFFD, so the reader sees that something was there.
 * CDATA sections, comments and processing instructions are copied untouched,
 * but for the forbidden characters.
 */
import { decodeHTMLStrict } from 'entities';
import { formatPrefixes } from './xml-scope.ts';

export interface PrepareLimits {
  /** Characters that entity expansion may add to the document. Default 1,000,000. */
  maxExpansion?: number;
  /** Nesting of entity references inside entity values. Default 8. */
  maxEntityDepth?: number;
}

/** The DOCTYPE's entity declarations blew a limit: an entity bomb, or a reference loop. */
export class EntityExpansionError extends Error {
  override readonly name = 'EntityExpansionError';
}

const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);
const REFERENCE = /^&(?:#([0-9]+)|#[xX]([0-9a-fA-F]+)|([A-Za-z_][A-Za-z0-9._-]*));/;

interface Declarations {
  /** Internal general entities: name → replacement text. */
  internal: Map<string, string>;
  /** External general entities: never fetched, their references dropped. */
  external: Set<string>;
}

/** Returns `text` with its DOCTYPE removed and its entity references made safe. */
export function prepareXml(text: string, limits: PrepareLimits = {}): string {
  const source = withoutForbiddenCharacters(text).replace(/^[\uFEFF\s]+/, '');
  const { declarations, start, end } = findDoctype(source);
  const budget = {
    left: limits.maxExpansion ?? 1_000_000,
    maxDepth: limits.maxEntityDepth ?? 8,
  };
  const body = start === -1 ? source : source.slice(0, start) + source.slice(end);
  const xml = rewriteReferences(body, declarations, budget, 0);
  return wrapTextConstructs(xml, textConstructPattern(formatPrefixes(xml)));
}

/*
 * Text elements that may hold markup as child elements: Atom `type="xhtml"`,
 * Atom 0.3 `mode="xml"`, and the naked HTML some RSS feeds put in a title or
 * description. The XML tree builder would scatter such markup into child
 * nodes and lose its order, so their content is wrapped in CDATA and read as
 * the HTML it is. Atom 0.3 `mode="base64"` content is decoded the same way.
 */
const TEXT_CONSTRUCT_NAMES =
  '(?:title|subtitle|tagline|summary|content|rights|copyright|description|info)';
const TEXT_CONSTRUCT = textConstructRegExp(['atom']);

/**
 * The text constructs written unprefixed, as `atom:`, or with any other prefix
 * the document binds to a feed format namespace (`<a:content type="xhtml">`).
 */
function textConstructPattern(formatPrefixes: string[]): RegExp {
  return formatPrefixes.length === 0
    ? TEXT_CONSTRUCT
    : textConstructRegExp(['atom', ...formatPrefixes]);
}

function textConstructRegExp(prefixes: string[]): RegExp {
  const prefix = prefixes.map((p) => p.replaceAll('.', '\\.')).join('|');
  return new RegExp(
    `<!\\[CDATA\\[[\\s\\S]*?\\]\\]>|<!--[\\s\\S]*?-->|<((?:(?:${prefix}):)?${TEXT_CONSTRUCT_NAMES})(\\s[^>]*)?>`,
    'g',
  );
}

function wrapTextConstructs(xml: string, pattern: RegExp): string {
  const out: string[] = [];
  let copiedTo = 0;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(xml); match !== null; match = pattern.exec(xml)) {
    const name = match[1];
    const attributes = match[2] ?? '';
    if (name === undefined || attributes.endsWith('/')) continue;
    const innerStart = match.index + match[0].length;
    const close = xml.indexOf(`</${name}>`, innerStart);
    if (close === -1) continue;
    const inner = xml.slice(innerStart, close);
    const base64 = isBase64Content(attributes);
    const hasElements = /<[A-Za-z]/.test(inner.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, ''));
    if (!base64 && !hasElements) continue;
    const html = base64
      ? Buffer.from(inner.trim(), 'base64').toString('utf8')
      : inner.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_all, text: string) => escapeMarkup(text));
    out.push(
      xml.slice(copiedTo, innerStart),
      `<![CDATA[${html.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`,
    );
    copiedTo = close;
    pattern.lastIndex = close;
  }
  out.push(xml.slice(copiedTo));
  return out.join('');
}

/**
 * Atom 0.3 says `mode="base64"`; Atom 1.0 (RFC 4287 4.1.3.3) means base64 by
 * a media type that is neither text nor XML.
 */
function isBase64Content(attributes: string): boolean {
  if (/\bmode\s*=\s*["']base64["']/.test(attributes)) return true;
  const type = /\btype\s*=\s*["']([^"']+)["']/.exec(attributes)?.[1]?.toLowerCase();
  if (type === undefined || !type.includes('/')) return false;
  return !type.startsWith('text/') && !type.endsWith('+xml') && !type.endsWith('/xml');
}

function escapeMarkup(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Locates the DOCTYPE in the prolog (never inside the document element) and reads its entities. */
function findDoctype(text: string): { declarations: Declarations; start: number; end: number } {
  const declarations: Declarations = { internal: new Map(), external: new Set() };
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (text.startsWith('<?', i)) {
      const close = text.indexOf('?>', i + 2);
      if (close === -1) break;
      i = close + 2;
    } else if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i + 4);
      if (close === -1) break;
      i = close + 3;
    } else if (/^<!DOCTYPE/i.test(text.slice(i, i + 9))) {
      const end = doctypeEnd(text, i + 9, declarations);
      return { declarations, start: i, end };
    } else {
      break;
    }
  }
  return { declarations, start: -1, end: -1 };
}

/** Index just past the DOCTYPE that starts before `from`; fills `declarations`. */
function doctypeEnd(text: string, from: number, declarations: Declarations): number {
  let i = from;
  let quote: string | undefined;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[') {
      i = internalSubsetEnd(text, i + 1, declarations);
    } else if (c === '>') {
      return i + 1;
    }
  }
  return text.length;
}

/** Reads the declarations of an internal subset; returns the index of its `]`. */
function internalSubsetEnd(text: string, from: number, declarations: Declarations): number {
  let i = from;
  while (i < text.length) {
    if (text[i] === ']') return i;
    if (text.startsWith('<!--', i)) {
      const close = text.indexOf('-->', i + 4);
      i = close === -1 ? text.length : close + 3;
    } else if (text[i] === '<') {
      const end = declarationEnd(text, i);
      readEntityDeclaration(text.slice(i, end), declarations);
      i = end;
    } else {
      i++;
    }
  }
  return i;
}

/** Index past the `>` of a markup declaration, skipping quoted strings. */
function declarationEnd(text: string, from: number): number {
  let quote: string | undefined;
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return i + 1;
    }
  }
  return text.length;
}

function readEntityDeclaration(declaration: string, declarations: Declarations): void {
  // Parameter entities (`<!ENTITY % ...>`) only matter inside the DTD, which is dropped.
  const internal = /^<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(["'])([\s\S]*?)\2\s*>$/.exec(declaration);
  if (internal) {
    const [, name, , value] = internal;
    if (name !== undefined && !declarations.internal.has(name)) {
      declarations.internal.set(name, value ?? '');
    }
    return;
  }
  const external = /^<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:SYSTEM|PUBLIC)\b/.exec(declaration);
  if (external?.[1] !== undefined) declarations.external.add(external[1]);
}

/** Copies `text`, rewriting entity references outside CDATA, comments and PIs. */
function rewriteReferences(
  text: string,
  declarations: Declarations,
  budget: { left: number; maxDepth: number },
  depth: number,
): string {
  const out: string[] = [];
  let copiedTo = 0;
  let i = text.indexOf('&');
  const nextVerbatim = verbatimFinder(text);
  let verbatimFrom = nextVerbatim(0);
  while (i !== -1) {
    if (verbatimFrom.start !== -1 && verbatimFrom.start < i) {
      // Skip a CDATA section, comment or PI that starts before the next `&`.
      const close = text.indexOf(verbatimFrom.close, verbatimFrom.start + 2);
      const after = close === -1 ? text.length : close + verbatimFrom.close.length;
      i = text.indexOf('&', after);
      verbatimFrom = nextVerbatim(after);
      continue;
    }
    out.push(text.slice(copiedTo, i));
    const match = REFERENCE.exec(text.slice(i, i + 80));
    const name = match?.[3];
    let replacement: string;
    if (match === null) {
      replacement = '&amp;';
      copiedTo = i + 1;
    } else {
      copiedTo = i + match[0].length;
      if (name === undefined) replacement = allowedReference(match);
      else if (XML_ENTITIES.has(name)) replacement = match[0];
      else if (declarations.internal.has(name)) {
        if (depth + 1 > budget.maxDepth) {
          throw new EntityExpansionError(
            `entity &${name}; nests deeper than ${budget.maxDepth} levels (a loop or an entity bomb)`,
          );
        }
        replacement = rewriteReferences(
          declarations.internal.get(name) ?? '',
          declarations,
          budget,
          depth + 1,
        );
        budget.left -= replacement.length;
        if (budget.left < 0) {
          throw new EntityExpansionError(
            'entity expansion exceeds the size limit (an entity bomb such as "billion laughs")',
          );
        }
      } else if (declarations.external.has(name)) replacement = '';
      else replacement = htmlEntity(name) ?? `&amp;${name};`;
    }
    out.push(replacement);
    i = text.indexOf('&', copiedTo);
  }
  out.push(text.slice(copiedTo));
  return out.join('');
}

const VERBATIM = [
  { open: '<![CDATA[', close: ']]>' },
  { open: '<!--', close: '-->' },
  { open: '<?', close: '?>' },
];

/**
 * Finds the next CDATA section, comment or PI at or after a position. Each
 * opener's last position is remembered, so a document is scanned once per
 * opener rather than once per section.
 */
function verbatimFinder(text: string): (from: number) => { start: number; close: string } {
  const found = VERBATIM.map(() => -2);
  return (from) => {
    let best = { start: -1, close: '' };
    VERBATIM.forEach(({ open, close }, k) => {
      let start = found[k] as number;
      if (start !== -1 && start < from) {
        start = text.indexOf(open, from);
        found[k] = start;
      }
      if (start !== -1 && (best.start === -1 || start < best.start)) best = { start, close };
    });
    return best;
  };
}

/**
 * `text` without the raw characters outside XML 1.0's `Char` production: C0
 * controls but tab and line breaks, U+FFFE and U+FFFF carry no text and are
 * removed; a surrogate without its pair (what a broken decoder left) becomes
 * U+FFFD. JSON forbids the same controls raw, so JSON Feeds go through it too.
 */
export function withoutForbiddenCharacters(text: string): string {
  let out = '';
  let copiedTo = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let replacement: string | undefined;
    if (code < 0x20) {
      if (code !== 0x9 && code !== 0xa && code !== 0xd) replacement = '';
    } else if (code === 0xfffe || code === 0xffff) {
      replacement = '';
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else replacement = '\uFFFD';
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      replacement = '\uFFFD';
    }
    if (replacement !== undefined) {
      out += text.slice(copiedTo, i) + replacement;
      copiedTo = i + 1;
    }
  }
  return copiedTo === 0 ? text : out + text.slice(copiedTo);
}

/** A numeric character reference as written, or U+FFFD when XML 1.0 forbids its character. */
function allowedReference(match: RegExpExecArray): string {
  const [reference, decimal, hex] = match;
  const code = decimal === undefined ? Number.parseInt(hex ?? '', 16) : Number(decimal);
  return isXmlChar(code) ? reference : '\uFFFD';
}

/** XML 1.0's `Char` production. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** A named HTML entity as numeric references, or `undefined` when HTML has no such name. */
function htmlEntity(name: string): string | undefined {
  const decoded = decodeHTMLStrict(`&${name};`);
  if (decoded === `&${name};`) return undefined;
  return [...decoded].map((ch) => `&#${ch.codePointAt(0)};`).join('');
}
