/**
 * Fifty seeded fault schedules over the embedded stack's real code path (the
 * bench `npm run bench -- faults` runs a thousand): processes killed with
 * SIGKILL at any moment and at chosen I/O operations, DynamoDB throttling,
 * 500s and timeouts, queue duplication, redelivery and reordering, clock
 * jumps, a full disk, failing feeds, SMTP 4xx/5xx and dropped connections,
 * Slack 429s, 5xx and dropped connections. Nothing may be lost, stuck or
 * unreadable, and every duplicate must be one a kill explains.
 */
import { describe, expect, it } from 'vitest';
import { runFaultBench } from '../../bench/faults/harness.ts';

describe('fault schedules', () => {
  it('lose nothing, duplicate only where a kill fell between a send and its record, and leave nothing stuck', {
    timeout: 600_000,
  }, async () => {
    const report = await runFaultBench({ schedules: 50, seed: 11, parallel: 2 });
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({
      schedules: 50,
      lost: 0,
      duplicates_unexplained: 0,
      stuck: 0,
      unreadable: 0,
      dead_letters_unexplained: 0,
    });
    // The schedules did strike: every family of fault was injected.
    const injected = (prefix: string) =>
      Object.entries(report.faults)
        .filter(([kind]) => kind.startsWith(prefix))
        .reduce((sum, [, n]) => sum + n, 0);
    for (const family of [
      'kill',
      'dynamodb-',
      'queue-',
      'feed-',
      'smtp-',
      'slack-',
      'clock-jump',
    ]) {
      expect(injected(family), family).toBeGreaterThan(0);
    }
  });
});
