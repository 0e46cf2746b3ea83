/**
 * Decodes a feed body to text. The charset comes from, in this order: the HTTP
 * `Content-Type` header, a byte-order mark, the XML declaration (with the
 * UTF-16/32 byte patterns of XML 1.0 Appendix F), the NUL pattern of ASCII
 * markup in UTF-16. Invalid bytes become U+FFFD: one bad byte must not lose a
 * whole feed.
 */
import iconv from 'iconv-lite';

/** Where the charset used was found. */
export type CharsetSource = 'header' | 'bom' | 'prolog' | 'sniffed' | 'default' | 'fallback';

export interface DecodedBody {
  text: string;
  /** The charset the body was decoded with, as iconv-lite names it. */
  charset: string;
  source: CharsetSource;
}

const BOMS: { bytes: number[]; charset: string }[] = [
  { bytes: [0x00, 0x00, 0xfe, 0xff], charset: 'utf-32be' },
  { bytes: [0xff, 0xfe, 0x00, 0x00], charset: 'utf-32le' },
  { bytes: [0xef, 0xbb, 0xbf], charset: 'utf-8' },
  { bytes: [0xfe, 0xff], charset: 'utf-16be' },
  { bytes: [0xff, 0xfe], charset: 'utf-16le' },
];

/** `<?` (or `<` for UTF-32) in UTF-16/32 without a BOM, per XML 1.0 Appendix F. */
const PROLOG_PATTERNS: { bytes: number[]; charset: string }[] = [
  { bytes: [0x00, 0x00, 0x00, 0x3c], charset: 'utf-32be' },
  { bytes: [0x3c, 0x00, 0x00, 0x00], charset: 'utf-32le' },
  { bytes: [0x00, 0x3c, 0x00, 0x3f], charset: 'utf-16be' },
  { bytes: [0x3c, 0x00, 0x3f, 0x00], charset: 'utf-16le' },
];

/** Charset names feeds use that iconv-lite spells differently. */
const ALIASES: Record<string, string> = {
  'x-sjis': 'shift_jis',
  'x-euc-jp': 'euc-jp',
  'x-gbk': 'gbk',
  'unicode-1-1-utf-8': 'utf-8',
  utf8: 'utf-8',
};

/** The `charset` parameter of a `Content-Type` value, lower-cased, if any. */
export function headerCharset(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(contentType ?? '');
  return match?.[2]?.toLowerCase();
}

/** A charset name iconv-lite can decode, or `undefined` for a bogus one. */
function knownCharset(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const lower = name.trim().toLowerCase();
  const canonical = ALIASES[lower] ?? lower;
  return iconv.encodingExists(canonical) ? canonical : undefined;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.length <= bytes.length && prefix.every((b, i) => bytes[i] === b);
}

/** The charset named by the XML declaration, read as ASCII (or as sniffed UTF-16/32). */
function prologCharset(bytes: Buffer): string | undefined {
  const pattern = PROLOG_PATTERNS.find((p) => startsWith(bytes, p.bytes));
  const head = pattern
    ? iconv.decode(bytes.subarray(0, 512), pattern.charset)
    : bytes.subarray(0, 1024).toString('latin1');
  const declared = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head)?.[1];
  const known = knownCharset(declared);
  if (pattern) {
    // The byte pattern decides the width; a declaration of another width is a mistake.
    return known?.startsWith(pattern.charset.slice(0, 6)) ? known : pattern.charset;
  }
  // "UTF-16" declared over ASCII-compatible bytes cannot be true: the bytes win.
  if (known?.startsWith('utf-16') || known?.startsWith('utf-32')) return undefined;
  return known;
}

/** How many leading code units `utf16ByteOrder` looks at. */
const SNIFF_UNITS = 64;

/**
 * `'le'` or `'be'` when the first code units (bytes, or the characters of a
 * string that bytes were read into one for one) look like markup in UTF-16
 * without a BOM: ASCII characters, each with a NUL byte on the same side.
 * One stray NUL in a UTF-8 document is nowhere near that pattern.
 */
export function utf16ByteOrder(units: ArrayLike<number>): 'le' | 'be' | undefined {
  const length = Math.min(units.length, SNIFF_UNITS) & ~1;
  if (length < 4) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < length; i++) {
    if (units[i] !== 0) continue;
    if (i % 2 === 0) evenNul++;
    else oddNul++;
  }
  const pairs = length / 2;
  // Most pairs hold a NUL on one side; the other side is never NUL (that would be UTF-32).
  if (oddNul >= (pairs * 3) / 4 && evenNul === 0) return 'le';
  if (evenNul >= (pairs * 3) / 4 && oddNul === 0) return 'be';
  return undefined;
}

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes `bytes` with the charset of highest precedence that iconv-lite
 * knows. When nothing declares a charset and the bytes are not UTF-8, they
 * are read as windows-1252, which is what undeclared legacy feeds nearly
 * always are (and every byte sequence is valid in it).
 */
export function decodeFeedBody(bytes: Buffer, contentType?: string): DecodedBody {
  const bom = BOMS.find((b) => startsWith(bytes, b.bytes));
  const candidates: [string | undefined, CharsetSource][] = [
    [knownCharset(headerCharset(contentType)), 'header'],
    [bom?.charset, 'bom'],
    [prologCharset(bytes), 'prolog'],
    [sniffedUtf16(bytes), 'sniffed'],
  ];
  for (const [charset, source] of candidates) {
    if (charset !== undefined) return { text: decode(bytes, charset), charset, source };
  }
  if (isValidUtf8(bytes))
    return { text: decode(bytes, 'utf-8'), charset: 'utf-8', source: 'default' };
  return { text: decode(bytes, 'windows-1252'), charset: 'windows-1252', source: 'fallback' };
}

function sniffedUtf16(bytes: Buffer): string | undefined {
  const order = utf16ByteOrder(bytes.subarray(0, SNIFF_UNITS));
  return order === undefined ? undefined : `utf-16${order}`;
}

function decode(bytes: Buffer, charset: string): string {
  const text = iconv.decode(bytes, charset, { stripBOM: true });
  // A BOM of another charset than the one used (a header overriding it) is no text.
  return text.replace(/^(?:\uFEFF|\u00EF\u00BB\u00BF|\u00FE\u00FF|\u00FF\u00FE)/, '');
}
