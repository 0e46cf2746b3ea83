/**
 * The poller: fetch each feed with a conditional GET, parse and normalise it,
 * keep only the items not seen before (conditional write), and queue them for
 * the classifier. A feed that fails is recorded on its state and skipped; the
 * others go on.
 */
import { FeedFetchError, type FeedFetcher, fetchFeed } from '../feeds/fetch.ts';
import { normaliseEntries } from '../feeds/normalise.ts';
import { FeedParseError, parseFeed } from '../feeds/parse.ts';
import { encodeMessage, type ItemMessage, ItemMessageSchema } from '../messages.ts';
import type {
  Clock,
  FeedError,
  FeedState,
  FeedStateStore,
  Logger,
  QueueSender,
  SeenItemsStore,
} from '../ports.ts';

/** A feed to poll, as configured. */
export interface FeedToPoll {
  id: string;
  url: string;
  intervalSeconds: number;
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
}

export interface PollOptions {
  /** Poll every feed, due or not (a manual run). Default false: only feeds whose `nextPollAt` has passed. */
  all?: boolean;
  /** Feeds fetched at the same time. Default 8. */
  concurrency?: number;
  /** How long an item is remembered as seen. Default 30 days. */
  seenRetentionDays?: number;
  /** Called after each feed, for progress display. */
  onFeed?: (result: FeedPollResult) => void;
}

export type FeedPollResult =
  | {
      feedId: string;
      status: 'polled';
      itemsNew: number;
      itemsSeen: number;
      skippedEntries: number;
    }
  | { feedId: string; status: 'not-modified' }
  | { feedId: string; status: 'failed'; error: FeedError };

export interface PollReport {
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
      const { result, state } = await pollFeed(feed, states.get(feed.id), deps, options);
      pendingStates.push(state);
      if (pendingStates.length >= STATE_FLUSH_SIZE) await flush();
      results.push(result);
      options.onFeed?.(result);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, worker),
  );
  await flush();

  const report: PollReport = {
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
): Promise<{ result: FeedPollResult; state: FeedState }> {
  const startedAt = deps.clock.now();
  // Validators belong to a URL: when the configured URL changes, start afresh.
  const sameUrl = previous?.url === feed.url;
  const state: FeedState = {
    feedId: feed.id,
    url: feed.url,
    consecutiveFailures: previous?.consecutiveFailures ?? 0,
    itemsSeenTotal: previous?.itemsSeenTotal ?? 0,
    ...(previous?.lastSuccessAt ? { lastSuccessAt: previous.lastSuccessAt } : {}),
    ...(sameUrl && previous?.etag ? { etag: previous.etag } : {}),
    ...(sameUrl && previous?.lastModified ? { lastModified: previous.lastModified } : {}),
  };
  const nextPollAt = new Date(startedAt.getTime() + feed.intervalSeconds * 1000).toISOString();
  try {
    const target = deps.resolveUrl ? deps.resolveUrl(feed.url) : feed.url;
    const fetched = await (deps.fetchFeed ?? fetchFeed)(target, {
      ...(state.etag ? { etag: state.etag } : {}),
      ...(state.lastModified ? { lastModified: state.lastModified } : {}),
    });
    if (fetched.status === 'not-modified') {
      // Nothing changed, but the poll must still be recorded: without the new
      // nextPollAt the feed stays due and is polled on every tick.
      return {
        result: { feedId: feed.id, status: 'not-modified' },
        state: {
          ...state,
          consecutiveFailures: 0,
          lastPolledAt: startedAt.toISOString(),
          lastSuccessAt: startedAt.toISOString(),
          nextPollAt,
        },
      };
    }
    const parsed = await parseFeed(fetched.body, fetched.finalUrl);
    const { items, skipped } = normaliseEntries(feed.id, fetched.finalUrl, parsed);
    for (const entry of skipped) {
      deps.logger.warn('feed entry skipped', {
        feedId: feed.id,
        entry: entry.index,
        reason: entry.reason,
      });
    }
    const retentionMs = (options.seenRetentionDays ?? DEFAULT_SEEN_RETENTION_DAYS) * DAY_MS;
    const expiresAt = new Date(startedAt.getTime() + retentionMs);
    // The conditional writes are independent: run a few at a time, keep feed order.
    const isNew = await mapConcurrently(items, SEEN_WRITE_CONCURRENCY, (item) =>
      deps.seenItems.markSeen(feed.id, item.id, expiresAt),
    );
    const fresh = items.filter((_, i) => isNew[i]);
    const polledAt = startedAt.toISOString();
    try {
      await deps.itemsQueue.send(
        fresh.map((item) =>
          encodeMessage(ItemMessageSchema, { type: 'item', version: 1, item, polledAt }),
        ),
      );
    } catch (error) {
      // Unqueued items must not stay marked as seen, or they would be lost.
      await Promise.all(fresh.map((item) => deps.seenItems.forget(feed.id, item.id)));
      throw error;
    }
    const result: FeedPollResult = {
      feedId: feed.id,
      status: 'polled',
      itemsNew: fresh.length,
      itemsSeen: items.length - fresh.length,
      skippedEntries: skipped.length,
    };
    return {
      result,
      state: {
        ...state,
        ...(fetched.etag ? { etag: fetched.etag } : { etag: undefined }),
        ...(fetched.lastModified
          ? { lastModified: fetched.lastModified }
          : { lastModified: undefined }),
        consecutiveFailures: 0,
        lastPolledAt: polledAt,
        lastSuccessAt: polledAt,
        nextPollAt,
        itemsSeenTotal: state.itemsSeenTotal + fresh.length,
      },
    };
  } catch (error) {
    const failure: FeedError = {
      kind: failureKind(error),
      message: error instanceof Error ? error.message : String(error),
      at: startedAt.toISOString(),
    };
    deps.logger.warn('feed failed', {
      feedId: feed.id,
      url: feed.url,
      kind: failure.kind,
      error: failure.message,
    });
    return {
      result: { feedId: feed.id, status: 'failed', error: failure },
      state: {
        ...state,
        lastPolledAt: startedAt.toISOString(),
        lastError: failure,
        consecutiveFailures: state.consecutiveFailures + 1,
        nextPollAt,
      },
    };
  }
}

/** `fn` over `values` with at most `limit` calls in flight; results in input order. */
async function mapConcurrently<T, R>(
  values: readonly T[],
  limit: number,
  fn: (value: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(values.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < values.length; i = next++) results[i] = await fn(values[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, values.length) }, worker));
  return results;
}

function failureKind(error: unknown): string {
  if (error instanceof FeedFetchError) return error.kind;
  if (error instanceof FeedParseError) return 'parse';
  return 'internal';
}
