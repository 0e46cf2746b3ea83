/**
 * The fault bench's judge: given what subscribers received in a fault-free
 * run and in a faulted one, it finds every loss, every duplicate nobody can
 * account for, every stuck queue and every unexplained dead letter. A bench
 * whose judge cannot fail proves nothing, so each verdict is shown failing.
 */
import { describe, expect, it } from 'vitest';
import { type CheckInput, checkSchedule, type Incarnation } from '../../bench/faults/check.ts';
import type { Receipt } from '../../bench/faults/sinks.ts';
import type { SettleReport } from '../../bench/faults/spec.ts';

const link = (story: string, feed = 'outlet-1') => `https://news.example/${story}/${feed}/1`;

function alert(
  subscriberId: string,
  channel: Receipt['channel'],
  story: string,
  at: number,
): Receipt {
  return { subscriberId, channel, kind: 'alert', links: [link(story)], at };
}

const settled: SettleReport = {
  quiescent: true,
  rounds: 3,
  pending: { items: 0, alerts: 0 },
  waiting: 0,
  deadLetters: [],
};

const baseline: Receipt[] = [
  alert('desk-email', 'email', 's1', 0),
  alert('desk-email', 'email', 's2', 0),
  alert('ops-slack', 'slack', 's1', 0),
  {
    subscriberId: 'brief-digest',
    channel: 'email',
    kind: 'digest',
    links: [link('s1'), link('s2', 'outlet-2')],
    at: 0,
  },
];

/** Two processes: #0 from 1,000 to 2,000 ms, #1 from 2,100 to 3,000 ms. */
function incarnations(firstKilled: boolean): Incarnation[] {
  return [
    { index: 0, startedAt: 1_000, endedAt: 2_000, killed: firstKilled, exitCode: null },
    { index: 1, startedAt: 2_100, endedAt: 3_000, killed: false, exitCode: 0 },
  ];
}

function input(overrides: Partial<CheckInput>): CheckInput {
  return {
    baseline,
    receipts: baseline.map((r) => ({ ...r, at: 2_500 })),
    rejections: [],
    incarnations: incarnations(false),
    trace: [],
    storyIds: new Map([['s-abc', 's1']]),
    settled,
    ...overrides,
  };
}

describe('the fault bench check', () => {
  it('passes a run that delivered what the fault-free run did', () => {
    const verdict = checkSchedule(input({}));
    expect(verdict.violations).toEqual([]);
    expect(verdict.lost).toBe(0);
  });

  it('finds an alert that never arrived, and a digest line that never arrived', () => {
    const receipts = [
      alert('desk-email', 'email', 's1', 2_500),
      alert('ops-slack', 'slack', 's1', 2_500),
      { ...(baseline[3] as Receipt), links: [link('s1')], at: 2_600 },
    ];
    const verdict = checkSchedule(input({ receipts }));
    expect(verdict.lost).toBe(2);
    expect(verdict.violations.map((v) => v.detail).sort()).toEqual([
      'never delivered: brief-digest|email|s2',
      'never delivered: desk-email|email|s2',
    ]);
  });

  it('excuses a message the destination refused for good only when it is dead-lettered with the reason', () => {
    const receipts = input({}).receipts.filter(
      (r) => !(r.subscriberId === 'desk-email' && r.links[0] === link('s2')),
    );
    const rejections = [{ subscriberId: 'desk-email', links: [link('s2')] }];
    const deadLetter = {
      queue: 'alerts' as const,
      reason: 'email:ab12 rejected the alert: 550 5.7.1 Message refused by policy',
      body: JSON.stringify({ subscriberId: 'desk-email', item: { link: link('s2') } }),
    };
    expect(
      checkSchedule(
        input({ receipts, rejections, settled: { ...settled, deadLetters: [deadLetter] } }),
      ).violations,
    ).toEqual([]);
    // Refused, but nowhere for a person to find it: lost.
    expect(checkSchedule(input({ receipts, rejections })).lost).toBe(1);
  });

  it('calls any other dead letter a violation', () => {
    const deadLetter = {
      queue: 'items' as const,
      reason: 'exceeded maxReceiveCount (5); last error: handler threw',
      body: '{"item":{}}',
    };
    const verdict = checkSchedule(input({ settled: { ...settled, deadLetters: [deadLetter] } }));
    expect(verdict.deadLettersUnexplained).toBe(1);
    expect(verdict.violations[0]?.kind).toBe('dead-letter');
  });

  it('explains a second copy when the process that sent the first was killed before recording it', () => {
    const receipts = [...input({}).receipts, alert('desk-email', 'email', 's1', 1_500)];
    const verdict = checkSchedule(input({ receipts, incarnations: incarnations(true) }));
    expect(verdict.duplicates).toBe(1);
    expect(verdict.explained.kill).toBe(1);
    expect(verdict.unexplained).toBe(0);
  });

  it('calls a second copy unexplained when the first was recorded as sent, killed or not', () => {
    const receipts = [...input({}).receipts, alert('desk-email', 'email', 's1', 1_500)];
    const trace = [
      {
        t: 1_520,
        incarnation: 0,
        level: 'info',
        message: 'alert sent',
        subscriberId: 'desk-email',
        storyId: 's-abc',
        channel: 'email:ab12',
      },
    ];
    for (const killed of [false, true]) {
      const verdict = checkSchedule(input({ receipts, trace, incarnations: incarnations(killed) }));
      expect(verdict.unexplained).toBe(1);
      expect(verdict.violations[0]?.kind).toBe('duplicate');
    }
  });

  it('calls a second copy unexplained when its process neither died nor met a DynamoDB fault', () => {
    const receipts = [...input({}).receipts, alert('ops-slack', 'slack', 's1', 1_500)];
    expect(checkSchedule(input({ receipts })).unexplained).toBe(1);
    const trace = [
      {
        t: 1_400,
        incarnation: 0,
        level: 'fault',
        message: 'fault injected',
        fault: 'dynamodb-500',
      },
    ];
    expect(checkSchedule(input({ receipts, trace })).explained['record-failed']).toBe(1);
  });

  it('counts a digest line sent twice as a duplicate', () => {
    const receipts = [...input({}).receipts, { ...(baseline[3] as Receipt), at: 2_700 }];
    const verdict = checkSchedule(input({ receipts }));
    expect(verdict.duplicates).toBe(2);
    expect(verdict.unexplained).toBe(2);
  });

  it('finds a queue that did not drain and a data directory that did not reopen', () => {
    const stuck = checkSchedule(
      input({ settled: { ...settled, quiescent: false, pending: { items: 0, alerts: 2 } } }),
    );
    expect(stuck.stuck).toBe(1);
    expect(stuck.violations[0]?.detail).toContain('2 alerts queued');
    const unreadable = checkSchedule(input({ settled: undefined }));
    expect(unreadable.unreadable).toBe(1);
  });
});
