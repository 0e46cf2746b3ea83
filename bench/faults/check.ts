/**
 * The invariants a fault schedule is checked against, as a pure function of
 * what the subscribers received (in the schedule and in a fault-free run of
 * the same workload), what the processes traced and what the settled data
 * directory holds.
 *
 * - Nothing lost: every (subscriber, channel, story) the fault-free run
 *   delivered is delivered, unless the destination refused it for good and it
 *   is in the dead letters with that reason.
 * - Duplicates only where admitted: a message received more often than in the
 *   fault-free run is explained when the process that sent the earlier copy
 *   died (SIGKILL) or could not write its ledger record (a DynamoDB fault)
 *   before the trace says the send was recorded. Anything else is unexplained.
 * - Nothing stuck: the settled queues are empty, nothing waits for a digest.
 * - Every dead letter is a permanent rejection, with its reason.
 */
import type { PermanentRejection, Receipt } from './sinks.ts';
import type { SettleReport } from './spec.ts';
import { storyOfLink } from './workload.ts';

/** One process of a schedule, as the bench saw it. */
export interface Incarnation {
  index: number;
  startedAt: number;
  endedAt: number;
  /** Killed by the bench with SIGKILL. */
  killed: boolean;
  exitCode: number | null;
}

/** A line of a worker's trace file. */
export interface TraceLine {
  t: number;
  incarnation: number;
  level: string;
  message: string;
  fault?: string;
  subscriberId?: string;
  storyId?: string;
  channel?: string;
  kind?: string;
}

export interface CheckInput {
  baseline: readonly Receipt[];
  receipts: readonly Receipt[];
  rejections: readonly PermanentRejection[];
  incarnations: readonly Incarnation[];
  trace: readonly TraceLine[];
  /** Pipeline story id → workload story id. */
  storyIds: ReadonlyMap<string, string>;
  settled: SettleReport | undefined;
}

export interface Violation {
  kind: 'lost' | 'duplicate' | 'stuck' | 'unreadable' | 'dead-letter';
  detail: string;
}

export interface Verdict {
  lost: number;
  duplicates: number;
  /** Explained duplicates by cause. */
  explained: { kill: number; 'record-failed': number };
  unexplained: number;
  stuck: number;
  unreadable: number;
  deadLettersUnexplained: number;
  violations: Violation[];
}

type Key = string;

function keysOf(receipts: readonly Receipt[]): Set<Key> {
  const keys = new Set<Key>();
  for (const r of receipts) {
    for (const link of r.links) keys.add(`${r.subscriberId}|${r.channel}|${storyOfLink(link)}`);
  }
  return keys;
}

/** How many times each message was received: alerts by story, digest lines by link. Outbox files overwrite in place. */
function counts(receipts: readonly Receipt[]): Map<Key, Receipt[]> {
  const byKey = new Map<Key, Receipt[]>();
  for (const r of receipts) {
    if (r.channel === 'outbox') continue;
    const keys =
      r.kind === 'alert'
        ? [...new Set(r.links.map((l) => `alert|${r.subscriberId}|${r.channel}|${storyOfLink(l)}`))]
        : r.links.map((l) => `digest|${r.subscriberId}|${r.channel}|${l}`);
    for (const key of keys) {
      const copies = byKey.get(key);
      if (copies) copies.push(r);
      else byKey.set(key, [r]);
    }
  }
  return byKey;
}

/** The process that was running when a message arrived (the last one started before it). */
function senderOf(incarnations: readonly Incarnation[], at: number): Incarnation | undefined {
  let found: Incarnation | undefined;
  for (const i of incarnations) if (i.startedAt <= at) found = i;
  return found;
}

/**
 * Whether `incarnation` traced the record of the send `receipt` is a copy of,
 * at or after it arrived: 'alert sent' for an alert, 'digest sent' for a digest.
 */
function recorded(
  input: CheckInput,
  incarnation: Incarnation,
  receipt: Receipt,
  story: string | undefined,
): boolean {
  return input.trace.some(
    (line) =>
      line.incarnation === incarnation.index &&
      line.subscriberId === receipt.subscriberId &&
      line.t >= receipt.at - 1_000 &&
      (line.channel ?? '').startsWith(receipt.channel) &&
      (receipt.kind === 'digest'
        ? line.message === 'digest sent'
        : line.message === 'alert sent' &&
          (story === undefined || input.storyIds.get(line.storyId ?? '') === story)),
  );
}

export function checkSchedule(input: CheckInput): Verdict {
  const verdict: Verdict = {
    lost: 0,
    duplicates: 0,
    explained: { kill: 0, 'record-failed': 0 },
    unexplained: 0,
    stuck: 0,
    unreadable: 0,
    deadLettersUnexplained: 0,
    violations: [],
  };
  const settled = input.settled;
  if (!settled) {
    verdict.unreadable = 1;
    verdict.violations.push({ kind: 'unreadable', detail: 'the settling process did not report' });
    return verdict;
  }

  // Dead letters: each must be an alert a destination refused for good, and the bench refused it.
  const excused = new Set<Key>();
  const refused = new Set(
    input.rejections.flatMap((r) => r.links.map((l) => `${r.subscriberId}|${storyOfLink(l)}`)),
  );
  for (const dead of settled.deadLetters) {
    let message: { subscriberId?: string; item?: { link?: string } } = {};
    try {
      message = JSON.parse(dead.body) as typeof message;
    } catch {
      // Not an alert message: unexplained below.
    }
    const story = message.item?.link ? storyOfLink(message.item.link) : undefined;
    const key = `${message.subscriberId}|${story}`;
    if (
      dead.queue === 'alerts' &&
      /rejected the alert: .*550/.test(dead.reason) &&
      refused.has(key)
    ) {
      excused.add(`${message.subscriberId}|email|${story}`);
    } else {
      verdict.deadLettersUnexplained++;
      verdict.violations.push({
        kind: 'dead-letter',
        detail: `${dead.queue}: ${dead.reason} (${dead.body.slice(0, 200)})`,
      });
    }
  }

  const got = keysOf(input.receipts);
  for (const key of keysOf(input.baseline)) {
    if (got.has(key) || excused.has(key)) continue;
    verdict.lost++;
    verdict.violations.push({ kind: 'lost', detail: `never delivered: ${key}` });
  }

  const expectedCounts = counts(input.baseline);
  for (const [key, copies] of counts(input.receipts)) {
    const extra = copies.length - (expectedCounts.get(key)?.length ?? 1);
    if (extra <= 0) continue;
    const sorted = [...copies].sort((a, b) => a.at - b.at);
    const story = key.startsWith('alert|') ? key.split('|')[3] : undefined;
    for (let i = 1; i <= extra; i++) {
      verdict.duplicates++;
      const earlier = sorted[i - 1] as Receipt;
      const sender = senderOf(input.incarnations, earlier.at);
      const wasRecorded = sender ? recorded(input, sender, earlier, story) : true;
      const dynamoFaults =
        sender !== undefined &&
        input.trace.some(
          (l) => l.incarnation === sender.index && (l.fault ?? '').startsWith('dynamodb-'),
        );
      if (sender?.killed && !wasRecorded) verdict.explained.kill++;
      else if (sender && !wasRecorded && dynamoFaults) verdict.explained['record-failed']++;
      else {
        verdict.unexplained++;
        verdict.violations.push({
          kind: 'duplicate',
          detail: `${key} received ${copies.length} times; the earlier copy's process ${
            sender
              ? `#${sender.index} (${sender.killed ? 'killed' : `exit ${sender.exitCode}`})`
              : 'unknown'
          } ${wasRecorded ? 'recorded it as sent' : 'did not record it'}`,
        });
      }
    }
  }

  if (
    !settled.quiescent ||
    settled.pending.items + settled.pending.alerts > 0 ||
    settled.waiting > 0
  ) {
    verdict.stuck = 1;
    verdict.violations.push({
      kind: 'stuck',
      detail: `after ${settled.rounds} rounds: ${settled.pending.items} items and ${settled.pending.alerts} alerts queued, ${settled.waiting} subscribers waiting`,
    });
  }
  return verdict;
}
