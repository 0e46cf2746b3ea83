/**
 * Sanitises the HTML of a feed item's summary for the HTML part of an email.
 * Feed content is untrusted: only an allow-list of text elements survives, with
 * no attributes but a link's `href` (absolute http(s) or mailto) and a fixed
 * `rel`. Scripts, styles, event handlers, forms, frames and images (remote
 * images track readers) are gone; an image leaves its alt text.
 */
import { DomUtils, parseDocument } from 'htmlparser2';
import sanitizeHtml from 'sanitize-html';

/** Longest sanitised HTML kept, in characters; longer output is cut between elements. */
export const SANITIZED_HTML_MAX_CHARS = 20_000;

const ALLOWED_TAGS = [
  'p',
  'div',
  'span',
  'br',
  'b',
  'strong',
  'i',
  'em',
  'ul',
  'ol',
  'li',
  'blockquote',
  'a',
  'h4',
  'code',
  'pre',
];

/** Elements dropped with their content: none of it is text a reader should see. */
const NON_TEXT_TAGS = [
  'script',
  'style',
  'textarea',
  'option',
  'select',
  'noscript',
  'template',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'svg',
  'math',
  'canvas',
  'audio',
  'video',
  'head',
  'title',
  'button',
];

/** Layout elements whose content stays, each on its own line. */
const BLOCK_TO_DIV = [
  'section',
  'article',
  'header',
  'footer',
  'main',
  'aside',
  'nav',
  'figure',
  'figcaption',
  'address',
  'details',
  'summary',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'td',
  'th',
  'caption',
  'dl',
  'dt',
  'dd',
  'center',
];

/** Headings of any level become one modest level: the alert's own headline stays the largest. */
const HEADINGS = ['h1', 'h2', 'h3', 'h5', 'h6'];

export interface SanitizeOptions {
  /**
   * A `style` attribute per allowed tag name, set on every such element (the
   * feed's own styles are always dropped): email clients apply inline styles
   * only.
   */
  inlineStyles?: Readonly<Record<string, string>>;
}

/** Returns `href` made absolute against `baseUrl`, or `undefined` unless it is http(s) or mailto. */
export function safeHref(href: string | undefined, baseUrl?: string): string | undefined {
  if (href === undefined || href.trim() === '') return undefined;
  let url: URL;
  try {
    url = baseUrl === undefined ? new URL(href.trim()) : new URL(href.trim(), baseUrl);
  } catch {
    return undefined;
  }
  if (url.protocol === 'mailto:') return url.href;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url.href;
}

/**
 * Sanitises `html` (a feed's summary or content) to an allow-listed fragment
 * of at most {@link SANITIZED_HTML_MAX_CHARS} characters. Relative links are
 * resolved against `baseUrl` (the item's link); a link that is not absolute
 * http(s) or mailto loses its anchor and keeps its text.
 */
export function sanitizeFeedHtml(
  html: string,
  baseUrl?: string,
  options: SanitizeOptions = {},
): string {
  const inlineStyles = options.inlineStyles;
  const clean = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes:
      inlineStyles === undefined ? { a: ['href', 'rel'] } : { a: ['href', 'rel'], '*': ['style'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesAppliedToAttributes: ['href'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    nonTextTags: NON_TEXT_TAGS,
    transformTags: {
      ...Object.fromEntries(BLOCK_TO_DIV.map((tag) => [tag, 'div'])),
      ...Object.fromEntries(HEADINGS.map((tag) => [tag, 'h4'])),
      a: (_tagName, attribs): sanitizeHtml.Tag => {
        const href = safeHref(attribs.href, baseUrl);
        return href === undefined
          ? { tagName: 'span', attribs: {} }
          : { tagName: 'a', attribs: { href, rel: 'noopener noreferrer' } };
      },
      // The image goes; its alt text, if any, stays in its place.
      img: (_tagName, attribs): sanitizeHtml.Tag => {
        const alt = (attribs.alt ?? '').trim();
        return { tagName: 'span', attribs: {}, text: alt === '' ? '' : ` ${alt} ` };
      },
      // Runs after the tag transforms: the feed's own style attributes never survive.
      '*': (tagName, attribs): sanitizeHtml.Tag => {
        const { style: _feedStyle, ...rest } = attribs;
        const style = inlineStyles?.[tagName];
        return { tagName, attribs: style === undefined ? rest : { ...rest, style } };
      },
    },
  });
  return boundHtml(clean.trim(), SANITIZED_HTML_MAX_CHARS);
}

/** Whether sanitised HTML holds markup a plain-text rendering would lose. */
export function hasMeaningfulMarkup(sanitized: string): boolean {
  if (/<(?:a|b|strong|i|em|ul|ol|li|blockquote|code|pre|h4|br)\b/i.test(sanitized)) return true;
  return (sanitized.match(/<(?:p|div)\b/gi)?.length ?? 0) >= 2;
}

type DomNode = ReturnType<typeof parseDocument>['children'][number];
type DomElement = Extract<DomNode, { name: string; children: unknown }>;
type DomText = Extract<DomNode, { type: 'text' }>;

function isText(node: DomNode): node is DomText {
  return node.type === 'text';
}

function isTag(node: DomNode): node is DomElement {
  return node.type === 'tag';
}

/**
 * Cuts well-formed `html` to at most `max` characters, at an element boundary:
 * whole nodes are kept while they fit. Only when not even the first node of a
 * level fits is it entered (an element keeps its tags and as many children as
 * fit) or, for text, cut at a word. The result is always well-formed.
 */
function boundHtml(html: string, max: number): string {
  if (html.length <= max) return html;
  const document = parseDocument(html, { decodeEntities: false });
  return fitNodes(document.children, max);
}

function fitNodes(nodes: readonly DomNode[], budget: number): string {
  let html = '';
  for (const node of nodes) {
    const whole = DomUtils.getOuterHTML(node, { decodeEntities: false });
    if (html.length + whole.length > budget) {
      // Something is kept already: end at this boundary rather than inside the node.
      return html === '' ? enterNode(node, whole, budget) : html;
    }
    html += whole;
  }
  return html;
}

/** The part of a node that fits `room`: its tags and the children that fit, or cut text. */
function enterNode(node: DomNode, whole: string, room: number): string {
  if (isText(node)) return cutText(node.data, room);
  if (!isTag(node)) return '';
  const inner = DomUtils.getInnerHTML(node, { decodeEntities: false });
  const close = `</${node.name}>`;
  const open = whole.slice(0, whole.length - inner.length - close.length);
  if (room <= open.length + close.length || open.endsWith('/>')) return '';
  return `${open}${fitNodes(node.children, room - open.length - close.length)}${close}`;
}

/** Cuts already-escaped text to `room` characters at a word, never inside an entity. */
function cutText(text: string, room: number): string {
  const ellipsis = '…';
  if (room <= ellipsis.length) return '';
  let cut = text.slice(0, room - ellipsis.length);
  const space = cut.lastIndexOf(' ');
  if (space > cut.length / 2) cut = cut.slice(0, space);
  cut = cut.replace(/&[#a-zA-Z0-9]*$/, '');
  return `${cut}${ellipsis}`;
}
