/**
 * The poller: fetch each feed with a conditional GET, parse and normalise it,
 * keep only the items not seen before, queue them for the classifier and only
 * then record them as seen. A process that dies in between queues them again
 * on its next run (a redelivery, dropped downstream by its key), never loses
 * them. A feed that fails is recorded on its state and skipped; the others go
 * on, and so do the other items of a feed when one of them cannot be queued.
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
import {
  encodeMessage,
  InvalidMessageError,
  type ItemMessage,
  ItemMessageSchema,
  MAX_MESSAGE_BYTES,
} from '../messages.ts';
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
      /** New items that could not be queued (logged as `item not queued`); tried again next poll. */
      itemsNotQueued: number;
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
    const { fresh, churned } = await findUnseen(feed.id, unknown, deps);
    const { queued, notQueued } = await queueItems(fresh, deps, pollId, polledAt);
    // An item that cannot be queued stays unrecorded, so every poll tries it
    // again and says so: it is never dropped in silence, and never holds back
    // the others.
    for (const { item, reason } of notQueued) {
      logger.warn('item not queued', { itemId: item.id, error: reason });
    }
    // Only now that they are on the queue are the items recorded as seen.
    await recordSeen(feed.id, queued, churned, startedAt, deps, options);
    // One line per queued item: where `filter correlationId = ...` finds the item first.
    for (const item of queued) {
      logger.info('item queued', {
        itemId: item.id,
        correlationId: itemCorrelationId(pollId, item),
      });
    }
    const unqueued = new Set(notQueued.map(({ item }) => item.id));

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
      // With an item not queued, the next poll must read this document again,
      // not be told it has not changed.
      etag: unqueued.size === 0 ? fetched.etag : undefined,
      lastModified: unqueued.size === 0 ? fetched.lastModified : undefined,
      itemsSeenTotal: healthy.itemsSeenTotal + queued.length,
      itemsPerDay: updatedItemsPerDay(healthy, queued.length, startedAt),
      itemsPerDayAt: polledAt,
      statsSince: healthy.statsSince ?? polledAt,
      ...(queued.length > 0 ? { lastNewItemAt: polledAt } : {}),
      ...(newest !== undefined ? { lastItemPublishedAt: newest } : {}),
      ...(cadence !== undefined ? { cadenceSeconds: cadence } : {}),
      ttlMinutes: parsed.ttlMinutes,
      skipHours: parsed.skipHours,
      // An item not queued is left out, so that the next poll looks it up again.
      recentItems: items
        .filter((item) => !unqueued.has(item.id))
        .slice(0, MAX_RECENT_ITEMS)
        .map((item) => recentDigest(item.id))
        .join(''),
    };
    state.nextPollAt = nextPollTime(startedAt, state, hintsOf(state), bounds).toISOString();
    return {
      result: {
        feedId: feed.id,
        status: 'polled',
        itemsNew: queued.length,
        itemsSeen: items.length - fresh.length,
        itemsNotQueued: notQueued.length,
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

/** The keys an item is recorded under: its id, and its link-and-title key when it has a link. */
function seenKeys(item: Item): string[] {
  const content = contentKey(item);
  return content === undefined ? [item.id] : [item.id, content];
}

/**
 * The items not seen before, in one batched read (a feed mostly repeats
 * itself), and the new ids of items seen before under their link and title (a
 * regenerated guid): those are not new, but their new id is recorded too, so
 * that the next poll finds them by it.
 */
async function findUnseen(
  feedId: string,
  items: readonly Item[],
  deps: PollerDeps,
): Promise<{ fresh: Item[]; churned: string[] }> {
  const keysOf = items.map(seenKeys);
  const seen = await deps.seenItems.whichSeen(feedId, keysOf.flat());
  const fresh: Item[] = [];
  const churned: string[] = [];
  items.forEach((item, i) => {
    if (!(keysOf[i] ?? []).some((key) => seen.has(key))) fresh.push(item);
    else if (!seen.has(item.id)) churned.push(item.id);
  });
  return { fresh, churned };
}

/** An item the poller could not queue, and why. */
interface NotQueued {
  item: Item;
  reason: string;
}

/**
 * Queues the items, in one `send` (the sender batches them). An item whose
 * message is invalid or too large is left out; when the send fails, each item
 * is sent on its own, so that one the queue refuses does not hold back the
 * others. If none could be sent at all, the queue is failing, not an item: the
 * error is thrown and the feed fails.
 */
async function queueItems(
  items: readonly Item[],
  deps: PollerDeps,
  pollId: string,
  polledAt: string,
): Promise<{ queued: Item[]; notQueued: NotQueued[] }> {
  const notQueued: NotQueued[] = [];
  const sendable: Array<{ item: Item; message: ItemMessage }> = [];
  for (const item of items) {
    try {
      const message = encodeMessage(ItemMessageSchema, {
        type: 'item',
        version: 1,
        item,
        polledAt,
        correlationId: itemCorrelationId(pollId, item),
      });
      const bytes = Buffer.byteLength(JSON.stringify(message), 'utf8');
      if (bytes > MAX_MESSAGE_BYTES) {
        throw new InvalidMessageError(
          `refusing to send a message of ${bytes} bytes: over the ${MAX_MESSAGE_BYTES}-byte limit`,
        );
      }
      sendable.push({ item, message });
    } catch (error) {
      if (!(error instanceof InvalidMessageError)) throw error;
      notQueued.push({ item, reason: error.message });
    }
  }
  if (sendable.length === 0) return { queued: [], notQueued };
  try {
    await deps.itemsQueue.send(sendable.map(({ message }) => message));
    return { queued: sendable.map(({ item }) => item), notQueued };
  } catch (batchError) {
    // Some may have been sent before the failure: sent again, they are a
    // redelivery, which the classifier drops by key.
    const queued: Item[] = [];
    const refused: NotQueued[] = [];
    for (const { item, message } of sendable) {
      try {
        await deps.itemsQueue.send([message]);
        queued.push(item);
      } catch (error) {
        refused.push({ item, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    if (queued.length === 0) throw batchError;
    return { queued, notQueued: [...notQueued, ...refused] };
  }
}

/**
 * Records the queued items as seen under all their keys, and the new ids of
 * the churned ones, in batched writes. Unconditional: pollers racing on one
 * feed may both queue an item, and the classifier drops the second by its key.
 */
async function recordSeen(
  feedId: string,
  queued: readonly Item[],
  churned: readonly string[],
  now: Date,
  deps: PollerDeps,
  options: PollOptions,
): Promise<void> {
  const keys = [...queued.flatMap(seenKeys), ...churned];
  if (keys.length === 0) return;
  const retentionMs = (options.seenRetentionDays ?? DEFAULT_SEEN_RETENTION_DAYS) * DAY_MS;
  await deps.seenItems.markSeenMany(feedId, keys, new Date(now.getTime() + retentionMs));
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
