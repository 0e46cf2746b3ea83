/**
 * Canonical form of the links found in feeds, so that the same article reached
 * through a newsletter, a social share or an aggregator gets the same link.
 */

/** Query parameters whose name starts with one of these only track the reader. */
const TRACKING_PREFIXES = ['utm_', 'pk_', 'mtm_', 'hsa_'];

/** Query parameters (lower-cased) that only track the reader or the campaign. */
const TRACKING_NAMES = new Set([
  '_ga',
  '_gl',
  '_hsenc',
  '_hsmi',
  'cmpid',
  'dclid',
  'fbclid',
  'gbraid',
  'gclid',
  'gclsrc',
  'igsh',
  'igshid',
  'li_fat_id',
  'mc_cid',
  'mc_eid',
  'mkt_tok',
  'msclkid',
  'ncid',
  'oly_anon_id',
  'oly_enc_id',
  'rb_clickid',
  'ref_src',
  'ref_url',
  's_cid',
  'smid',
  'ttclid',
  'twclid',
  'vero_conv',
  'vero_id',
  'wbraid',
  'yclid',
]);

/** Whether a query parameter name (as decoded) is a known tracking parameter. */
export function isTrackingParam(name: string): boolean {
  const lower = name.toLowerCase();
  return TRACKING_NAMES.has(lower) || TRACKING_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/**
 * Resolves `href` against `base` and returns its canonical form, or `undefined`
 * when it is not a usable `http:`/`https:` URL (a `javascript:` or `mailto:` link
 * from a feed must never reach an alert).
 *
 * Canonical means: scheme and host lower-cased (IDN hosts in punycode), default
 * port, credentials and fragment dropped, tracking parameters removed. The
 * remaining query parameters keep their order and their original encoding, since
 * some servers care about either.
 */
export function canonicaliseUrl(href: string, base?: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href.trim(), base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.hostname === '') return undefined;

  url.username = '';
  url.password = '';
  url.hash = '';
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.slice(0, -1);

  const kept = url.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '' && !isTrackingParam(paramName(pair)));
  url.search = kept.length > 0 ? `?${kept.join('&')}` : '';
  return url.href;
}

/**
 * The base URL that the `xml:base` values in scope of an element make
 * (outermost first, each resolved against the one before, RFC 3986 5.2),
 * starting from the document's URL. A value that is not a URL, or that makes
 * a base other than `http:`/`https:` (`javascript:`), is ignored, as feedparser
 * does, and the base in scope stays.
 */
export function resolveXmlBase(bases: readonly string[] | undefined, documentUrl: string): string {
  let base = documentUrl;
  for (const written of bases ?? []) {
    let url: URL;
    try {
      url = new URL(written.trim(), base);
    } catch {
      continue;
    }
    if (url.protocol === 'http:' || url.protocol === 'https:') base = url.href;
  }
  return base;
}

function paramName(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = (eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
