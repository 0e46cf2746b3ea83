/**
 * Alert and digest emails: a subject, a plain-text part and an HTML part that
 * reads on a phone (one fluid column at most 600px wide, inline styles only,
 * text of 14px or more, no remote images or stylesheets). Pure functions.
 *
 * Feed text is untrusted: every string from an item, a watch or a subscriber
 * is escaped; an item's `summaryHtml` is sanitised again here, so that the
 * email is safe whatever produced the alert.
 */
import { sanitizeFeedHtml } from '../feeds/sanitize-html.ts';
import type { Alert, Digest, DigestEntry, FirstReport, UnsubscribeLink } from '../ports.ts';
import {
  cleanOneLine,
  cutTo,
  escapeHtml,
  formatInTimeZone,
  formatPublished,
  type HighlightedText,
  headlineOf,
  highlightSnippet,
  matchedRanges,
  type SnippetSegment,
  safeWebLink,
  severityLabel,
  snippetForAlert,
  summariseMatchedTerms,
} from './render.ts';

/** The parts of an email. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

const SUBJECT_MAX_CHARS = 250;
const ELLIPSIS = '…';
const PRODUCT = 'wirewatch';

const COLOURS = {
  text: '#1a1a1a',
  muted: '#555555',
  link: '#0b57d0',
  rule: '#dddddd',
  page: '#f2f2f2',
};

const SEVERITY_COLOURS = new Map([
  ['critical', '#b00020'],
  ['high', '#b00020'],
  ['medium', '#8a4f00'],
  ['low', '#2e6b30'],
]);

const STYLE = {
  body: `margin:0;padding:0;background:${COLOURS.page};color:${COLOURS.text};font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;-webkit-text-size-adjust:100%`,
  column: `max-width:600px;margin:0 auto;padding:20px 16px;background:#ffffff;box-sizing:border-box;overflow-wrap:break-word;word-wrap:break-word`,
  badgeRow: 'margin:0 0 10px;font-size:14px;line-height:1.6',
  badge:
    'display:inline-block;padding:1px 8px;border-radius:10px;color:#ffffff;font-size:14px;font-weight:bold',
  headline: 'margin:0 0 8px;font-size:22px;line-height:1.3;font-weight:bold',
  headlineLink: `color:${COLOURS.link};text-decoration:none`,
  meta: `margin:0 0 14px;font-size:14px;color:${COLOURS.muted}`,
  snippet: `margin:0 0 14px;padding-left:12px;border-left:3px solid ${COLOURS.rule};font-size:16px`,
  summary: 'margin:0 0 14px;font-size:16px',
  matched: 'margin:0 0 14px;font-size:15px',
  footer: `margin:24px 0 0;padding-top:12px;border-top:1px solid ${COLOURS.rule};font-size:14px;color:${COLOURS.muted}`,
  footerLink: `color:${COLOURS.link}`,
  watchHeading: `margin:28px 0 4px;padding-bottom:4px;border-bottom:2px solid ${COLOURS.rule};font-size:19px;line-height:1.3`,
  story: 'margin:16px 0 0',
  storyHeadline: 'margin:0 0 4px;font-size:18px;line-height:1.3;font-weight:bold',
  alsoReported: `margin:6px 0 0;padding-left:12px;font-size:15px;color:${COLOURS.muted}`,
};

/** Inline styles for the elements a sanitised summary may hold. */
const SUMMARY_STYLES: Readonly<Record<string, string>> = {
  p: 'margin:0 0 10px',
  div: 'margin:0',
  a: `color:${COLOURS.link}`,
  h4: 'margin:12px 0 6px;font-size:17px',
  blockquote: `margin:0 0 10px;padding-left:12px;border-left:3px solid ${COLOURS.rule}`,
  ul: 'margin:0 0 10px;padding-left:22px',
  ol: 'margin:0 0 10px;padding-left:22px',
  pre: 'margin:0 0 10px;white-space:pre-wrap;font-size:14px',
  code: 'font-size:14px',
};

function segmentsToHtml(segments: readonly SnippetSegment[]): string {
  return segments
    .map((s) => (s.highlighted ? `<strong>${escapeHtml(s.text)}</strong>` : escapeHtml(s.text)))
    .join('');
}

function highlightedToHtml(text: HighlightedText): string {
  const before = text.clippedStart ? ELLIPSIS : '';
  const after = text.clippedEnd ? ELLIPSIS : '';
  return `${before}${segmentsToHtml(text.segments)}${after}`;
}

function highlightedToText(text: HighlightedText): string {
  const before = text.clippedStart ? ELLIPSIS : '';
  const after = text.clippedEnd ? ELLIPSIS : '';
  return `${before}${text.segments.map((s) => s.text).join('')}${after}`;
}

/** The title with its matched terms in bold; offsets refer to the raw title, so it is not trimmed first. */
function titleHtml(alert: Alert): string {
  if (alert.item.title.trim() === '') return escapeHtml(headlineOf(alert));
  const highlighted = highlightSnippet(alert.item.title, matchedRanges(alert, 'title'), Infinity);
  return segmentsToHtml(highlighted.segments).replace(/\s+/g, ' ').trim();
}

function linkedHtml(innerHtml: string, link: string | undefined, style: string): string {
  return link === undefined
    ? innerHtml
    : `<a href="${escapeHtml(link)}" style="${style}">${innerHtml}</a>`;
}

function badgeHtml(label: string, colour: string): string {
  return `<span style="${STYLE.badge};background:${colour}">${escapeHtml(label)}</span>`;
}

function severityBadge(severity: string): string {
  const colour = SEVERITY_COLOURS.get(severity.trim().toLowerCase()) ?? COLOURS.muted;
  return badgeHtml(severityLabel(severity), colour);
}

function sourceLine(alert: Alert): string {
  const published = formatPublished(alert.item.published) ?? 'publication time unknown';
  return `${cleanOneLine(alert.item.feed)} · ${published}`;
}

function termsLine(alert: Alert): { text: string; html: string } {
  const terms = summariseMatchedTerms(alert.matchedTerms);
  if (terms.length === 0) return { text: 'no term details', html: 'no term details' };
  return {
    text: terms.map((t) => `${t.term} (${t.fields.join(', ')})`).join(', '),
    html: terms
      .map((t) => `<strong>${escapeHtml(t.term)}</strong> (${t.fields.join(', ')})`)
      .join(', '),
  };
}

/** The link as a `mailto:` URL, or `undefined` when it is not one. */
export function safeMailto(mailto: string | undefined): string | undefined {
  if (mailto === undefined) return undefined;
  try {
    const url = new URL(mailto.trim());
    return url.protocol === 'mailto:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function unsubscribeParts(
  link: UnsubscribeLink | undefined,
  label: string,
): { text: string[]; html: string } {
  const url = safeWebLink(link?.url);
  const mailto = safeMailto(link?.mailto);
  if (url === undefined && mailto === undefined) return { text: [], html: '' };
  const target = url ?? mailto ?? '';
  return {
    text: [`${label}: ${target}`],
    html: `<br><a href="${escapeHtml(target)}" style="${STYLE.footerLink}">${escapeHtml(label)}</a>`,
  };
}

function htmlDocument(title: string, preheader: string, body: readonly string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${escapeHtml(title)}</title>`,
    '</head>',
    `<body style="${STYLE.body}">`,
    // The preview line mail clients show next to the subject, hidden in the message.
    `<div style="display:none;max-height:0;overflow:hidden">${escapeHtml(preheader)}</div>`,
    `<div style="${STYLE.column}">`,
    ...body,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The subject of an alert: `[Watch name] Headline`, `[Watch name] Update: Headline` for an update. */
export function alertSubject(alert: Alert): string {
  const update = alert.kind === 'update' ? 'Update: ' : '';
  return cutTo(
    `[${cleanOneLine(alert.watchName)}] ${update}${headlineOf(alert)}`,
    SUBJECT_MAX_CHARS,
  );
}

/**
 * Renders one alert: badges (severity, watch, update), the linked headline
 * with its matched terms in bold, source and time, the sanitised summary HTML
 * when the item has one (else the snippet around the first match), the
 * matched terms, and a footer saying why it was sent, with the unsubscribe link.
 */
export function renderEmailAlert(alert: Alert): EmailContent {
  const subject = alertSubject(alert);
  const watchName = cleanOneLine(alert.watchName);
  const headline = headlineOf(alert);
  const link = safeWebLink(alert.item.link);
  const rawLink = cleanOneLine(alert.item.link ?? '');
  const isUpdate = alert.kind === 'update';
  const snippet = snippetForAlert(alert);
  const summarySnippet = snippet?.field === 'summary' ? snippet : undefined;
  const terms = termsLine(alert);
  const why = `You get this because you follow the watch "${watchName}" in ${PRODUCT}.`;
  const unsubscribe = unsubscribeParts(alert.unsubscribe, 'Unsubscribe from this watch');

  const text: string[] = [];
  text.push(`${isUpdate ? '[UPDATE] ' : ''}[${severityLabel(alert.severity)}] ${watchName}`);
  text.push(headline);
  if (link !== undefined) text.push(link);
  else if (rawLink !== '') text.push(`Link (not a web link): ${rawLink}`);
  text.push(sourceLine(alert));
  text.push(`Matched: ${terms.text}`);
  if (summarySnippet !== undefined) text.push('', `"${highlightedToText(summarySnippet)}"`);
  text.push('', '-- ', why, ...unsubscribe.text);

  const badges = [severityBadge(alert.severity)];
  if (isUpdate) badges.push(badgeHtml('UPDATE', COLOURS.link));
  const html: string[] = [];
  html.push(
    `<p style="${STYLE.badgeRow}">${badges.join(' ')} <span style="color:${COLOURS.muted}">${escapeHtml(watchName)}</span></p>`,
  );
  html.push(
    `<h1 style="${STYLE.headline}">${linkedHtml(titleHtml(alert), link, STYLE.headlineLink)}</h1>`,
  );
  html.push(`<p style="${STYLE.meta}">${escapeHtml(sourceLine(alert))}</p>`);
  const summaryHtml = sanitisedSummary(alert);
  if (summaryHtml !== undefined) {
    html.push(`<div style="${STYLE.summary}">${summaryHtml}</div>`);
  } else if (summarySnippet !== undefined) {
    html.push(`<p style="${STYLE.snippet}">${highlightedToHtml(summarySnippet)}</p>`);
  }
  html.push(`<p style="${STYLE.matched}">Matched: ${terms.html}</p>`);
  if (link !== undefined) {
    html.push(
      `<p style="margin:0 0 14px;font-size:16px"><a href="${escapeHtml(link)}" style="${STYLE.footerLink}">Read the report</a></p>`,
    );
  } else if (rawLink !== '') {
    html.push(
      `<p style="${STYLE.meta}">Link (not a web link, not opened): ${escapeHtml(rawLink)}</p>`,
    );
  }
  html.push(`<p style="${STYLE.footer}">${escapeHtml(why)}${unsubscribe.html}</p>`);

  const preheader = summarySnippet === undefined ? headline : highlightedToText(summarySnippet);
  return {
    subject,
    text: `${text.join('\n')}\n`,
    html: htmlDocument(subject, preheader, html),
  };
}

function sanitisedSummary(alert: Alert): string | undefined {
  const source = alert.item.summaryHtml;
  if (source === undefined || source.trim() === '') return undefined;
  const clean = sanitizeFeedHtml(source, safeWebLink(alert.item.link), {
    inlineStyles: SUMMARY_STYLES,
  });
  return clean === '' ? undefined : clean;
}

/** One story of a digest: its alerts and updates, and the other reports of it. */
interface DigestStory {
  storyId: string;
  alerts: DigestEntry[];
  followUps: DigestEntry[];
}

interface DigestWatch {
  watchId: string;
  watchName: string;
  unsubscribe?: UnsubscribeLink;
  stories: DigestStory[];
}

/** Groups entries by watch, then by story, each in the order first queued. */
function groupDigest(entries: readonly DigestEntry[]): DigestWatch[] {
  const watches = new Map<string, DigestWatch & { byStory: Map<string, DigestStory> }>();
  for (const entry of entries) {
    const { alert } = entry;
    let watch = watches.get(alert.watchId);
    if (watch === undefined) {
      watch = {
        watchId: alert.watchId,
        watchName: cleanOneLine(alert.watchName) || alert.watchId,
        stories: [],
        byStory: new Map(),
      };
      watches.set(alert.watchId, watch);
    }
    if (watch.unsubscribe === undefined && alert.unsubscribe !== undefined) {
      watch.unsubscribe = alert.unsubscribe;
    }
    let story = watch.byStory.get(alert.storyId);
    if (story === undefined) {
      story = { storyId: alert.storyId, alerts: [], followUps: [] };
      watch.byStory.set(alert.storyId, story);
      watch.stories.push(story);
    }
    (entry.kind === 'follow-up' ? story.followUps : story.alerts).push(entry);
  }
  return [...watches.values()].map(({ byStory: _byStory, ...watch }) => watch);
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The subject of a digest: `wirewatch digest: N alerts (watch names…)`. */
export function digestSubject(digest: Digest): string {
  const groups = groupDigest(digest.entries);
  const alerts = digest.entries.filter((e) => e.kind !== 'follow-up').length;
  const followUps = digest.entries.length - alerts;
  const counts = [
    ...(alerts > 0 || followUps === 0 ? [plural(alerts, 'alert', 'alerts')] : []),
    ...(followUps > 0 ? [plural(followUps, 'more report', 'more reports')] : []),
  ].join(', ');
  const prefix = `${PRODUCT} digest: ${counts}`;
  const names = groups.map((g) => g.watchName);
  if (names.length === 0) return prefix;
  let list = '';
  for (const [index, name] of names.entries()) {
    const next = index === 0 ? name : `${list}, ${name}`;
    const rest = names.length - index - 1;
    if (`${prefix} (${next}${rest > 0 ? ', …' : ''})`.length > SUBJECT_MAX_CHARS) {
      list = index === 0 ? cutTo(name, SUBJECT_MAX_CHARS - prefix.length - 3) : `${list}, …`;
      break;
    }
    list = next;
  }
  return `${prefix} (${list})`;
}

/** The headline of a story whose first alert went out before this digest. */
function earlierStory(story: DigestStory): FirstReport | undefined {
  return story.followUps.find((e) => e.first !== undefined)?.first;
}

function alsoReported(entry: DigestEntry): { text: string; html: string } {
  const { alert } = entry;
  const feed = cleanOneLine(alert.item.feed);
  const link = safeWebLink(alert.item.link);
  const headline = headlineOf(alert);
  return {
    text: `  Also reported by ${feed}: ${headline}${link === undefined ? '' : ` <${link}>`}`,
    html: `<p style="${STYLE.alsoReported}">Also reported by ${escapeHtml(feed)}: ${linkedHtml(escapeHtml(headline), link, STYLE.footerLink)}</p>`,
  };
}

function storyParts(story: DigestStory): { text: string[]; html: string[] } {
  const text: string[] = [];
  const html: string[] = [`<div style="${STYLE.story}">`];
  for (const entry of story.alerts) {
    const { alert } = entry;
    const isUpdate = entry.kind === 'update';
    const link = safeWebLink(alert.item.link);
    const snippet = snippetForAlert(alert);
    const summarySnippet = snippet?.field === 'summary' ? snippet : undefined;
    text.push(
      `* ${isUpdate ? 'Update: ' : ''}${headlineOf(alert)} [${severityLabel(alert.severity)}]`,
    );
    if (link !== undefined) text.push(`  ${link}`);
    text.push(`  ${sourceLine(alert)}`);
    if (summarySnippet !== undefined) text.push(`  "${highlightedToText(summarySnippet)}"`);
    const badges = [severityBadge(alert.severity)];
    if (isUpdate) badges.push(badgeHtml('UPDATE', COLOURS.link));
    html.push(
      `<p style="${STYLE.storyHeadline}">${linkedHtml(titleHtml(alert), link, STYLE.headlineLink)}</p>`,
      `<p style="margin:0 0 6px;font-size:14px;color:${COLOURS.muted}">${badges.join(' ')} ${escapeHtml(sourceLine(alert))}</p>`,
    );
    if (summarySnippet !== undefined) {
      html.push(`<p style="${STYLE.snippet}">${highlightedToHtml(summarySnippet)}</p>`);
    }
  }
  if (story.alerts.length === 0) {
    const first = earlierStory(story);
    const headline =
      first === undefined ? 'A story you were alerted to earlier' : cleanOneLine(first.title);
    const link = safeWebLink(first?.link);
    text.push(`* ${headline} (alerted earlier)`);
    if (link !== undefined) text.push(`  ${link}`);
    html.push(
      `<p style="${STYLE.storyHeadline}">${linkedHtml(escapeHtml(headline), link, STYLE.headlineLink)}</p>`,
      `<p style="margin:0 0 6px;font-size:14px;color:${COLOURS.muted}">Alerted earlier${first === undefined ? '' : ` from ${escapeHtml(cleanOneLine(first.feed))}`}</p>`,
    );
  }
  for (const entry of story.followUps) {
    const line = alsoReported(entry);
    text.push(line.text);
    html.push(line.html);
  }
  html.push('</div>');
  return { text, html };
}

/**
 * Renders a digest: the subscriber's alerts grouped by watch, then by story;
 * each story's alerts and updates with headline, source, time and snippet,
 * and its other reports as "Also reported by <feed>: <title>" lines (under the
 * first report's title when that was alerted before this digest). The footer
 * says why it was sent, with unsubscribe links per watch and for everything.
 */
export function renderEmailDigest(digest: Digest): EmailContent {
  const subject = digestSubject(digest);
  const groups = groupDigest(digest.entries);
  const when = formatInTimeZone(digest.scheduledFor, digest.timezone);
  const name = cleanOneLine(digest.subscriberName ?? '');
  const intro = `${name === '' ? 'Your' : `${name}, your`} ${PRODUCT} digest for ${when}.`;
  const why = `You get this digest because you follow these watches in ${PRODUCT} and chose digest delivery.`;
  const unsubscribe = unsubscribeParts(digest.unsubscribe, 'Unsubscribe from all alerts');

  const text: string[] = [intro, ''];
  const html: string[] = [
    `<h1 style="${STYLE.headline}">${escapeHtml(`${PRODUCT} digest`)}</h1>`,
    `<p style="${STYLE.meta}">${escapeHtml(intro)}</p>`,
  ];
  for (const group of groups) {
    text.push(`== ${group.watchName} ==`);
    html.push(`<h2 style="${STYLE.watchHeading}">${escapeHtml(group.watchName)}</h2>`);
    for (const story of group.stories) {
      const parts = storyParts(story);
      text.push(...parts.text);
      html.push(...parts.html);
    }
    const stop = unsubscribeParts(group.unsubscribe, `Stop alerts for "${group.watchName}"`);
    if (stop.text.length > 0) {
      text.push(...stop.text.map((line) => `  ${line}`));
      html.push(`<p style="margin:10px 0 0;font-size:14px">${stop.html.replace(/^<br>/, '')}</p>`);
    }
    text.push('');
  }
  if (groups.length === 0) {
    text.push('Nothing new since the last digest.', '');
    html.push(`<p style="${STYLE.summary}">Nothing new since the last digest.</p>`);
  }
  text.push('-- ', why, ...unsubscribe.text);
  html.push(`<p style="${STYLE.footer}">${escapeHtml(why)}${unsubscribe.html}</p>`);

  return {
    subject,
    text: `${text.join('\n')}\n`,
    html: htmlDocument(subject, intro, html),
  };
}
