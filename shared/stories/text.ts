/**
 * The text a story fingerprint is taken from: an item's title and the lede of
 * its summary, without the boilerplate that differs between outlets carrying
 * the same report (datelines, agency tags, bylines, "Read more" links).
 */
import type { Item } from '../feeds/item.ts';

/** Normalised text of one report: what its fingerprint is computed from. */
export interface StoryText {
  title: string;
  /** The first sentences of the summary, boilerplate removed (may be empty). */
  lede: string;
}

/** Words of summary the lede keeps at least (whole sentences), when the summary has them. */
const LEDE_MIN_WORDS = 45;
/** Words the lede never exceeds: a very long summary is cut at this many. */
const LEDE_MAX_WORDS = 80;

// A dateline opens the summary: a place in capitals, optionally a region or a
// date after a comma and an agency in brackets, then a dash:
// "MADRID —", "MIAMI GARDENS, Fla. —", "SEOUL, March 4 (Meridian Wire) -".
const DATELINE =
  /^\s*[A-Z][A-Z'’.\- ]*[A-Z.](?:,\s*[^—–\n()]{1,40}?)?\s*(?:\([^)\n]{1,40}\)\s*)?(?:[—–]+|\s-{1,2})\s*/u;
// A dateline in ordinary case is recognised only with its agency: "Seoul, March 4 (Yonhap) --".
const DATELINE_WITH_AGENCY =
  /^\s*\p{Lu}[\p{L}'’. -]{1,30}(?:,[^()—–\n]{1,30})?\s*\([^)\n]{1,40}\)\s*[—–-]{1,2}\s*/u;
// A bare agency tag opening the summary: "(Meridian Wire) -".
const LEADING_AGENCY = /^\s*\([^)\n]{1,40}\)\s*[—–-]{1,2}\s*/u;
// Bylines and editing credits in brackets anywhere: "(Reporting by …; Editing by …)".
const CREDITS_IN_BRACKETS =
  /\s*[([](?:[^)\]]*?\b)?(?:Reporting|Writing|Editing|Additional reporting|Compiled) by\b[^)\]]*[)\]]/giu;
// The same credits as a trailing sentence: "Reporting by A; Editing by B".
const TRAILING_CREDITS =
  /(?:^|\s)(?:Reporting|Writing|Editing|Additional reporting|Compiled) by\b[\s\S]*$/iu;
// Calls to action and sources closing a summary: "Read more", "Continue reading", "Source: …".
const TRAILING_LINKS =
  /(?:^|\s)(?:Read more|Read the full (?:story|article)|Continue reading|Click here|Full story|Source:|Related:|Follow us|Sign up|Subscribe|The post .* appeared first on|Copyright|©)[\s\S]*$/iu;
// A closing agency tag: "(Wire A)", "(Regional Asia)", "— Wire A", "- Reuters".
const TRAILING_AGENCY_BRACKETS = /\s*\((?:[A-Z][\w&.'’-]*)(?:\s+[A-Z][\w&.'’-]*){0,3}\)\s*$/u;
const TRAILING_AGENCY_DASH = /\s+[—–-]{1,2}\s*[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,3}\s*$/u;
const WHITESPACE = /\s+/gu;

/**
 * Removes the boilerplate outlets wrap around a report: a dateline at the
 * start ("MADRID —", "SEOUL, March 4 (Meridian Wire) -"), bylines and editing
 * credits, "Read more" and source links, and a closing agency tag ("(Wire A)",
 * "— Wire B"). Whitespace is collapsed; the facts are left as written.
 */
export function stripBoilerplate(summary: string): string {
  let text = summary.replace(WHITESPACE, ' ').trim();
  text = text.replace(CREDITS_IN_BRACKETS, '');
  text = text.replace(TRAILING_LINKS, '');
  text = text.replace(TRAILING_CREDITS, '');
  // A tag may follow a credit or another tag: strip closing tags until none is left.
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(TRAILING_AGENCY_BRACKETS, '').replace(TRAILING_AGENCY_DASH, '').trim();
  }
  // An aggregator may put its own dateline before the outlet's: strip them until none is left.
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(LEADING_AGENCY, '');
    text = text.replace(DATELINE, '').replace(DATELINE_WITH_AGENCY, '');
    text = text.replace(LEADING_AGENCY, '');
  }
  return text.trim();
}

// Markers wire services put before a headline: "UPDATE 2-", "BREAKING:", "EXCLUSIVE-".
const TITLE_PREFIX =
  /^\s*(?:(?:UPDATE|CORRECTED|REFILE|EXCLUSIVE|BREAKING|WRAPUP|ANALYSIS)(?:\s*\d+)?\s*[-:—–]\s*)+/iu;
// The outlet after a headline: " - Reuters", " | Example News".
const TITLE_SUFFIX = /\s+(?:[-—–|]\s*)(?:[A-Z][\w&.'’]*)(?:\s+[A-Z][\w&.'’]*){0,2}\s*$/u;

/** Removes wire markers before a headline ("UPDATE 2-", "BREAKING:") and the outlet after it. */
export function stripTitleBoilerplate(title: string): string {
  const text = title.replace(WHITESPACE, ' ').trim().replace(TITLE_PREFIX, '');
  const withoutOutlet = text.replace(TITLE_SUFFIX, '');
  // A headline that is nothing but a name and a dash keeps its words.
  return (withoutOutlet.split(' ').length >= 3 ? withoutOutlet : text).trim();
}

// A sentence ends at . ! or ? (a closing quote or bracket may follow) before a
// space and a capital, digit or opening quote. Initials and short
// abbreviations ("N. Korea", "Fla.", "U.S.") do not end a sentence.
const SENTENCE_END = /([.!?]["”’)]?)\s+(?=["“‘(]?[\p{Lu}\p{N}])/gu;
const ABBREVIATION =
  /(?:^|[\s(])(?:[\p{L}]|[\p{Lu}][\p{L}]?\.?[\p{Lu}]?|Mr|Mrs|Ms|Dr|St|Gen|Col|Lt|Sgt|Gov|Sen|Rep|Jr|Sr|No|Fla|Calif|Mass|Wash|Conn|Penn|Mich|Ariz|Colo|Jan|Feb|Aug|Sept|Oct|Nov|Dec|approx|vs|etc|Inc|Corp|Co|Ltd)\.$/u;

/** Splits text into sentences, keeping abbreviations such as "N. Korea" inside one. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + (match[1]?.length ?? 0);
    const candidate = text.slice(start, end);
    if (ABBREVIATION.test(candidate.slice(-8))) continue;
    sentences.push(candidate.trim());
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) sentences.push(rest);
  return sentences.filter((sentence) => sentence.length > 0);
}

/**
 * The lede of a summary: its first sentences up to about `LEDE_MIN_WORDS`
 * words (whole sentences), never more than `LEDE_MAX_WORDS`. Trimmed copies
 * keep the first sentences, so the lede is what two copies share most.
 */
export function lede(summary: string): string {
  const words: string[] = [];
  for (const sentence of splitSentences(stripBoilerplate(summary))) {
    if (words.length >= LEDE_MIN_WORDS) break;
    words.push(...sentence.split(' '));
  }
  return words.slice(0, LEDE_MAX_WORDS).join(' ');
}

/** The normalised text of an item for fingerprinting: title and lede, boilerplate removed. */
export function storyText(item: Pick<Item, 'title' | 'summary'>): StoryText {
  return { title: stripTitleBoilerplate(item.title), lede: lede(item.summary) };
}
