/**
 * Feed health and polling schedule: when to poll a feed next (adapted to how
 * often it publishes, within its own caching hints and our limits), how long
 * to back off after failures, and whether a feed is healthy, backing off,
 * failing or silent for longer than usual.
 */
import type { FeedState } from '../ports.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Back-off never waits longer than this, but never gives up either. */
export const MAX_BACKOFF_MS = DAY_MS;

/** Horizon of the items-per-day estimate: older arrivals weigh less, with this time constant. */
const RATE_HORIZON_DAYS = 7;

/** Bounds of the poll interval of one feed, in seconds. */
export interface PollBounds {
  minSeconds: number;
  maxSeconds: number;
}

/** What the feed itself says about how often to read it. */
export interface FeedHints {
  /** RSS `<ttl>`, minutes. */
  ttlMinutes?: number;
  /** RSS `<skipHours>`, UTC hours. */
  skipHours?: number[];
  /** `Cache-Control: max-age` / `Expires` of the last response, seconds. */
  maxAgeSeconds?: number;
}

/** Default upper bound of the interval: twelve times the configured one, at least 1 h, at most 24 h. */
export function defaultBounds(intervalSeconds: number): PollBounds {
  return {
    minSeconds: intervalSeconds,
    maxSeconds: Math.min(86_400, Math.max(intervalSeconds, 3_600, intervalSeconds * 12)),
  };
}

/** The rate of new items is trusted only after this long: one poll says little. */
const RATE_EVIDENCE_MS = 2 * DAY_MS;

/**
 * The usual time between two new items of the feed, in seconds, when there is
 * evidence for it: the median gap between its items' dates, else the observed
 * rate of new items once it has been measured for two days.
 */
export function usualGapSeconds(
  state: Pick<FeedState, 'cadenceSeconds' | 'itemsPerDay' | 'statsSince'>,
  now: Date,
): number | undefined {
  if (state.cadenceSeconds !== undefined && state.cadenceSeconds > 0) return state.cadenceSeconds;
  const measuredFor =
    state.statsSince === undefined ? 0 : now.getTime() - Date.parse(state.statsSince);
  if (measuredFor >= RATE_EVIDENCE_MS && (state.itemsPerDay ?? 0) > 0.01) {
    return 86_400 / (state.itemsPerDay as number);
  }
  return undefined;
}

/**
 * When to poll a healthy feed next: a quarter of its usual gap between items
 * (an alert waits an eighth of a gap on average), no sooner than its TTL or
 * max-age ask, clamped to `bounds`, then moved out of its `skipHours`.
 */
export function nextPollTime(
  now: Date,
  state: Pick<FeedState, 'cadenceSeconds' | 'itemsPerDay' | 'statsSince'>,
  hints: FeedHints,
  bounds: PollBounds,
): Date {
  const gap = usualGapSeconds(state, now);
  let seconds = gap === undefined ? bounds.minSeconds : gap / 4;
  seconds = Math.max(seconds, (hints.ttlMinutes ?? 0) * 60, hints.maxAgeSeconds ?? 0);
  seconds = Math.min(Math.max(seconds, bounds.minSeconds), bounds.maxSeconds);
  let next = new Date(now.getTime() + seconds * 1000);
  const skip = new Set(hints.skipHours ?? []);
  if (skip.size > 0 && skip.size < 24) {
    while (skip.has(next.getUTCHours())) {
      next = new Date(Math.floor(next.getTime() / HOUR_MS + 1) * HOUR_MS);
    }
  }
  return next;
}

/**
 * How long to wait after the `failures`-th failure in a row: the minimum
 * interval doubled per failure, capped at 24 h, with "equal jitter" (half
 * fixed, half random) so that feeds failing together do not retry together.
 * A server's `Retry-After` is honoured when it asks for longer (up to 24 h).
 */
export function backoffMs(
  failures: number,
  minIntervalSeconds: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(MAX_BACKOFF_MS, minIntervalSeconds * 1000 * 2 ** exponent);
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  return Math.min(MAX_BACKOFF_MS, Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Updates the decaying items-per-day estimate with `fresh` new items found
 * at `now`: each arrival adds 1/τ and the total decays with time constant τ
 * (7 days), so it tracks the last week's rate without storing a history.
 */
export function updatedItemsPerDay(
  state: Pick<FeedState, 'itemsPerDay' | 'itemsPerDayAt'>,
  fresh: number,
  now: Date,
): number {
  const previous = state.itemsPerDay ?? 0;
  const since =
    state.itemsPerDayAt === undefined ? 0 : now.getTime() - Date.parse(state.itemsPerDayAt);
  const decay = Math.exp(-Math.max(0, since) / (RATE_HORIZON_DAYS * DAY_MS));
  return previous * decay + fresh / RATE_HORIZON_DAYS;
}

/**
 * The median gap between consecutive publication times of a document's
 * items, in seconds, or `undefined` with fewer than three dated items.
 */
export function observedCadenceSeconds(published: readonly string[]): number | undefined {
  const times = published
    .map((p) => Date.parse(p))
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
  if (times.length < 3) return undefined;
  const gaps = times
    .slice(1)
    .map((t, i) => (t - (times[i] as number)) / 1000)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  if (gaps.length === 0) return undefined;
  return gaps[Math.floor(gaps.length / 2)];
}

export type FeedHealthStatus = 'never-polled' | 'healthy' | 'backing-off' | 'failing' | 'silent';

export interface FeedHealth {
  status: FeedHealthStatus;
  /** One line for a person: since when, why, until when. */
  detail: string;
}

/** A feed is silent when nothing new came for this many usual gaps (and at least 6 h). */
const SILENT_GAPS = 5;
const SILENT_MIN_MS = 6 * HOUR_MS;

/** When the feed last showed life: its newest item's date or when new items last arrived. */
function lastActivity(state: FeedState): number | undefined {
  const times = [state.lastNewItemAt, state.lastItemPublishedAt]
    .filter((t): t is string => t !== undefined)
    .map((t) => Date.parse(t))
    .filter((t) => !Number.isNaN(t));
  return times.length === 0 ? undefined : Math.max(...times);
}

/** Judges a feed's state at `now`. */
export function feedHealth(state: FeedState | undefined, now: Date): FeedHealth {
  if (state === undefined || state.lastPolledAt === undefined) {
    return { status: 'never-polled', detail: 'not polled yet' };
  }
  if (state.consecutiveFailures > 0) {
    const error = state.lastError;
    const why = error === undefined ? 'unknown error' : `${error.kind}: ${error.message}`;
    const since = state.failingSince ?? error?.at ?? state.lastPolledAt;
    const until = state.backoffUntil ?? state.nextPollAt;
    if (until !== undefined && Date.parse(until) > now.getTime()) {
      return {
        status: 'backing-off',
        detail: `${state.consecutiveFailures} failures since ${since}, next try ${until} (${why})`,
      };
    }
    return {
      status: 'failing',
      detail: `${state.consecutiveFailures} failures since ${since} (${why})`,
    };
  }
  const gap = usualGapSeconds(state, now);
  const activity = lastActivity(state);
  if (gap !== undefined && activity !== undefined) {
    const quietMs = now.getTime() - activity;
    if (quietMs > Math.max(SILENT_GAPS * gap * 1000, SILENT_MIN_MS)) {
      return {
        status: 'silent',
        detail: `nothing new since ${new Date(activity).toISOString()} (usually every ${formatSeconds(gap)})`,
      };
    }
  }
  return {
    status: 'healthy',
    detail: state.lastSuccessAt === undefined ? 'ok' : `last success ${state.lastSuccessAt}`,
  };
}

/** `90 s`, `12 min`, `5.5 h`, `3.0 d`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3_600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}
