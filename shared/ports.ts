/**
 * The interfaces the core (poller, classifier, notifier) needs from the outside
 * world. Adapters in `shared/adapters/` implement them for AWS and for the
 * embedded stack; tests hand in the embedded ones, never module mocks.
 */
import type { Item } from './feeds/item.ts';
import type { Matcher } from './rules/matcher.ts';
import type { Watch, WatchSeverity } from './rules/watch.ts';

/** Source of the current time, so that TTLs and back-off can be tested. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** What the poller remembers about one feed between polls. */
export interface FeedState {
  feedId: string;
  /** The URL currently polled (a permanent redirect may update it). */
  url: string;
  etag?: string;
  lastModified?: string;
  lastPolledAt?: string;
  lastSuccessAt?: string;
  lastError?: FeedError;
  consecutiveFailures: number;
  /** The feed is not polled again before this time (ISO 8601). */
  nextPollAt?: string;
  itemsSeenTotal: number;
  /** The URL as configured when `url` was set; when the config changes, `url` starts afresh. */
  configuredUrl?: string;
  /** Start of the current run of failures. */
  failingSince?: string;
  /** While failing: the feed is left alone until this time (back-off or `Retry-After`). */
  backoffUntil?: string;
  /** When the last poll found new items. */
  lastNewItemAt?: string;
  /** Newest publication date among the feed's items (not in the future). */
  lastItemPublishedAt?: string;
  /** New items per day, a decaying average over about a week. */
  itemsPerDay?: number;
  /** When `itemsPerDay` was last updated. */
  itemsPerDayAt?: string;
  /** When the poller started measuring `itemsPerDay` (the first successful fetch). */
  statsSince?: string;
  /** Median gap between the publication dates of the feed's items, in seconds. */
  cadenceSeconds?: number;
  /** RSS `<ttl>` of the feed, in minutes. */
  ttlMinutes?: number;
  /** RSS `<skipHours>` of the feed (UTC hours). */
  skipHours?: number[];
  /** `Cache-Control: max-age` (or `Expires`) of the last response, in seconds. */
  maxAgeSeconds?: number;
  /**
   * Short digests of the ids of the items in the last document processed,
   * concatenated: an item found here was handled by an earlier poll, so a
   * changed document costs a seen-items read only for the items it adds.
   */
  recentItems?: string;
}

export interface FeedError {
  /** Machine-readable class of failure: `http`, `network`, `timeout`, `parse`, ... */
  kind: string;
  message: string;
  at: string;
}

export interface FeedStateStore {
  get(feedId: string): Promise<FeedState | undefined>;
  put(state: FeedState): Promise<void>;
  /** Writes many states in as few requests as the store allows (unconditional). */
  putMany(states: FeedState[]): Promise<void>;
  list(): Promise<FeedState[]>;
}

export interface SeenItemsStore {
  /**
   * Records that the item was seen; resolves `true` only for the caller that
   * recorded it first (a conditional write), `false` when it was already seen
   * and has not expired.
   */
  markSeen(feedId: string, itemId: string, expiresAt: Date): Promise<boolean>;
  /** Which of `keys` are recorded and not expired: one batched read, no write. */
  whichSeen(feedId: string, keys: readonly string[]): Promise<Set<string>>;
  /** Records keys without a condition (an item's other keys, once it is claimed). */
  markSeenMany(feedId: string, keys: readonly string[], expiresAt: Date): Promise<void>;
  /**
   * Undoes `markSeen`. The poller needs neither: it queues new items before it
   * records them (`markSeenMany`), so a failed send leaves nothing to undo.
   */
  forget(feedId: string, itemId: string): Promise<void>;
}

/**
 * Identifies one delivery of one alert: what the ledger holds one record of.
 * The channel is part of the key so that when one of a subscriber's channels
 * fails, a retry re-sends only that channel.
 */
export interface AlertKey {
  subscriberId: string;
  watchId: string;
  storyId: string;
  /** Index-qualified channel name, e.g. `email:0`, `slack:1`. */
  channel: string;
}

export type ClaimResult =
  /** The caller owns the alert and must send it, then call `markSent`. */
  | { outcome: 'claimed'; token: string }
  /** The alert was already sent: what was sent first, so a later report can follow it up. */
  | { outcome: 'already-sent'; sentAt: string; first?: FirstReport; ref?: string }
  /** Another worker holds a live claim: retry later. */
  | { outcome: 'in-progress' }
  /** The destination rejected it for good; only a redrive (`retryRejected`) tries again. */
  | { outcome: 'rejected'; reason: string };

export interface AlertLedger {
  /**
   * Claims the alert with a conditional write. A claim older than `leaseMs`
   * (a worker that died mid-send) can be taken over.
   */
  claim(
    key: AlertKey,
    leaseMs: number,
    expiresAt: Date,
    options?: { retryRejected?: boolean },
  ): Promise<ClaimResult>;
  /** Marks a claimed alert as sent; only the holder of `token` can. */
  markSent(key: AlertKey, token: string, detail: SentDetail): Promise<void>;
  /** Records that the destination rejected the alert for good, so retries skip it. */
  markRejected(key: AlertKey, token: string, detail: { reason: string; at: string }): Promise<void>;
  /** Gives a claim back after a failed send, so that a retry can claim it. */
  release(key: AlertKey, token: string): Promise<void>;
  /**
   * What the ledger holds for `key` without claiming it (one read): for a
   * report expected to be sent already, cheaper than a claim that fails.
   * `undefined` when there is no live record.
   */
  peek(key: AlertKey): Promise<Exclude<ClaimResult, { outcome: 'claimed' }> | undefined>;
}

/** What the ledger keeps of a sent alert, so that later reports of its story can refer to it. */
export interface SentDetail {
  channel: string;
  sentAt: string;
  /** The report the subscriber was alerted with. */
  first?: FirstReport;
  /** Where the alert was posted, when the channel can reply to it (a Slack message `ts`). */
  ref?: string;
}

/** The report of a story a subscriber was alerted with first. */
export interface FirstReport {
  /** Feed and id of the item, to tell a redelivery of the first report from a later report. */
  itemId: string;
  title: string;
  feed: string;
  link?: string;
}

/** How a subscriber wants to be reached on one channel. */
export type ChannelConfig =
  | { type: 'console' }
  | { type: 'outbox' }
  | { type: 'email'; to: string }
  /** An incoming webhook: posts only, so follow-ups wait for the digest. */
  | { type: 'slack'; webhookUrl: string }
  /** A bot token and channel id (`chat.postMessage`): follow-ups reply in the alert's thread. */
  | { type: 'slack'; botToken: string; channelId: string };

export type ChannelType = ChannelConfig['type'];

/** Immediate: each alert when it happens. Digest: gathered and sent on a schedule. */
export type DeliveryMode = 'immediate' | 'digest';

/** A daily stretch of local time (`HH:MM`, end exclusive; may wrap midnight) when alerts wait. */
export interface QuietHours {
  start: string;
  end: string;
}

export interface Subscriber {
  id: string;
  name?: string;
  channels: ChannelConfig[];
  /** Ids of the watches the subscriber follows. */
  watches: string[];
  /** IANA time zone the schedule and quiet hours are read in, e.g. `Europe/Warsaw`. */
  timezone: string;
  mode: DeliveryMode;
  /**
   * Cron expression (five fields, in `timezone`) of the digests: every alert
   * in digest mode, and in immediate mode the follow-ups a channel cannot
   * post in place (email).
   */
  digestSchedule: string;
  /** Alerts below this severity are not sent. */
  minSeverity: WatchSeverity;
  /** Non-critical alerts wait until quiet hours end. */
  quietHours?: QuietHours;
}

/**
 * Something that waits to be delivered later. A `held` entry is an alert
 * message held by quiet hours until `releaseAt`; a `digest` entry is one line
 * of the next digest sent to one channel.
 */
export interface PendingEntry {
  subscriberId: string;
  /** Unique within the subscriber and deterministic, so that adding it again keeps one. */
  entryKey: string;
  kind: 'held' | 'digest';
  /** When it was queued (ISO 8601): a digest takes the entries queued up to its time. */
  queuedAt: string;
  /** Held entries: when they may be sent (ISO 8601). */
  releaseAt?: string;
  /** Digest entries: the ledger key of the channel (`channelKey`) the entry goes to. */
  channel?: string;
  /** The held alert message, or the `DigestEntry`, as JSON. */
  body: string;
}

/** What waits for quiet hours to end or for the next digest, per subscriber. */
export interface PendingAlertStore {
  /** Adds an entry unless one with its key exists (a conditional write). */
  add(entry: PendingEntry, expiresAt: Date): Promise<void>;
  /** A subscriber's entries of one kind (and, for digests, one channel), oldest first. */
  list(subscriberId: string, kind: 'held' | 'digest', channel?: string): Promise<PendingEntry[]>;
  remove(subscriberId: string, entryKeys: readonly string[]): Promise<void>;
}

/** Unsubscriptions made by subscribers themselves (one-click links), kept apart from the config. */
export interface UnsubscribeStore {
  /** Records that the subscriber stops `watchId` (`*`: every watch). Idempotent. */
  unsubscribe(subscriberId: string, watchId: string, at: Date): Promise<void>;
  /** The watch ids (or `*`) the subscriber has unsubscribed from. */
  unsubscribedFrom(subscriberId: string): Promise<Set<string>>;
}

export interface SubscriptionStore {
  subscribersOf(watchId: string): Promise<Subscriber[]>;
  get(subscriberId: string): Promise<Subscriber | undefined>;
}

/** Sends messages to a queue; the implementation splits into batches within SQS limits. */
export interface QueueSender<T> {
  send(messages: T[]): Promise<void>;
}

/**
 * Sends a message straight to a dead-letter queue with the reason it cannot be
 * processed (a poison message), so that it is kept for a person, not retried.
 */
export interface DeadLetterSender {
  deadLetter(body: string, reason: string): Promise<void>;
}

/** The compiled rule set the classifier runs, and the version it came from. */
export interface RuleSet {
  matcher: Matcher;
  watches: ReadonlyMap<string, Watch>;
  /** Identifies the rule set's content (a version number or a content hash). */
  version: string;
}

/** Where the classifier gets the current rule set: the watch file locally, a table when deployed. */
export interface WatchSource {
  current(): Promise<RuleSet>;
}

/** What a person pushes: the watch file's text and who pushes it why. */
export interface RuleDraft {
  /** The YAML of the watch file, exactly as written. */
  source: string;
  author: string;
  /** Why this version exists, like a commit message. */
  message: string;
  /** Number of watches in the file (it has been validated before the push). */
  watchCount: number;
}

/** One stored version of the watch file, without its text. */
export interface RuleVersionSummary {
  /** 1, 2, 3, ... in the order they were pushed. */
  version: number;
  /** Hex SHA-256 of the UTF-8 source. */
  sha256: string;
  author: string;
  message: string;
  /** When it was pushed (ISO 8601). */
  createdAt: string;
  watchCount: number;
}

/** One stored version of the watch file, with its text. */
export interface RuleVersion extends RuleVersionSummary {
  source: string;
}

/**
 * The versions of the watch file in a deployment and which one is live.
 * Pushing is optimistic: it names the version the pusher saw as current and
 * fails if another push moved it meanwhile, so two pushes never both win.
 */
export interface RuleStore {
  /** The number of the live version (one small read), `undefined` before the first push. */
  currentVersion(): Promise<number | undefined>;
  /** The live version, `undefined` before the first push. */
  current(): Promise<RuleVersion | undefined>;
  get(version: number): Promise<RuleVersion | undefined>;
  /** The newest versions first, at most `limit` of them. */
  history(limit: number): Promise<RuleVersionSummary[]>;
  /**
   * Stores `draft` as a new version and makes it live, provided the live
   * version is still `expectedCurrent` (`undefined`: nothing pushed yet).
   */
  push(draft: RuleDraft, expectedCurrent: number | undefined): Promise<RuleVersion>;
}

/**
 * A story's first report as the story store keeps it: its normalised text
 * (title and lede, boilerplate removed), from which the fingerprint and the
 * details a candidate is confirmed against are computed, so confirming needs
 * no other read.
 */
export interface StoryReport {
  /** The story: the id of its first report. */
  storyId: string;
  /** Id of the item that is the first report. */
  reportId: string;
  feed: string;
  /** Publication time of the first report (ISO 8601 UTC). */
  publishedAt: string;
  /** Normalised title. */
  title: string;
  /** Normalised lede (first sentences of the summary, boilerplate removed). */
  lede: string;
  /** Version of the fingerprint the keys were computed with. */
  fingerprintVersion: number;
}

/**
 * Where story fingerprints are looked up by key: each story's first report is
 * stored under its fingerprint keys (rarest facts, MinHash bands), so a new item
 * finds the stories it may belong to with one look-up per key, never a scan.
 */
export interface StoryStore {
  /**
   * The first reports stored under any of `keys`, published between `from`
   * and `to` (inclusive) and not expired; each report once.
   */
  findFirstReports(keys: readonly string[], from: Date, to: Date): Promise<StoryReport[]>;
  /**
   * Stores a first report under every key until `expiresAt`, with conditional
   * writes: recording the same report again (a redelivery) changes nothing.
   */
  recordFirstReport(report: StoryReport, keys: readonly string[], expiresAt: Date): Promise<void>;
  /**
   * Claims the right to start a story under `key` (a report's strongest
   * fingerprint key) with one conditional write, so that copies of one event
   * classified at the same moment start one story, not several. The claim
   * succeeds when nobody holds the key, the holder's claim has expired, or the
   * holder is `replacing` (a report the caller found to tell another event);
   * otherwise the current holder is returned, for the caller to compare with.
   */
  claimStory(
    key: string,
    report: StoryReport,
    expiresAt: Date,
    replacing?: StoryReport,
  ): Promise<StoryClaim>;
}

/** The outcome of `StoryStore.claimStory`. */
export type StoryClaim = { won: true } | { won: false; holder: StoryReport };

/** Structured logging: a message and fields; JSON lines on AWS, readable lines locally. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything, for callers that do not care. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * `logger` with `fields` on every line (a line's own fields win on a clash):
 * the logger of one SQS record carries its `messageId` and `correlationId`,
 * that of one feed its `feedId`, whatever the implementation behind it.
 */
export function withLogFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return {
    info: (message, more) => logger.info(message, { ...fields, ...more }),
    warn: (message, more) => logger.warn(message, { ...fields, ...more }),
    error: (message, more) => logger.error(message, { ...fields, ...more }),
  };
}

/** What a sender reports back: where the message went, so a follow-up can reply to it. */
export interface SendReceipt {
  /** e.g. the Slack message `ts`; absent when the channel cannot be replied to. */
  ref?: string;
}

/** Sends rendered alerts, follow-ups and digests on one type of channel. */
export interface AlertSender {
  readonly channel: ChannelType;
  /** Sends one alert (a story's first alert to this subscriber, or an update). */
  send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt>;
  /** Whether `sendFollowUp` can post on this channel; if not, follow-ups wait for the digest. */
  canFollowUp(channel: ChannelConfig): boolean;
  /** Posts "also reported by" under the first alert (a Slack thread reply). */
  sendFollowUp(followUp: FollowUp, channel: ChannelConfig): Promise<SendReceipt>;
  /** Sends one digest message. */
  sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt>;
}

/** Where a subscriber stops an alert: an https page (GET confirms, POST unsubscribes) and a mailto. */
export interface UnsubscribeLink {
  url: string;
  mailto?: string;
}

/** One alert for one subscriber: the item, the watch that matched and why. */
export interface Alert {
  alertId: string;
  subscriberId: string;
  watchId: string;
  watchName: string;
  severity: string;
  item: Item;
  storyId: string;
  matchedTerms: MatchedTerm[];
  /** Version of the rule set that produced the alert, when known. */
  ruleVersion?: string;
  /** `update`: a later report of a story already alerted, with substantially new facts. */
  kind?: 'alert' | 'update';
  /** How to stop this watch's alerts (email). */
  unsubscribe?: UnsubscribeLink;
}

/** Another outlet's report of a story the subscriber was already alerted to. */
export interface FollowUp {
  /** The later report, as an alert of the same watch and story. */
  alert: Alert;
  /** The report the subscriber was alerted with. */
  first: FirstReport;
  /** Where the first alert was posted (`SendReceipt.ref`), to reply in its thread. */
  threadRef?: string;
}

/** One line of a digest. */
export interface DigestEntry {
  kind: 'alert' | 'update' | 'follow-up';
  alert: Alert;
  /** For a follow-up: the report the subscriber was alerted with. */
  first?: FirstReport;
  /** When the entry was queued for the digest (ISO 8601). */
  queuedAt: string;
}

/** The alerts of one subscriber gathered for one scheduled send. */
export interface Digest {
  /** Stable for (subscriber, scheduled time): a resumed digest has the same id. */
  digestId: string;
  subscriberId: string;
  subscriberName?: string;
  /** The scheduled time the digest is for (ISO 8601 UTC). */
  scheduledFor: string;
  /** The subscriber's time zone, for showing times. */
  timezone: string;
  /** In the order queued; renderers group them by watch, then story. */
  entries: DigestEntry[];
  /** How to stop every alert of the subscriber (email). */
  unsubscribe?: UnsubscribeLink;
}

/** One matched term occurrence, enough to highlight it. */
export interface MatchedTerm {
  term: string;
  field: 'title' | 'summary';
  start: number;
  end: number;
}

export type { Item };
