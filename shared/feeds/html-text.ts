/**
 * Plain text from the HTML fragments feeds put in titles and descriptions.
 * The result is what rules match against and what alerts show, so it must hold
 * no markup at all: feed content is untrusted.
 */
import { Parser } from 'htmlparser2';

/** Elements whose content is not reader-visible text. */
const DROPPED_ELEMENTS = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'iframe',
  'svg',
  'head',
]);

/** Elements that break the text flow: their edges become a space so words never fuse. */
const BLOCK_ELEMENTS = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'br',
  'caption',
  'dd',
  'details',
  'div',
  'dl',
  'dt',
  'figcaption',
  'figure',
  'footer',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'li',
  'main',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
]);

/*
 * Control characters (tabs and newlines included) and zero-width spaces separate
 * words like a space does; a byte-order mark is no text at all.
 */
const SEPARATORS = /[\p{Cc}\u200B]/gu;
const BYTE_ORDER_MARK = /\uFEFF/g;

/**
 * Converts an HTML fragment (or plain text with entities) to one line of plain
 * text: tags stripped, entities decoded, `script`/`style` and the like dropped,
 * block elements turned into spaces, whitespace collapsed and trimmed.
 */
export function htmlToText(html: string): string {
  const parts: string[] = [];
  let droppedDepth = 0;

  const parser = new Parser(
    {
      onopentagname(name) {
        if (DROPPED_ELEMENTS.has(name)) droppedDepth += 1;
        else if (BLOCK_ELEMENTS.has(name)) parts.push(' ');
      },
      onclosetag(name) {
        if (DROPPED_ELEMENTS.has(name)) droppedDepth = Math.max(0, droppedDepth - 1);
        else if (BLOCK_ELEMENTS.has(name)) parts.push(' ');
      },
      ontext(text) {
        if (droppedDepth === 0) parts.push(text);
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();

  return collapseWhitespace(parts.join('').replace(SEPARATORS, ' ').replace(BYTE_ORDER_MARK, ''));
}

/** Collapses every run of whitespace (including no-break spaces) to one space and trims. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
