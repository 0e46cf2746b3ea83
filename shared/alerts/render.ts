/**
 * Turns an `Alert` into plain text for the console, and holds the pieces the
 * email (`email.ts`) and Slack (`slack.ts`) renderings share: snippets with
 * highlighted matches, matched-term summaries, publication times, safe links,
 * text cleaning and cutting, HTML and Slack escaping. Every function here is
 * pure.
 *
 * Feed text is untrusted. Each output format escapes it for its own syntax, so
 * that an item can never inject markup into an email, mention a Slack channel
 * or forge a link, and control characters are blanked so that an item cannot
 * drive a terminal either.
 */
import type { Alert, MatchedTerm } from '../ports.ts';

/** Which part of an item a matched term was found in. */
export type ItemField = MatchedTerm['field'];

/** A stretch of `[start, end)` UTF-16 offsets into a text. */
export interface HighlightRange {
  start: number;
  end: number;
}

/** A run of snippet text, highlighted when a matched term covers it. */
export interface SnippetSegment {
  text: string;
  highlighted: boolean;
}

/** A piece of text cut to a readable length, with its highlighted runs. */
export interface HighlightedText {
  segments: SnippetSegment[];
  /** Text of the original was left out before the first segment. */
  clippedStart: boolean;
  /** Text of the original was left out after the last segment. */
  clippedEnd: boolean;
}

/** The short excerpt of an item shown under the headline. */
export interface Snippet extends HighlightedText {
  field: ItemField;
}

/** A matched term and the fields it was found in, in order of first appearance. */
export interface MatchedTermSummary {
  term: string;
  fields: ItemField[];
}

/** How long a snippet may be, in characters of the item's text. */
export const SNIPPET_MAX_CHARS = 300;

/** Slack refuses a section or context text longer than this. */
export const SLACK_TEXT_MAX_CHARS = 3000;

const ELLIPSIS = '…';
/** How much text to keep before the first match when a snippet has to be cut. */
const SNIPPET_LEAD_CHARS = 60;

/**
 * The bidirectional formatting characters (UAX #9): embeddings, overrides,
 * isolates and the implicit marks. From a feed they only serve to spoof
 * ("Invoice \u202Efdp.exe" shows as "Invoice exe.pdf"); right-to-left text
 * itself displays right without them.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

function isBidiControl(code: number): boolean {
  return (
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/**
 * Replaces C0 and C1 control characters (escape sequences, carriage returns,
 * NUL) and bidirectional formatting characters with spaces. One character for
 * one keeps every matched-term offset valid.
 */
export function blankControlCharacters(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) || isBidiControl(code) ? ' ' : text[i];
  }
  return out;
}

/**
 * Returns the link as an absolute http(s) URL, or `undefined` for anything a
 * reader should not be sent to (other schemes, credentials in the URL, junk).
 */
export function safeWebLink(link: string | undefined): string | undefined {
  if (link === undefined) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    return undefined;
  }
  return url.href;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

/**
 * Formats an ISO 8601 time as `Wed 5 Mar 2025, 14:03 UTC`, or returns
 * `undefined` when there is no usable time. Built by hand rather than with
 * `Intl` so that the output does not change with the ICU version.
 */
export function formatPublished(iso: string | undefined): string | undefined {
  if (iso === undefined || iso.trim() === '') {
    return undefined;
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return undefined;
  }
  const weekday = WEEKDAYS[date.getUTCDay()] ?? '';
  const month = MONTHS[date.getUTCMonth()] ?? '';
  const hours = String(date.getUTCHours()).padStart(2, '0');
  const minutes = String(date.getUTCMinutes()).padStart(2, '0');
  return `${weekday} ${date.getUTCDate()} ${month} ${date.getUTCFullYear()}, ${hours}:${minutes} UTC`;
}

/** Sorts, clips and merges ranges, dropping any that do not fit `length`. */
function normaliseRanges(ranges: readonly HighlightRange[], length: number): HighlightRange[] {
  const valid = ranges
    .filter(
      (r) =>
        Number.isInteger(r.start) &&
        Number.isInteger(r.end) &&
        r.start >= 0 &&
        r.end <= length &&
        r.start < r.end,
    )
    .map((r) => ({ start: r.start, end: r.end }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: HighlightRange[] = [];
  for (const range of valid) {
    const last = merged.at(-1);
    if (last !== undefined && range.start <= last.end) {
      last.end = Math.max(last.end, range.end);
    } else {
      merged.push(range);
    }
  }
  return merged;
}

function isWhitespace(char: string | undefined): boolean {
  return char !== undefined && /\s/.test(char);
}

function isLowSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Picks the `[start, end)` window of `text` a snippet shows. */
function chooseWindow(
  text: string,
  ranges: readonly HighlightRange[],
  maxChars: number,
): HighlightRange {
  if (text.length <= maxChars) {
    return { start: 0, end: text.length };
  }
  const anchor = ranges[0]?.start ?? 0;
  let start = Math.max(0, anchor - Math.min(SNIPPET_LEAD_CHARS, Math.floor(maxChars / 4)));
  if (start > 0) {
    // Start on a word: skip the partial word the cut landed in.
    let i = start;
    while (i < anchor && !isWhitespace(text[i - 1])) {
      i++;
    }
    start = i < anchor ? i : start;
  }
  let end = Math.min(text.length, start + maxChars);
  if (end < text.length) {
    let i = end;
    while (i > start + maxChars / 2 && !isWhitespace(text[i])) {
      i--;
    }
    end = i > start + maxChars / 2 ? i : end;
    const cut = ranges.find((r) => r.start < end && r.end > end);
    if (cut !== undefined && cut.start > anchor) {
      end = cut.start;
    }
  }
  if (start > 0 && isLowSurrogate(text, start)) {
    start++;
  }
  if (end < text.length && isLowSurrogate(text, end)) {
    end--;
  }
  while (start < end && isWhitespace(text[start])) {
    start++;
  }
  while (end > start && isWhitespace(text[end - 1])) {
    end--;
  }
  return { start, end };
}

/**
 * Cuts `text` to at most about `maxChars` characters around its first
 * highlight and splits it into highlighted and plain segments. Ranges are
 * UTF-16 offsets into `text`; ranges that overlap are merged, ranges outside
 * the text are ignored. Control characters are blanked.
 */
export function highlightSnippet(
  text: string,
  ranges: readonly HighlightRange[],
  maxChars: number = SNIPPET_MAX_CHARS,
): HighlightedText {
  const clean = blankControlCharacters(text);
  const merged = normaliseRanges(ranges, clean.length);
  const window = chooseWindow(clean, merged, maxChars);
  const segments: SnippetSegment[] = [];
  let position = window.start;
  for (const range of merged) {
    const start = Math.max(range.start, window.start);
    const end = Math.min(range.end, window.end);
    if (start >= end) {
      continue;
    }
    if (start > position) {
      segments.push({ text: clean.slice(position, start), highlighted: false });
    }
    segments.push({ text: clean.slice(start, end), highlighted: true });
    position = end;
  }
  if (position < window.end) {
    segments.push({ text: clean.slice(position, window.end), highlighted: false });
  }
  return {
    segments,
    clippedStart: window.start > 0,
    clippedEnd: window.end < clean.length,
  };
}

/** The matched-term ranges of an alert that fall in one field. */
export function matchedRanges(alert: Alert, field: ItemField): HighlightRange[] {
  return alert.matchedTerms
    .filter((term) => term.field === field)
    .map((term) => ({ start: term.start, end: term.end }));
}

/**
 * The excerpt an alert shows: the summary around its first match (or its
 * opening when the matches are all in the title); the title itself only when
 * there is no summary but the title matched; otherwise none.
 */
export function snippetForAlert(
  alert: Alert,
  maxChars: number = SNIPPET_MAX_CHARS,
): Snippet | undefined {
  const { summary, title } = alert.item;
  if (summary.trim() !== '') {
    return {
      field: 'summary',
      ...highlightSnippet(summary, matchedRanges(alert, 'summary'), maxChars),
    };
  }
  const titleRanges = matchedRanges(alert, 'title');
  if (titleRanges.length > 0 && title.trim() !== '') {
    return { field: 'title', ...highlightSnippet(title, titleRanges, maxChars) };
  }
  return undefined;
}

/** Groups the matched terms of an alert by term, keeping the order they came in. */
export function summariseMatchedTerms(terms: readonly MatchedTerm[]): MatchedTermSummary[] {
  const byTerm = new Map<string, MatchedTermSummary>();
  for (const matched of terms) {
    const term = blankControlCharacters(matched.term).trim();
    if (term === '') {
      continue;
    }
    const key = term.toLowerCase();
    const entry = byTerm.get(key) ?? { term, fields: [] };
    if (!entry.fields.includes(matched.field)) {
      entry.fields.push(matched.field);
    }
    byTerm.set(key, entry);
  }
  return [...byTerm.values()];
}

/**
 * The text on one line: bidirectional formatting characters removed, other
 * control characters blanked, runs of white space folded, trimmed.
 */
export function cleanOneLine(text: string): string {
  return blankControlCharacters(text.replace(BIDI_CONTROLS, '')).replace(/\s+/g, ' ').trim();
}

/** The item's title on one line, or `(untitled item)` when it has none. */
export function headlineOf(alert: Alert): string {
  const title = cleanOneLine(alert.item.title);
  return title === '' ? '(untitled item)' : title;
}

/** The severity in capitals on one line, or `UNRATED` when there is none. */
export function severityLabel(severity: string): string {
  const label = cleanOneLine(severity).toUpperCase();
  return label === '' ? 'UNRATED' : label;
}

function describeTermsPlain(alert: Alert): string {
  const terms = summariseMatchedTerms(alert.matchedTerms);
  if (terms.length === 0) {
    return 'no term details';
  }
  return terms.map((t) => `${t.term} (${t.fields.join(', ')})`).join(', ');
}

/**
 * Cuts `text` to at most `maxChars` characters, ending a cut with an ellipsis;
 * never splits a surrogate pair.
 */
export function cutTo(text: string, maxChars: number): string {
  if (text.length <= maxChars) {
    return text;
  }
  let end = maxChars - ELLIPSIS.length;
  if (isLowSurrogate(text, end)) {
    end--;
  }
  return `${text.slice(0, end).trimEnd()}${ELLIPSIS}`;
}

/** Styles applied to parts of the plain-text rendering; the console colours them. */
export interface TextStyle {
  severity(label: string, severity: string): string;
  headline(text: string): string;
  label(text: string): string;
  highlight(text: string): string;
}

/** Leaves every part as it is: no colours. */
export const plainTextStyle: TextStyle = {
  severity: (label) => label,
  headline: (text) => text,
  label: (text) => text,
  highlight: (text) => text,
};

/**
 * Renders an alert as plain text, one fact a line:
 *
 * ```text
 * [HIGH] Korea troop deployments
 * North Korean troops deploy to Kursk
 * https://example.com/story
 * Feed: reuters-world | Published: Wed 5 Mar 2025, 14:03 UTC
 * Matched: north korean (title), troops (summary)
 * "…Pyongyang has sent troops to the front…"
 * ```
 */
export function renderAlertText(alert: Alert, style: TextStyle = plainTextStyle): string {
  const lines: string[] = [];
  const severity = severityLabel(alert.severity);
  lines.push(`${style.severity(`[${severity}]`, alert.severity)} ${cleanOneLine(alert.watchName)}`);
  lines.push(style.headline(headlineOf(alert)));
  const link = safeWebLink(alert.item.link);
  if (link !== undefined) {
    lines.push(link);
  } else if (alert.item.link !== undefined && alert.item.link.trim() !== '') {
    lines.push(`${style.label('Link (not a web link):')} ${cleanOneLine(alert.item.link)}`);
  }
  const published = formatPublished(alert.item.published) ?? 'unknown';
  lines.push(
    `${style.label('Feed:')} ${cleanOneLine(alert.item.feed)} ${style.label('| Published:')} ${published}`,
  );
  lines.push(`${style.label('Matched:')} ${describeTermsPlain(alert)}`);
  const snippet = snippetForAlert(alert);
  if (snippet !== undefined && snippet.field === 'summary') {
    const body = snippet.segments
      .map((s) => (s.highlighted ? style.highlight(s.text) : s.text))
      .join('');
    const before = snippet.clippedStart ? ELLIPSIS : '';
    const after = snippet.clippedEnd ? ELLIPSIS : '';
    lines.push(`"${before}${body}${after}"`);
  }
  return lines.join('\n');
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const BROADCAST_WORDS = /@(here|channel|everyone)\b/gi;

/** Puts a word joiner after the `@` of `@here`, `@channel` and `@everyone`. */
function defuseBroadcastWords(text: string): string {
  return text.replace(BROADCAST_WORDS, '@\u2060$1');
}

function escapeSlackEntities(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Escapes untrusted text for Slack mrkdwn: `&`, `<` and `>` become entities so
 * that no `<!channel>`, `<@U123>` or `<url|text>` survives, and a word joiner
 * goes after the `@` of `@here`, `@channel` and `@everyone` in case a
 * workspace or a future payload option parses bare broadcast words.
 */
export function escapeSlackText(text: string): string {
  return escapeSlackEntities(defuseBroadcastWords(blankControlCharacters(text)));
}

/**
 * Formats an ISO time in an IANA time zone as `Wed 5 Mar 2025, 18:00
 * (Europe/Warsaw)`; in UTC when the zone is unknown to this runtime.
 */
export function formatInTimeZone(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return 'unscheduled';
  }
  let parts: Intl.DateTimeFormatPart[];
  let zone = timeZone;
  try {
    parts = partsIn(date, timeZone);
  } catch {
    zone = 'UTC';
    parts = partsIn(date, zone);
  }
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '';
  return `${part('weekday')} ${part('day')} ${part('month')} ${part('year')}, ${part('hour')}:${part('minute')} (${zone})`;
}

function partsIn(date: Date, timeZone: string): Intl.DateTimeFormatPart[] {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
}
