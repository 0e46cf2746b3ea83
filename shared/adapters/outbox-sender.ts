import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DeliveryError, requireChannel } from '../alerts/delivery-error.ts';
import type {
  Alert,
  AlertSender,
  ChannelConfig,
  Clock,
  Digest,
  FollowUp,
  MatchedTerm,
  SendReceipt,
} from '../ports.ts';

/** Where the outbox lives and where its clock comes from. */
export interface OutboxSenderOptions {
  /** Root directory; one sub-directory per subscriber is created under it. */
  outboxDir: string;
  clock: Clock;
}

/** What one outbox file holds: the alert, flattened for reading and for tests. */
export interface OutboxRecord {
  alertId: string;
  subscriberId: string;
  watchId: string;
  watchName: string;
  severity: string;
  itemId: string;
  storyId: string;
  title: string;
  summary: string;
  link?: string;
  feed: string;
  published?: string;
  matchedTerms: MatchedTerm[];
  ruleVersion?: string;
  sentAt: string;
  /** `alert`, or `update` for a later report with new facts. */
  kind?: 'alert' | 'update';
}

const SEGMENT_MAX_CHARS = 120;

/**
 * Turns an id into one safe file-name segment. Characters other than ASCII
 * letters, digits, `-`, `_` and a `.` that is not first are percent-encoded,
 * `%` included, so distinct ids give distinct names and no id can name `..`,
 * contain a separator or start with a dot. Overlong ids are cut and suffixed
 * with a hash so that they stay distinct and within file-name limits.
 */
export function outboxPathSegment(id: string): string {
  let out = '';
  let index = 0;
  for (const char of id) {
    const safe = /^[A-Za-z0-9_-]$/.test(char) || (char === '.' && index > 0);
    out += safe
      ? char
      : [...Buffer.from(char, 'utf8')]
          .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
          .join('');
    index++;
  }
  if (out === '') {
    return '%';
  }
  if (out.length > SEGMENT_MAX_CHARS) {
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 16);
    return `${out.slice(0, SEGMENT_MAX_CHARS - 17)}~${hash}`;
  }
  return out;
}

/** The file an alert is written to: `<outboxDir>/<subscriberId>/<alertId>.json`. */
export function outboxFilePath(outboxDir: string, alert: Alert): string {
  const root = path.resolve(outboxDir);
  const file = path.join(
    root,
    outboxPathSegment(alert.subscriberId),
    `${outboxPathSegment(alert.alertId)}.json`,
  );
  // The segment encoding already rules this out; a second check costs nothing.
  if (path.dirname(path.dirname(file)) !== root) {
    throw new DeliveryError('outbox', {
      reason: 'the alert would be written outside the outbox directory',
      retryable: false,
    });
  }
  return file;
}

function toRecord(alert: Alert, sentAt: Date): OutboxRecord {
  const { item } = alert;
  const record: OutboxRecord = {
    alertId: alert.alertId,
    subscriberId: alert.subscriberId,
    watchId: alert.watchId,
    watchName: alert.watchName,
    severity: alert.severity,
    itemId: item.id,
    storyId: alert.storyId,
    title: item.title,
    summary: item.summary,
    feed: item.feed,
    matchedTerms: alert.matchedTerms,
    sentAt: sentAt.toISOString(),
  };
  if (item.link !== undefined) record.link = item.link;
  if (item.published !== undefined) record.published = item.published;
  if (alert.ruleVersion !== undefined) record.ruleVersion = alert.ruleVersion;
  return record;
}

/** File-system failures that retrying will not fix: the outbox is misconfigured. */
const PERMANENT_FS_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST']);

function toDeliveryError(error: unknown): DeliveryError {
  const code =
    error instanceof Error && 'code' in error && typeof error.code === 'string'
      ? error.code
      : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new DeliveryError('outbox', {
    reason: `could not write the alert file: ${message}`,
    retryable: code === undefined || !PERMANENT_FS_CODES.has(code),
    ...(code === undefined ? {} : { code }),
  });
}

/** Writes `body` to `file` under a temporary name, flushed and renamed into place. */
async function writeAtomically(file: string, body: string): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${randomBytes(8).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw toDeliveryError(error);
  }
}

function shortDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * An `AlertSender` for `{ type: 'outbox' }`: writes each alert as JSON to
 * `<outboxDir>/<subscriberId>/<alertId>.json` (an update to
 * `<alertId>.update-<report>.json`, a follow-up to `<alertId>.also-<feed>.json`,
 * a digest to `digest-<digestId>.json`). Files are written under a temporary
 * name, flushed and renamed into place, so a reader never sees half a file;
 * sending the same thing again replaces its file.
 */
export function createOutboxSender(options: OutboxSenderOptions): AlertSender {
  const fileFor = (alert: Alert, suffix: string): string => {
    const file = outboxFilePath(options.outboxDir, alert);
    return suffix ? file.replace(/\.json$/, `.${suffix}.json`) : file;
  };
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  return {
    channel: 'outbox',
    async send(alert: Alert, channel: ChannelConfig): Promise<SendReceipt> {
      requireChannel(channel, 'outbox');
      const suffix =
        alert.kind === 'update'
          ? `update-${shortDigest(`${alert.item.feed}\n${alert.item.id}`)}`
          : '';
      const record = { ...toRecord(alert, options.clock.now()), kind: alert.kind ?? 'alert' };
      await writeAtomically(fileFor(alert, suffix), json(record));
      return {};
    },
    canFollowUp: () => true,
    async sendFollowUp(followUp: FollowUp, channel: ChannelConfig): Promise<SendReceipt> {
      requireChannel(channel, 'outbox');
      const record = {
        ...toRecord(followUp.alert, options.clock.now()),
        kind: 'follow-up',
        alsoReportedBy: followUp.alert.item.feed,
        first: followUp.first,
      };
      await writeAtomically(
        fileFor(followUp.alert, `also-${shortDigest(followUp.alert.item.feed)}`),
        json(record),
      );
      return {};
    },
    async sendDigest(digest: Digest, channel: ChannelConfig): Promise<SendReceipt> {
      requireChannel(channel, 'outbox');
      const dir = path.join(
        path.resolve(options.outboxDir),
        outboxPathSegment(digest.subscriberId),
      );
      const record = {
        kind: 'digest',
        digestId: digest.digestId,
        subscriberId: digest.subscriberId,
        scheduledFor: digest.scheduledFor,
        sentAt: options.clock.now().toISOString(),
        entries: digest.entries.map((entry) => ({
          kind: entry.kind,
          watchId: entry.alert.watchId,
          storyId: entry.alert.storyId,
          title: entry.alert.item.title,
          feed: entry.alert.item.feed,
          ...(entry.alert.item.link !== undefined ? { link: entry.alert.item.link } : {}),
          ...(entry.first ? { first: entry.first } : {}),
        })),
      };
      await writeAtomically(
        path.join(dir, `digest-${outboxPathSegment(digest.digestId)}.json`),
        json(record),
      );
      return {};
    },
  };
}
