/**
 * Slack Block Kit rendering of alerts, follow-ups and digests, and an HTML
 * preview of a rendered message. Every function here is pure.
 *
 * Feed text is untrusted: every piece of it goes through `escapeSlackText`
 * (`&`, `<`, `>` as entities, broadcast words defused), so it can never
 * mention a user, ping a channel or forge a `<url|text>` link. The only
 * `<...>` in a rendered message are the links built here, from
 * `safeWebLink` URLs.
 */
import type { Alert, Digest, DigestEntry, FirstReport, FollowUp } from '../ports.ts';
import {
  cleanOneLine,
  escapeHtml,
  escapeSlackText,
  formatInTimeZone,
  formatPublished,
  type HighlightedText,
  headlineOf,
  SLACK_TEXT_MAX_CHARS,
  safeWebLink,
  severityLabel,
  snippetForAlert,
  summariseMatchedTerms,
} from './render.ts';

/** A Block Kit mrkdwn text object. */
export interface SlackMrkdwn {
  type: 'mrkdwn';
  text: string;
}

/** A Block Kit plain-text object (headers only). */
export interface SlackPlainText {
  type: 'plain_text';
  text: string;
}

/** The Block Kit blocks wirewatch sends. */
export type SlackBlock =
  | { type: 'header'; text: SlackPlainText }
  | { type: 'section'; text: SlackMrkdwn }
  | { type: 'context'; elements: SlackMrkdwn[] }
  | { type: 'divider' };

/** A rendered message: the blocks, and the text shown in notifications. */
export interface SlackMessage {
  /** Fallback for notifications and clients that cannot show blocks. */
  text: string;
  blocks: SlackBlock[];
}

/** Slack refuses a message with more blocks than this. */
export const SLACK_MAX_BLOCKS = 50;
/** Slack refuses a header text longer than this. */
const SLACK_HEADER_MAX_CHARS = 150;
/** Longest link put in a message; longer ones are left out rather than broken. */
const SLACK_LINK_MAX_CHARS = 1500;
/** Fallback texts are notifications: keep them short. */
const FALLBACK_MAX_CHARS = 300;
const ALERT_SNIPPET_CHARS = 300;
const DIGEST_SNIPPET_CHARS = 160;
const ELLIPSIS = '…';

/**
 * Escapes `text` and cuts it (marking the cut with an ellipsis) so that the
 * escaped result is at most `budget` characters. The cut is made on the raw
 * text, between code points, so it never splits an entity or a surrogate pair.
 */
function escapeWithin(text: string, budget: number, markCut = true): string {
  const escaped = escapeSlackText(text);
  if (escaped.length <= budget) {
    return escaped;
  }
  const mark = markCut ? ELLIPSIS : '';
  const chars = [...text];
  let low = 0;
  let high = chars.length;
  // Escaped length only grows with the prefix: find the longest prefix that fits.
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (escapeSlackText(chars.slice(0, mid).join('')).length + mark.length <= budget) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  return budget < mark.length ? '' : `${escapeSlackText(chars.slice(0, low).join(''))}${mark}`;
}

/** Escaped one-line text of at most `budget` characters. */
function oneLine(text: string, budget: number): string {
  return escapeWithin(cleanOneLine(text), budget);
}

/** A link in Slack's `<url|text>` syntax needs `|`, `<`, `>` and `&` kept out of the URL. */
function slackUrl(link: string | undefined): string | undefined {
  const safe = safeWebLink(link);
  if (safe === undefined) {
    return undefined;
  }
  const url = safe
    .replaceAll('&', '&amp;')
    .replaceAll('|', '%7C')
    .replaceAll('<', '%3C')
    .replaceAll('>', '%3E');
  return url.length <= SLACK_LINK_MAX_CHARS ? url : undefined;
}

/**
 * `title` as mrkdwn within `budget` characters: linked when `link` is a safe
 * http(s) URL, plain escaped text otherwise.
 */
function linkedTitle(title: string, link: string | undefined, budget: number): string {
  const text = cleanOneLine(title) || '(untitled item)';
  const url = slackUrl(link);
  if (url !== undefined && url.length + 3 + 20 <= budget) {
    return `<${url}|${escapeWithin(text, budget - url.length - 3)}>`;
  }
  return escapeWithin(text, budget);
}

/** Renders highlighted segments as mrkdwn within `budget` characters, bold for matches. */
function highlightedToSlack(highlighted: HighlightedText, budget: number): string {
  const room = budget - ELLIPSIS.length;
  let out = highlighted.clippedStart ? ELLIPSIS : '';
  for (const segment of highlighted.segments) {
    const text = segment.text.replace(/\s+/g, ' ');
    if (!segment.highlighted) {
      const piece = escapeWithin(text, room - out.length, false);
      out += piece;
      if (piece !== escapeSlackText(text)) {
        return `${out}${ELLIPSIS}`;
      }
      continue;
    }
    // Slack only turns `*word*` bold when the asterisks touch the word.
    const match = /^(\s*)(.*?)(\s*)$/s.exec(text);
    const lead = match?.[1] ?? '';
    const core = match?.[2] ?? text;
    const trail = match?.[3] ?? '';
    const piece = escapeWithin(core, room - out.length - lead.length - trail.length - 2, false);
    if (piece !== '') {
      out += `${lead}*${piece}*${trail}`;
    }
    if (piece !== escapeSlackText(core)) {
      return `${out}${ELLIPSIS}`;
    }
  }
  return highlighted.clippedEnd ? `${out}${ELLIPSIS}` : out;
}

/** Joins already-escaped items within `budget`, ending with `and N more` when cut. */
function fitList(items: readonly string[], budget: number, noun: string): string {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const next = out === '' ? (items[i] ?? '') : `${out}, ${items[i] ?? ''}`;
    const rest = items.length - i - 1;
    const reserve = rest > 0 ? `, and ${rest} more`.length : 0;
    if (next.length + reserve > budget) {
      return out === '' ? `${items.length} ${noun}` : `${out}, and ${items.length - i} more`;
    }
    out = next;
  }
  return out;
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(text: string): SlackBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

/**
 * Renders one alert: the headline linked to the item (with an "Update" label
 * for a later report with new facts), severity, watch, source feed and
 * publication time, the snippet with matched terms in bold, and a context
 * line with the matched terms and the rule version.
 */
export function renderSlackAlert(alert: Alert): SlackMessage {
  const isUpdate = alert.kind === 'update';
  const label = isUpdate ? '*Update:* ' : '';
  const headlineBudget = SLACK_TEXT_MAX_CHARS - label.length - 2;
  const headline = `${label}*${linkedTitle(alert.item.title, alert.item.link, headlineBudget)}*`;
  const blocks: SlackBlock[] = [section(headline)];

  const published = formatPublished(alert.item.published) ?? 'publication time unknown';
  blocks.push(
    context(
      [
        `*${oneLine(severityLabel(alert.severity), 100)}*`,
        oneLine(alert.watchName, 1000),
        oneLine(alert.item.feed, 1000),
        published,
      ].join(' · '),
    ),
  );

  const snippet = snippetForAlert(alert, ALERT_SNIPPET_CHARS);
  if (snippet !== undefined) {
    blocks.push(section(`>${highlightedToSlack(snippet, SLACK_TEXT_MAX_CHARS - 1)}`));
  }

  const terms = summariseMatchedTerms(alert.matchedTerms).map(
    (t) => `*${oneLine(t.term, 200)}* (${t.fields.join(', ')})`,
  );
  const version =
    alert.ruleVersion === undefined ? '' : ` · rules ${oneLine(alert.ruleVersion, 100)}`;
  const prefix = 'Matched: ';
  const termText =
    terms.length === 0
      ? 'no term details'
      : fitList(terms, SLACK_TEXT_MAX_CHARS - prefix.length - version.length, 'terms');
  blocks.push(context(`${prefix}${termText}${version}`));

  const fallback = oneLine(
    `[${severityLabel(alert.severity)}] ${isUpdate ? 'Update · ' : ''}${cleanOneLine(alert.watchName)}: ${headlineOf(alert)}`,
    FALLBACK_MAX_CHARS,
  );
  return { text: fallback, blocks };
}

/** `Also reported by <feed>: <linked title>` within `budget` characters. */
function alsoReportedBy(alert: Alert, budget: number): string {
  const feed = `*${oneLine(alert.item.feed, 200)}*`;
  const prefix = `Also reported by ${feed}: `;
  return `${prefix}${linkedTitle(alert.item.title, alert.item.link, budget - prefix.length)}`;
}

/**
 * Renders "also reported by" for another outlet's report of a story already
 * alerted; in Slack it is posted as a reply in the first alert's thread.
 */
export function renderSlackFollowUp(followUp: FollowUp): SlackMessage {
  const { alert } = followUp;
  const blocks: SlackBlock[] = [section(alsoReportedBy(alert, SLACK_TEXT_MAX_CHARS))];
  const published = formatPublished(alert.item.published);
  blocks.push(
    context(
      [oneLine(alert.watchName, 1000), ...(published === undefined ? [] : [published])].join(' · '),
    ),
  );
  const fallback = oneLine(
    `Also reported by ${cleanOneLine(alert.item.feed)}: ${headlineOf(alert)}`,
    FALLBACK_MAX_CHARS,
  );
  return { text: fallback, blocks };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `3 alerts, 1 update, 2 also reported` for the entries of a digest. */
function describeCounts(entries: readonly DigestEntry[]): string {
  const alerts = entries.filter((e) => e.kind === 'alert').length;
  const updates = entries.filter((e) => e.kind === 'update').length;
  const followUps = entries.filter((e) => e.kind === 'follow-up').length;
  const parts = [
    ...(alerts > 0 ? [plural(alerts, 'alert')] : []),
    ...(updates > 0 ? [plural(updates, 'update')] : []),
    ...(followUps > 0 ? [`${followUps} also reported`] : []),
  ];
  return parts.length === 0 ? 'nothing new' : parts.join(', ');
}

interface StoryGroup {
  storyId: string;
  entries: DigestEntry[];
}

interface WatchGroup {
  watchId: string;
  watchName: string;
  stories: StoryGroup[];
}

/** Groups entries by watch, then by story, each in order of first appearance. */
function groupDigest(entries: readonly DigestEntry[]): WatchGroup[] {
  const watches = new Map<string, WatchGroup>();
  for (const entry of entries) {
    const { watchId, watchName, storyId } = entry.alert;
    let watch = watches.get(watchId);
    if (watch === undefined) {
      watch = { watchId, watchName, stories: [] };
      watches.set(watchId, watch);
    }
    let story = watch.stories.find((s) => s.storyId === storyId);
    if (story === undefined) {
      story = { storyId, entries: [] };
      watch.stories.push(story);
    }
    story.entries.push(entry);
  }
  return [...watches.values()];
}

/** One digest line for an alert or update: linked headline, then feed, time and severity. */
function digestAlertLines(alert: Alert, isUpdate: boolean): string[] {
  const label = isUpdate ? '*Update:* ' : '';
  const headline = `${label}*${linkedTitle(alert.item.title, alert.item.link, 1200)}*`;
  const published = formatPublished(alert.item.published);
  const meta = [
    oneLine(alert.item.feed, 200),
    ...(published === undefined ? [] : [published]),
    oneLine(severityLabel(alert.severity), 50),
  ].join(' · ');
  const lines = [headline, meta];
  const snippet = snippetForAlert(alert, DIGEST_SNIPPET_CHARS);
  if (snippet !== undefined) {
    lines.push(`>${highlightedToSlack(snippet, 600)}`);
  }
  return lines;
}

/** The first report of a story alerted before this digest, shown above its follow-ups. */
function earlierFirstLine(first: FirstReport | undefined, alert: Alert): string {
  const title = first === undefined ? alert.item.title : first.title;
  const link = first === undefined ? undefined : first.link;
  const feed = first === undefined ? '' : ` · ${oneLine(first.feed, 200)}`;
  return `*${linkedTitle(title, link, 1200)}*${feed} · _alerted earlier_`;
}

/**
 * Renders a story's section text, at most {@link SLACK_TEXT_MAX_CHARS}
 * characters: its alerts first, then an "also reported by" line for each
 * follow-up, the lines that do not fit folded into `…and N more reports`.
 */
function renderStory(story: StoryGroup): string {
  const alerts = story.entries.filter((e) => e.kind !== 'follow-up');
  const followUps = story.entries.filter((e) => e.kind === 'follow-up');
  const lines: string[] = [];
  for (const entry of alerts) {
    lines.push(
      ...digestAlertLines(entry.alert, entry.kind === 'update' || entry.alert.kind === 'update'),
    );
  }
  const first = followUps[0];
  if (alerts.length === 0 && first !== undefined) {
    lines.push(earlierFirstLine(first.first, first.alert));
  }
  for (const entry of followUps) {
    lines.push(`• ${alsoReportedBy(entry.alert, 1000)}`);
  }
  let text = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const next = text === '' ? line : `${text}\n${line}`;
    const rest = lines.length - i - 1;
    const more = `\n…and ${lines.length - i} more lines`;
    const reserve = rest > 0 ? more.length : 0;
    if (next.length + reserve > SLACK_TEXT_MAX_CHARS) {
      return `${text}${more}`;
    }
    text = next;
  }
  return text;
}

/**
 * Renders a digest: a header with what it holds, the scheduled time in the
 * subscriber's time zone, then for each watch its stories (alerts first,
 * "also reported by" lines under them). A digest never has more than
 * {@link SLACK_MAX_BLOCKS} blocks: the stories that do not fit are counted in
 * a last `…and N more stories` line.
 */
export function renderSlackDigest(digest: Digest): SlackMessage {
  const counts = describeCounts(digest.entries);
  const when = formatInTimeZone(digest.scheduledFor, digest.timezone);
  const header = `wirewatch digest: ${counts}`.slice(0, SLACK_HEADER_MAX_CHARS);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: header } },
    context(
      `${oneLine(when, 200)}${digest.subscriberName === undefined ? '' : ` · for ${oneLine(digest.subscriberName, 200)}`}`,
    ),
  ];
  const groups = groupDigest(digest.entries);
  const totalStories = groups.reduce((sum, g) => sum + g.stories.length, 0);
  // Room for the stories, keeping one block for the "more" line.
  const limit = SLACK_MAX_BLOCKS - 1;
  let shown = 0;
  outer: for (const group of groups) {
    // A watch heading is only worth its two blocks with at least one story under it.
    if (blocks.length + 3 > limit) {
      break;
    }
    blocks.push({ type: 'divider' }, section(`*${oneLine(group.watchName, 500)}*`));
    for (const story of group.stories) {
      if (blocks.length + 1 > limit) {
        break outer;
      }
      blocks.push(section(renderStory(story)));
      shown++;
    }
  }
  if (shown < totalStories) {
    const hidden = totalStories - shown;
    blocks.push(context(`…and ${hidden} more ${hidden === 1 ? 'story' : 'stories'}`));
  }
  const watchNames = groups.map((g) => oneLine(g.watchName, 100));
  const fallback = escapeWithin(`wirewatch digest: ${counts}`, FALLBACK_MAX_CHARS);
  const about =
    watchNames.length === 0
      ? ''
      : ` · ${fitList(watchNames, FALLBACK_MAX_CHARS - fallback.length - 3, 'watches')}`;
  return { text: `${fallback}${about}`, blocks };
}

/** Private-use characters that stand for links while the text around them is formatted. */
const LINK_OPEN = '\uE000';
const LINK_CLOSE = '\uE001';

function decodeSlackEntities(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

/** Bold, italic, strike and code on text that is already HTML-escaped. */
function formatInline(html: string): string {
  return html
    .replace(/`([^`\n]+)`/g, '<code>$1</code>')
    .replace(/\*(?=\S)([^*\n]*?\S)\*/g, '<strong>$1</strong>')
    .replace(/(^|[\s(])_(?=\S)([^_\n]*?\S)_(?=$|[\s).,:;!?])/g, '$1<em>$2</em>')
    .replace(/~(?=\S)([^~\n]*?\S)~/g, '<del>$1</del>');
}

/**
 * One line of mrkdwn as HTML. `<url|text>` becomes a link only for a safe
 * http(s) URL; any other `<...>` (a mention, a broadcast) is shown as marked
 * text, so a preview makes an escaping mistake visible instead of hiding it.
 */
function mrkdwnLineToHtml(line: string): string {
  const pieces: string[] = [];
  const source = line.replaceAll(LINK_OPEN, '').replaceAll(LINK_CLOSE, '');
  const withPlaceholders = source.replace(/<([^<>]*)>/g, (_whole, inner: string) => {
    const bar = inner.indexOf('|');
    const target = decodeSlackEntities(bar < 0 ? inner : inner.slice(0, bar));
    const label = bar < 0 ? target : decodeSlackEntities(inner.slice(bar + 1));
    const url = /^https?:/i.test(target) ? safeWebLink(target) : undefined;
    pieces.push(
      url === undefined
        ? `<span class="mention">&lt;${escapeHtml(decodeSlackEntities(inner))}&gt;</span>`
        : `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${formatInline(escapeHtml(label))}</a>`,
    );
    return `${LINK_OPEN}${pieces.length - 1}${LINK_CLOSE}`;
  });
  const html = formatInline(escapeHtml(decodeSlackEntities(withPlaceholders)));
  return html.replace(
    new RegExp(`${LINK_OPEN}(\\d+)${LINK_CLOSE}`, 'g'),
    (_whole, index: string) => pieces[Number(index)] ?? '',
  );
}

/** A mrkdwn text as HTML: lines starting with `>` become a quote. */
export function mrkdwnToHtml(mrkdwn: string): string {
  const out: string[] = [];
  let quoted: string[] = [];
  let plain: string[] = [];
  const flushQuote = (): void => {
    if (quoted.length > 0) {
      out.push(`<blockquote>${quoted.join('<br>')}</blockquote>`);
      quoted = [];
    }
  };
  const flushPlain = (): void => {
    if (plain.length > 0) {
      out.push(`<p>${plain.join('<br>')}</p>`);
      plain = [];
    }
  };
  for (const line of mrkdwn.split('\n')) {
    if (line.startsWith('>')) {
      flushPlain();
      quoted.push(mrkdwnLineToHtml(line.slice(1)));
    } else {
      flushQuote();
      plain.push(mrkdwnLineToHtml(line));
    }
  }
  flushQuote();
  flushPlain();
  return out.join('');
}

function blockToHtml(block: SlackBlock): string {
  switch (block.type) {
    case 'header':
      return `<h2 class="block header">${escapeHtml(block.text.text)}</h2>`;
    case 'section':
      return `<div class="block section">${mrkdwnToHtml(block.text.text)}</div>`;
    case 'context':
      return `<div class="block context">${block.elements
        .map((e) => `<span>${mrkdwnToHtml(e.text)}</span>`)
        .join('')}</div>`;
    case 'divider':
      return '<hr class="block divider">';
  }
}

const PREVIEW_CSS = `
*{box-sizing:border-box}
body{margin:0;background:#fff;color:#1d1c1d;font:15px/1.46668 "Lato","Helvetica Neue",Helvetica,Arial,sans-serif}
.message{display:flex;gap:8px;padding:8px 20px;max-width:100%}
.avatar{flex:0 0 36px;height:36px;border-radius:4px;background:#4a154b;color:#fff;font-weight:900;display:flex;align-items:center;justify-content:center}
.content{flex:1 1 auto;min-width:0;overflow-wrap:anywhere}
.sender{font-weight:900}
.badge{font-size:10px;font-weight:700;color:#616061;background:#e8e8e8;border-radius:2px;padding:1px 3px;margin-left:4px;vertical-align:1px}
.time{color:#616061;font-size:12px;margin-left:6px}
.block{margin:4px 0}
.header{font-size:18px;font-weight:900;line-height:1.33;margin:8px 0 4px}
.section p{margin:0}
.context{color:#616061;font-size:12px;line-height:1.5}
.context p{margin:0;display:inline}
.divider{border:0;border-top:1px solid #ddd;margin:12px 0}
blockquote{margin:4px 0;padding:0 0 0 12px;border-left:4px solid #ddd}
a{color:#1264a3;text-decoration:none}
code{font:12px Monaco,Menlo,Consolas,monospace;background:#f8f8f8;border:1px solid #e8e8e8;border-radius:3px;padding:0 2px;color:#e01e5a}
.mention{background:#fff5cc;color:#7a5c00;border-radius:3px;padding:0 2px}
`;

/**
 * A self-contained HTML page that shows a rendered message roughly as Slack
 * lays it out (header, sections with mrkdwn, context, dividers), for
 * screenshots and for reviewing a change to the rendering by eye. It loads
 * nothing: its Content-Security-Policy allows only its own inline styles.
 */
export function renderSlackPreviewHtml(
  message: SlackMessage,
  options: { sender?: string; time?: string } = {},
): string {
  const sender = escapeHtml(options.sender ?? 'wirewatch');
  const time =
    options.time === undefined ? '' : `<span class="time">${escapeHtml(options.time)}</span>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(decodeSlackEntities(cleanOneLine(message.text)))}</title>
<style>${PREVIEW_CSS}</style>
</head>
<body>
<div class="message">
<div class="avatar" aria-hidden="true">w</div>
<div class="content">
<div><span class="sender">${sender}</span><span class="badge">APP</span>${time}</div>
${message.blocks.map(blockToHtml).join('\n')}
</div>
</div>
</body>
</html>
`;
}
