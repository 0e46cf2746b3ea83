/**
 * Assigns every item to a story: the story of an earlier first report it is
 * confirmed to tell (looked up by fingerprint key within a time window), or a
 * new story of its own. Only first reports are stored and compared against,
 * so near-duplication never chains: C joins A's story only if C matches A
 * itself, not because it matches B, which matched A.
 */
import { createHash } from 'node:crypto';
import type { Item } from '../feeds/item.ts';
import { type Clock, type StoryReport, type StoryStore, systemClock } from '../ports.ts';
import { type CompareOptions, type Comparison, compareReports } from './compare.ts';
import {
  FINGERPRINT_VERSION,
  type Fingerprint,
  fingerprintItem,
  fingerprintText,
  lookupKeys,
} from './fingerprint.ts';
import { TermWeights } from './term-weights.ts';

/** The story of one item. */
export interface StoryAssignment {
  /** The story: `storyIdOf` its first report (of the item itself when it starts one). */
  storyId: string;
  /** The item is the story's first report. */
  isNew: boolean;
  /** The item tells the story's event with substantially new facts (alert only if asked). */
  isUpdate: boolean;
  /** The first report the item was confirmed against, when it joined a story. */
  matchedReportId?: string;
  /** The comparison with that first report, when it joined a story. */
  comparison?: Comparison;
}

/** What `assignStory` needs. */
export interface AssignStoryDeps {
  store: StoryStore;
  clock?: Clock;
  /** Hours around an item's publication in which its story is looked for. Default 72. */
  windowHours?: number;
  /** Thresholds of the comparison; `DEFAULT_COMPARE_OPTIONS` when absent. */
  compareOptions?: CompareOptions;
  /**
   * Term weights learnt from the reports assigned so far; the process's own
   * (`processTermWeights`) when absent, so a classifier instance learns from
   * every item it sees.
   */
  termWeights?: TermWeights;
}

/** The term weights of this process: every report it assigns is counted. */
export const processTermWeights = new TermWeights();

/**
 * The id of the story an item starts. Item ids are unique only within a feed,
 * so the story id digests both.
 */
export function storyIdOf(item: Pick<Item, 'feed' | 'id'>): string {
  return `s-${createHash('sha256').update(`${item.feed}\n${item.id}`).digest('hex').slice(0, 24)}`;
}

/** Default story window: an item joins only a story first reported within 72 hours of it. */
export const DEFAULT_STORY_WINDOW_HOURS = 72;

const HOUR_MS = 60 * 60 * 1000;
/**
 * Fingerprint keys looked up together (in parallel) before deciding whether
 * to look further: one first (a copy of a story shares nearly every key, so
 * its first key finds it: one query for the commonest later report), then
 * four at a time. A report that starts a story queries every key either way.
 */
const FIRST_LOOKUP_KEYS = 1;
const KEYS_PER_LOOKUP = 4;

/**
 * Fingerprints of first reports compared recently, by report. A first report
 * is compared against every later report of its story (and every look-alike),
 * and its record never changes, so its fingerprint is computed once per
 * process, not once per comparison. Bounded: the least recently used go first.
 */
const FIRST_REPORT_CACHE_SIZE = 2_000;
const firstReportFingerprints = new Map<string, Fingerprint>();

/** The fingerprint of a stored first report, from the cache when its text is the one cached. */
function firstReportFingerprint(report: StoryReport): Fingerprint {
  const key = `${report.fingerprintVersion}\n${report.feed}\n${report.reportId}`;
  const cached = firstReportFingerprints.get(key);
  if (cached && cached.text.title === report.title && cached.text.lede === report.lede) {
    firstReportFingerprints.delete(key);
    firstReportFingerprints.set(key, cached);
    return cached;
  }
  const fingerprint = fingerprintText({ title: report.title, lede: report.lede });
  firstReportFingerprints.delete(key);
  firstReportFingerprints.set(key, fingerprint);
  if (firstReportFingerprints.size > FIRST_REPORT_CACHE_SIZE) {
    const oldest = firstReportFingerprints.keys().next();
    if (!oldest.done) firstReportFingerprints.delete(oldest.value);
  }
  return fingerprint;
}

/** The keys of a fingerprint as stored: prefixed with the fingerprint version. */
export function storyKeys(fingerprint: Fingerprint): string[] {
  return lookupKeys(fingerprint).map((key) => `v${FINGERPRINT_VERSION}:${key}`);
}

/** Publication time of an item, or now when the feed gave none. */
function publishedAt(item: Pick<Item, 'published'>, clock: Clock): Date {
  const published = item.published ? new Date(item.published) : undefined;
  return published && !Number.isNaN(published.getTime()) ? published : clock.now();
}

/** Orders candidate matches: same before update, then most similar, then earliest. */
function better(
  a: { report: StoryReport; comparison: Comparison },
  b: { report: StoryReport; comparison: Comparison },
): boolean {
  const rank = (relation: Comparison['relation']): number => (relation === 'same' ? 0 : 1);
  if (rank(a.comparison.relation) !== rank(b.comparison.relation)) {
    return rank(a.comparison.relation) < rank(b.comparison.relation);
  }
  if (a.comparison.similarity !== b.comparison.similarity) {
    return a.comparison.similarity > b.comparison.similarity;
  }
  return a.report.publishedAt < b.report.publishedAt;
}

/**
 * Finds the story of `item`: looks its fingerprint keys up (one query per
 * key, within `windowHours` of its publication), confirms each first report
 * found (similarity and agreeing details), and joins the best confirmed one;
 * with none, records the item as a new story's first report. Processing the
 * same item again gives the same answer.
 */
export async function assignStory(item: Item, deps: AssignStoryDeps): Promise<StoryAssignment> {
  const clock = deps.clock ?? systemClock;
  const windowMs = (deps.windowHours ?? DEFAULT_STORY_WINDOW_HOURS) * HOUR_MS;
  const fingerprint = fingerprintItem(item);
  const weights = deps.termWeights ?? processTermWeights;
  weights.observe(fingerprint.termSet);
  const keys = storyKeys(fingerprint);
  const published = publishedAt(item, clock);
  const ownStory = storyIdOf(item);
  if (keys.length === 0) return { storyId: ownStory, isNew: true, isUpdate: false };

  // Keys are looked up a few at a time, and the look-up stops at the first
  // chunk that confirms the same story: a copy of a story (the common case)
  // costs a chunk of queries, not one per key. A first report is stored under
  // all its keys, so a redelivered one finds itself in the first chunk (its
  // claim on the strongest key, at least, when recording the rest failed).
  const from = new Date(published.getTime() - windowMs);
  const to = new Date(published.getTime() + windowMs);
  const compared = new Set<string>();
  let best: { report: StoryReport; comparison: Comparison } | undefined;
  let redelivered = false;
  for (let start = 0, size = FIRST_LOOKUP_KEYS; start < keys.length; start += size) {
    size = start === 0 ? FIRST_LOOKUP_KEYS : KEYS_PER_LOOKUP;
    const reports = await deps.store.findFirstReports(keys.slice(start, start + size), from, to);
    if (reports.some((report) => report.reportId === item.id && report.feed === item.feed)) {
      redelivered = true;
      break;
    }
    for (const report of reports) {
      const reportKey = `${report.feed}\n${report.reportId}`;
      if (compared.has(reportKey)) continue;
      compared.add(reportKey);
      const first = firstReportFingerprint(report);
      const hoursAfterFirst = (published.getTime() - Date.parse(report.publishedAt)) / HOUR_MS;
      const comparison = compareReports(
        first,
        fingerprint,
        hoursAfterFirst,
        deps.compareOptions,
        weights,
      );
      if (comparison.relation === 'different') continue;
      const match = { report, comparison };
      if (!best || better(match, best)) best = match;
    }
    if (best?.comparison.relation === 'same') break;
  }
  if (best && !redelivered) {
    return {
      storyId: best.report.storyId,
      isNew: false,
      isUpdate: best.comparison.relation === 'update',
      matchedReportId: best.report.reportId,
      comparison: best.comparison,
    };
  }

  const now = clock.now();
  const expiresAt = new Date(Math.max(published.getTime(), now.getTime()) + windowMs);
  const report: StoryReport = {
    storyId: ownStory,
    reportId: item.id,
    feed: item.feed,
    publishedAt: published.toISOString(),
    title: fingerprint.text.title,
    lede: fingerprint.text.lede,
    fingerprintVersion: FINGERPRINT_VERSION,
  };
  if (redelivered) {
    // It started this story before: make sure every key says so (the puts are
    // idempotent), since the attempt that found nothing may have died or
    // failed between its claim and the rest of the keys.
    await deps.store.recordFirstReport(report, keys, expiresAt);
    return { storyId: ownStory, isNew: true, isUpdate: false };
  }
  // Copies of one event classified at the same moment all find nothing above;
  // the first to claim the strongest key starts the story and the others join it.
  const joined = await claimOrJoin(report, keys[0] ?? '', fingerprint, published, expiresAt, {
    ...deps,
    termWeights: weights,
    windowHours: windowMs / HOUR_MS,
  });
  if (joined) return joined;
  await deps.store.recordFirstReport(report, keys, expiresAt);
  return { storyId: ownStory, isNew: true, isUpdate: false };
}

/** Times a report takes a key over from holders that tell other events before starting its story anyway. */
const CLAIM_ATTEMPTS = 3;

/**
 * Claims `key` for `report`'s new story. When another report holds it, the
 * report is compared with the holder: the same event joins the holder's
 * story (returned); another event takes the key over, conditionally on the
 * holder still holding it. `undefined`: the report starts its own story.
 */
async function claimOrJoin(
  report: StoryReport,
  key: string,
  fingerprint: Fingerprint,
  published: Date,
  expiresAt: Date,
  deps: AssignStoryDeps & { termWeights: TermWeights; windowHours: number },
): Promise<StoryAssignment | undefined> {
  const { windowHours } = deps;
  let replacing: StoryReport | undefined;
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const claim = await deps.store.claimStory(key, report, expiresAt, replacing);
    if (claim.won) return undefined;
    const holder = claim.holder;
    if (holder.reportId === report.reportId && holder.feed === report.feed) return undefined;
    const hoursAfterFirst = (published.getTime() - Date.parse(holder.publishedAt)) / HOUR_MS;
    // A holder published outside the story window tells another event, whatever its text.
    if (Math.abs(hoursAfterFirst) > windowHours) {
      replacing = holder;
      continue;
    }
    const comparison = compareReports(
      firstReportFingerprint(holder),
      fingerprint,
      hoursAfterFirst,
      deps.compareOptions,
      deps.termWeights,
    );
    if (comparison.relation !== 'different') {
      return {
        storyId: holder.storyId,
        isNew: false,
        isUpdate: comparison.relation === 'update',
        matchedReportId: holder.reportId,
        comparison,
      };
    }
    replacing = holder;
  }
  return undefined;
}
