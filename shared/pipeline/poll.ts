/**
 * The poller: fetch each feed with a conditional GET, parse and normalise it,
 * keep only the items not seen before (conditional write), and queue them for
 * the classifier. A feed that fails is recorded on its state and skipped; the
 * others go on.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  FeedFetchError,
  type FeedFetcher,
  type FetchFeedOptions,
  fetchFeed,
} from '../feeds/fetch.ts';
import {
  backoffMs,
  defaultBounds,
  type FeedHealth,
  type FeedHints,
  feedHealth,
  nextPollTime,
  observedCadenceSeconds,
  updatedItemsPerDay,
} from '../feeds/health.ts';
import type { Item } from '../feeds/item.ts';
import { contentKey, normaliseEntries } from '../feeds/normalise.ts';
import { FeedParseError, parseFeed } from '../feeds/parse.ts';
import { encodeMessage, type ItemMessage, ItemMessageSchema } from '../messages.ts';
import {
  type Clock,
  type FeedError,
  type FeedState,
  type FeedStateStore,
  type Logger,
  type QueueSender,
  type SeenItemsStore,
  withLogFields,
} from '../ports.ts';

/** A feed to poll, as configured. */
export interface FeedToPoll {
  id: string;
  url: string;
  /** The shortest interval between two polls (the configured one). */
  intervalSeconds: number;
  /** The longest interval a quiet feed is left alone; default from `defaultBounds`. */
  maxIntervalSeconds?: number;
}

export interface PollerDeps {
  feedStates: FeedStateStore;
  seenItems: SeenItemsStore;
  itemsQueue: QueueSender<ItemMessage>;
  clock: Clock;
  logger: Logger;
  /** The fetcher; the default is `fetchFeed`. */
  fetchFeed?: FeedFetcher;
  /** Maps a configured URL to the URL fetched (the local runner serves `local:` URLs). */
  resolveUrl?: (url: string) => string;
  /** Limits and the SSRF policy for every fetch (`allowPrivateNetworks` and the like). */
  fetchOptions?: FetchFeedOptions;
  /** Random numbers in [0, 1) for back-off jitter; default `Math.random`. */
  random?: () => number;
}

export interface PollOptions {
  /** Poll every feed, due or not (a manual run). Default false: only feeds whose `nextPollAt` has passed. */
  all?: boolean;
  /** Feeds fetched at the same time. Default 16. */
  concurrency?: number;
  /** How long an item is remembered as seen. Default 30 days. */
  seenRetentionDays?: number;
  /** Called after each feed, for progress display. */
  onFeed?: (result: FeedPollResult) => void;
  /**
   * How often the poller runs (the schedule's period). When set, a healthy
   * feed that answers 304 and is due again by the next run anyway writes no
   * state at all: an unchanged poll then costs no DynamoDB write.
   */
  scheduleSeconds?: number;
  /**
   * Names the poll run on its log lines and begins the correlation id of
   * every item it queues (`<pollId>-<item digest>`). Default: a random id.
   */
  pollId?: string;
}

export type FeedPollResult =
  | {
      feedId: string;
      status: 'polled';
      itemsNew: number;
      itemsSeen: number;
      skippedEntries: number;
      health: FeedHealth;
    }
  | { feedId: string; status: 'not-modified'; health: FeedHealth }
  | {
      feedId: string;
      status: 'failed';
      error: FeedError;
      consecutiveFailures: number;
      nextPollAt: string;
      health: FeedHealth;
    };

export interface PollReport {
  /** The run's id: its lines carry it, and its items' correlation ids begin with it. */
  pollId: string;
  feedsDue: number;
  feedsPolled: number;
  feedsNotModified: number;
  feedsFailed: number;
  itemsNew: number;
  itemsSeen: number;
  results: FeedPollResult[];
}

const DEFAULT_SEEN_RETENTION_DAYS = 30;
/** Feed states written per batch (DynamoDB's BatchWriteItem takes 25). */
const STATE_FLUSH_SIZE = 25;
/** Seen-item writes in flight per feed. */
const SEEN_WRITE_CONCURRENCY = 16;
const DAY_MS = 86_400_000;

/** Polls the due feeds (or all with `all`), a few at a time. */
export async function pollFeeds(
  feeds: readonly FeedToPoll[],
  deps: PollerDeps,
  options: PollOptions = {},
): Promise<PollReport> {
  const pollId = options.pollId ?? newPollId();
  // One read of every state for the whole run, rather than one per feed.
  const states = new Map((await deps.feedStates.list()).map((s) => [s.feedId, s]));
  const now = deps.clock.now();
  const due = feeds.filter((feed) => {
    const next = states.get(feed.id)?.nextPollAt;
    return options.all || next === undefined || new Date(next) <= now;
  });
  const results: FeedPollResult[] = [];
  // Feed states are written in batches: an unchanged feed then costs no request
  // of its own. A crash before a flush only means a feed is fetched again.
  let pendingStates: FeedState[] = [];
  const flush = async (): Promise<void> => {
    const batch = pendingStates;
    pendingStates = [];
    await deps.feedStates.putMany(batch);
  };
  const queue = [...due];
  const worker = async (): Promise<void> => {
    for (let feed = queue.shift(); feed; feed = queue.shift()) {
      const { result, state } = await pollFeed(feed, states.get(feed.id), deps, {
        ...options,
        pollId,
      });
      if (state) pendingStates.push(state);
      if (pendingStates.length >= STATE_FLUSH_SIZE) await flush();
      results.push(result);
      options.onFeed?.(result);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 16, queue.length) }, worker),
  );
  await flush();

  const report: PollReport = {
    pollId,
    feedsDue: due.length,
    feedsPolled: 0,
    feedsNotModified: 0,
    feedsFailed: 0,
    itemsNew: 0,
    itemsSeen: 0,
    results,
  };
  for (const r of results) {
    if (r.status === 'polled') {
      report.feedsPolled++;
      report.itemsNew += r.itemsNew;
      report.itemsSeen += r.itemsSeen;
    } else if (r.status === 'not-modified') {
      report.feedsNotModified++;
    } else {
      report.feedsFailed++;
    }
  }
  return report;
}

/**
 * Polls one feed and returns its result with the new state to store; never
 * throws for a problem of the feed itself.
 */
export async function pollFeed(
  feed: FeedToPoll,
  previous: FeedState | undefined,
  deps: PollerDeps,
  options: PollOptions = {},
): Promise<{ result: FeedPollResult; state: FeedState | undefined }> {
  const startedAt = deps.clock.now();
  const polledAt = startedAt.toISOString();
  const pollId = options.pollId ?? newPollId();
  const logger = withLogFields(deps.logger, { feedId: feed.id, pollId });
  const bounds = {
    ...defaultBounds(feed.intervalSeconds),
    ...(feed.maxIntervalSeconds !== undefined
      ? { maxSeconds: Math.max(feed.intervalSeconds, feed.maxIntervalSeconds) }
      : {}),
  };
  // Validators and a permanent redirect belong to the configured URL: when the
  // config changes, start afresh.
  const sameConfig =
    previous !== undefined && (previous.configuredUrl ?? previous.url) === feed.url;
  const base: FeedState = sameConfig
    ? { ...previous, configuredUrl: feed.url }
    : {
        feedId: feed.id,
        url: feed.url,
        configuredUrl: feed.url,
        consecutiveFailures: previous?.consecutiveFailures ?? 0,
        itemsSeenTotal: previous?.itemsSeenTotal ?? 0,
        ...(previous?.lastSuccessAt ? { lastSuccessAt: previous.lastSuccessAt } : {}),
        ...(previous?.failingSince ? { failingSince: previous.failingSince } : {}),
      };
  // A permanently redirected feed is fetched at its new URL; `local:` URLs map to the local server.
  const target =
    sameConfig && base.url !== feed.url
      ? base.url
      : deps.resolveUrl
        ? deps.resolveUrl(feed.url)
        : feed.url;
  try {
    const fetched = await (deps.fetchFeed ?? fetchFeed)(
      target,
      {
        ...(base.etag ? { etag: base.etag } : {}),
        ...(base.lastModified ? { lastModified: base.lastModified } : {}),
      },
      deps.fetchOptions,
    );
    const healthy: FeedState = {
      ...withoutFailure(base),
      lastPolledAt: polledAt,
      lastSuccessAt: polledAt,
      ...(fetched.permanentUrl !== undefined ? { url: fetched.permanentUrl } : {}),
      maxAgeSeconds: fetched.maxAgeSeconds,
    };
    if (fetched.permanentUrl !== undefined && fetched.permanentUrl !== base.url) {
      logger.info('feed moved permanently', {
        from: base.url,
        to: fetched.permanentUrl,
      });
    }
    if (fetched.status === 'not-modified') {
      // Nothing changed. The poll is recorded only when it changes something:
      // an error to clear, or a next poll later than the next scheduled run
      // (without it the feed would be polled too early). Otherwise the feed is
      // due again at the next run anyway, and writing would only cost money.
      const state = {
        ...healthy,
        nextPollAt: nextPollTime(startedAt, healthy, hintsOf(healthy), bounds).toISOString(),
      };
      const nextRun = startedAt.getTime() + (options.scheduleSeconds ?? 0) * 1000;
      const worthWriting =
        options.scheduleSeconds === undefined ||
        previous === undefined ||
        previous.consecutiveFailures > 0 ||
        previous.lastError !== undefined ||
        previous.url !== state.url ||
        Date.parse(state.nextPollAt) > nextRun;
      return {
        result: { feedId: feed.id, status: 'not-modified', health: feedHealth(state, startedAt) },
        state: worthWriting ? state : undefined,
      };
    }
    const parsed = await parseFeed(fetched.body, fetched.finalUrl);
    const { items, skipped } = normaliseEntries(feed.id, fetched.baseUrl, parsed);
    for (const entry of skipped) {
      logger.warn('feed entry skipped', {
        entry: entry.index,
        reason: entry.reason,
      });
    }
    const recent = recentDigests(healthy.recentItems);
    const unknown = items.filter((item) => !recent.has(recentDigest(item.id)));
    const fresh = await keepUnseen(feed.id, unknown, startedAt, deps, options);
    try {
      await deps.itemsQueue.send(
        fresh.map((item) =>
          encodeMessage(ItemMessageSchema, {
            type: 'item',
            version: 1,
            item,
            polledAt,
            correlationId: itemCorrelationId(pollId, item),
          }),
        ),
      );
    } catch (error) {
      // Unqueued items must not stay marked as seen, or they would be lost.
      await Promise.all(
        fresh.flatMap((item) => seenKeys(item).map((key) => deps.seenItems.forget(feed.id, key))),
      );
      throw error;
    }
    // One line per queued item: where `filter correlationId = ...` finds the item first.
    for (const item of fresh) {
      logger.info('item queued', {
        itemId: item.id,
        correlationId: itemCorrelationId(pollId, item),
      });
    }

    const published = items
      .map((item) => item.published)
      .filter((p): p is string => p !== undefined && Date.parse(p) <= startedAt.getTime());
    const newest = published.reduce<string | undefined>(
      (a, b) => (a === undefined || Date.parse(b) > Date.parse(a) ? b : a),
      undefined,
    );
    const cadence = observedCadenceSeconds(published);
    const state: FeedState = {
      ...healthy,
      etag: fetched.etag,
      lastModified: fetched.lastModified,
      itemsSeenTotal: healthy.itemsSeenTotal + fresh.length,
      itemsPerDay: updatedItemsPerDay(healthy, fresh.length, startedAt),
      itemsPerDayAt: polledAt,
      statsSince: healthy.statsSince ?? polledAt,
      ...(fresh.length > 0 ? { lastNewItemAt: polledAt } : {}),
      ...(newest !== undefined ? { lastItemPublishedAt: newest } : {}),
      ...(cadence !== undefined ? { cadenceSeconds: cadence } : {}),
      ttlMinutes: parsed.ttlMinutes,
      skipHours: parsed.skipHours,
      recentItems: items
        .slice(0, MAX_RECENT_ITEMS)
        .map((item) => recentDigest(item.id))
        .join(''),
    };
    state.nextPollAt = nextPollTime(startedAt, state, hintsOf(state), bounds).toISOString();
    return {
      result: {
        feedId: feed.id,
        status: 'polled',
        itemsNew: fresh.length,
        itemsSeen: items.length - fresh.length,
        skippedEntries: skipped.length,
        health: feedHealth(state, startedAt),
      },
      state,
    };
  } catch (error) {
    const failure: FeedError = {
      kind: failureKind(error),
      message: error instanceof Error ? error.message : String(error),
      at: polledAt,
    };
    const failures = base.consecutiveFailures + 1;
    const retryAfterMs = error instanceof FeedFetchError ? error.retryAfterMs : undefined;
    const wait = backoffMs(
      failures,
      feed.intervalSeconds,
      deps.random ?? Math.random,
      retryAfterMs,
    );
    const until = new Date(startedAt.getTime() + wait).toISOString();
    const state: FeedState = {
      ...base,
      lastPolledAt: polledAt,
      lastError: failure,
      consecutiveFailures: failures,
      failingSince: base.consecutiveFailures > 0 ? (base.failingSince ?? polledAt) : polledAt,
      backoffUntil: until,
      nextPollAt: until,
    };
    logger.warn('feed failed', {
      url: target,
      kind: failure.kind,
      error: failure.message,
      consecutiveFailures: failures,
      failingSince: state.failingSince,
      nextPollAt: until,
    });
    return {
      result: {
        feedId: feed.id,
        status: 'failed',
        error: failure,
        consecutiveFailures: failures,
        nextPollAt: until,
        health: feedHealth(state, startedAt),
      },
      state,
    };
  }
}

function newPollId(): string {
  return randomBytes(6).toString('hex');
}

/** The correlation id of an item queued by poll `pollId`: the poll's id and a digest of the item's. */
function itemCorrelationId(pollId: string, item: Item): string {
  const digest = createHash('sha256').update(`${item.feed}\n${item.id}`).digest('hex');
  return `${pollId}-${digest.slice(0, 10)}`;
}

/** The state without the fields of a run of failures. */
function withoutFailure(state: FeedState): FeedState {
  const { failingSince: _since, backoffUntil: _until, ...rest } = state;
  return { ...rest, consecutiveFailures: 0 };
}

function hintsOf(state: FeedState): FeedHints {
  return {
    ...(state.ttlMinutes !== undefined ? { ttlMinutes: state.ttlMinutes } : {}),
    ...(state.skipHours !== undefined ? { skipHours: state.skipHours } : {}),
    ...(state.maxAgeSeconds !== undefined ? { maxAgeSeconds: state.maxAgeSeconds } : {}),
  };
}

/** The seen-items keys of an item: its id, and its link-and-title key when it has a link. */
function seenKeys(item: Item): string[] {
  const key = contentKey(item);
  return key === undefined ? [item.id] : [item.id, key];
}

/**
 * Marks the items seen and returns those not seen before. An item whose id is
 * new but whose link and title were seen (a regenerated guid) is not new.
 */
/** Characters of one recent-item digest (48 bits: no collision among a feed's items in practice). */
const RECENT_DIGEST_CHARS = 8;
/** Items remembered per feed (a feed document rarely lists more; the rest are read as before). */
const MAX_RECENT_ITEMS = 50;

function recentDigest(itemId: string): string {
  return createHash('sha256').update(itemId).digest('base64url').slice(0, RECENT_DIGEST_CHARS);
}

function recentDigests(recentItems: string | undefined): Set<string> {
  const digests = new Set<string>();
  for (
    let i = 0;
    recentItems && i + RECENT_DIGEST_CHARS <= recentItems.length;
    i += RECENT_DIGEST_CHARS
  ) {
    digests.add(recentItems.slice(i, i + RECENT_DIGEST_CHARS));
  }
  return digests;
}

async function keepUnseen(
  feedId: string,
  items: readonly Item[],
  now: Date,
  deps: PollerDeps,
  options: PollOptions,
): Promise<Item[]> {
  const retentionMs = (options.seenRetentionDays ?? DEFAULT_SEEN_RETENTION_DAYS) * DAY_MS;
  const expiresAt = new Date(now.getTime() + retentionMs);
  // One batched read finds the items seen before under either key (a feed
  // mostly repeats itself); only the rest are claimed, one conditional write
  // each (which arbitrates between pollers racing on the same feed), and their
  // other keys are then written in batches.
  const keysOf = items.map((item) => {
    const content = contentKey(item);
    return content === undefined ? [item.id] : [item.id, content];
  });
  const seen = await deps.seenItems.whichSeen(feedId, keysOf.flat());
  const isNew = await mapConcurrently(items, SEEN_WRITE_CONCURRENCY, async (item, i) => {
    if ((keysOf[i] ?? []).some((key) => seen.has(key))) return false;
    return deps.seenItems.markSeen(feedId, item.id, expiresAt);
  });
  // Also the new ids of items seen before under their content (guid churn), so
  // the next poll finds them in its batched read.
  const others = items.flatMap((item, i) =>
    (keysOf[i] ?? []).filter((key) =>
      isNew[i] ? key !== item.id : !seen.has(key) && key === item.id,
    ),
  );
  await deps.seenItems.markSeenMany(feedId, others, expiresAt);
  return items.filter((_, i) => isNew[i]);
}

/** `fn` over `values` with at most `limit` calls in flight; results in input order. */
async function mapConcurrently<T, R>(
  values: readonly T[],
  limit: number,
  fn: (value: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(values.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < values.length; i = next++) results[i] = await fn(values[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker));
  return results;
}

function failureKind(error: unknown): string {
  if (error instanceof FeedFetchError) return error.kind;
  if (error instanceof FeedParseError) return 'parse';
  return 'internal';
}

/** A feed that needs a person's attention after a poll. */
export interface UnhealthyFeed {
  feedId: string;
  status: 'failing' | 'backing-off' | 'silent';
  detail: string;
  /** The failure's kind (`timeout`, `not-found`, `blocked`, ...), for failing feeds. */
  kind?: string;
}

/** The feeds of a poll that failed or have gone silent for far longer than usual. */
export function unhealthyFeeds(results: readonly FeedPollResult[]): UnhealthyFeed[] {
  const unhealthy: UnhealthyFeed[] = [];
  for (const result of results) {
    const { status, detail } = result.health;
    if (status !== 'failing' && status !== 'backing-off' && status !== 'silent') continue;
    unhealthy.push({
      feedId: result.feedId,
      status,
      detail,
      ...(result.status === 'failed' ? { kind: result.error.kind } : {}),
    });
  }
  return unhealthy;
}
