import { describe, expect, it } from 'vitest';
import {
  latestDigestTime,
  localMinutes,
  nextDigestTime,
  quietHoursEnd,
} from '../../shared/alerts/schedule.ts';

const NIGHT = { start: '22:00', end: '07:00' };

function at(iso: string): Date {
  return new Date(iso);
}

describe('localMinutes', () => {
  it('reads the wall clock of the time zone, daylight saving included', () => {
    expect(localMinutes(at('2026-03-05T21:30:00Z'), 'Europe/Warsaw')).toBe(22 * 60 + 30);
    expect(localMinutes(at('2026-07-05T21:30:00Z'), 'Europe/Warsaw')).toBe(23 * 60 + 30);
    expect(localMinutes(at('2026-07-05T03:15:00Z'), 'America/New_York')).toBe(23 * 60 + 15);
  });
});

describe('quietHoursEnd', () => {
  it('is undefined outside quiet hours, and at the end itself (the end is exclusive)', () => {
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-05T12:00:00Z'))).toBeUndefined();
    // 07:00 CET
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-06T06:00:00Z'))).toBeUndefined();
    // 21:59 CET
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-05T20:59:00Z'))).toBeUndefined();
  });

  it('ends the next morning when quiet hours wrap midnight and start in the evening', () => {
    // 22:00 CET sharp: quiet hours have begun.
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-05T21:00:00Z'))).toEqual(
      at('2026-03-06T06:00:00Z'),
    );
    // 23:30 CET
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-05T22:30:00Z'))).toEqual(
      at('2026-03-06T06:00:00Z'),
    );
  });

  it('ends the same morning when it is already past midnight', () => {
    // 01:00 CET on the 6th
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-06T00:00:00Z'))).toEqual(
      at('2026-03-06T06:00:00Z'),
    );
    // 06:59:30 CET: ends in thirty seconds, not a day later
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-06T05:59:30Z'))).toEqual(
      at('2026-03-06T06:00:00Z'),
    );
  });

  it('handles quiet hours that do not wrap midnight', () => {
    const lunch = { start: '12:00', end: '13:30' };
    expect(quietHoursEnd(lunch, 'UTC', at('2026-03-05T12:45:10Z'))).toEqual(
      at('2026-03-05T13:30:00Z'),
    );
    expect(quietHoursEnd(lunch, 'UTC', at('2026-03-05T13:30:00Z'))).toBeUndefined();
    expect(quietHoursEnd(lunch, 'UTC', at('2026-03-05T11:59:59Z'))).toBeUndefined();
  });

  it('ends at 07:00 local time on the night Warsaw springs forward (a 23-hour day)', () => {
    // 23:00 CET on 28 March; clocks go 02:00 CET -> 03:00 CEST; 07:00 CEST is 05:00 UTC.
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-28T22:00:00Z'))).toEqual(
      at('2026-03-29T05:00:00Z'),
    );
    // 01:30 CET, before the change, still ends at 07:00 CEST.
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-29T00:30:00Z'))).toEqual(
      at('2026-03-29T05:00:00Z'),
    );
    // 03:30 CEST, after the change.
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-03-29T01:30:00Z'))).toEqual(
      at('2026-03-29T05:00:00Z'),
    );
  });

  it('ends at 07:00 local time on the night Warsaw falls back (a 25-hour day)', () => {
    // 23:00 CEST on 24 October; clocks go 03:00 CEST -> 02:00 CET; 07:00 CET is 06:00 UTC.
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-10-24T21:00:00Z'))).toEqual(
      at('2026-10-25T06:00:00Z'),
    );
    // 02:30 CET, the second time the clock shows 02:30 that night.
    expect(quietHoursEnd(NIGHT, 'Europe/Warsaw', at('2026-10-25T01:30:00Z'))).toEqual(
      at('2026-10-25T06:00:00Z'),
    );
  });

  it('ends at 07:00 local time across both New York changes', () => {
    // 23:00 EST on 7 March; 02:00 EST -> 03:00 EDT; 07:00 EDT is 11:00 UTC.
    expect(quietHoursEnd(NIGHT, 'America/New_York', at('2026-03-08T04:00:00Z'))).toEqual(
      at('2026-03-08T11:00:00Z'),
    );
    // 23:00 EDT on 31 October; 02:00 EDT -> 01:00 EST; 07:00 EST is 12:00 UTC.
    expect(quietHoursEnd(NIGHT, 'America/New_York', at('2026-11-01T03:00:00Z'))).toEqual(
      at('2026-11-01T12:00:00Z'),
    );
  });

  it('ends at the first of the two 01:30s when the end falls in the repeated hour', () => {
    const quiet = { start: '22:00', end: '01:30' };
    // 23:00 EDT on 31 October; 01:30 EDT is 05:30 UTC (01:30 EST would be 06:30 UTC).
    expect(quietHoursEnd(quiet, 'America/New_York', at('2026-11-01T03:00:00Z'))).toEqual(
      at('2026-11-01T05:30:00Z'),
    );
  });

  it('ends at the first instant after the skipped hour when the end does not exist that night', () => {
    const quiet = { start: '23:00', end: '02:30' };
    // 23:30 CET on 28 March; 02:30 never happens on the 29th (02:00 CET -> 03:00 CEST = 01:00 UTC).
    const end = quietHoursEnd(quiet, 'Europe/Warsaw', at('2026-03-28T22:30:00Z'));

    expect(end).toEqual(at('2026-03-29T01:00:00Z'));
    // Whatever the end is, it must not itself be inside quiet hours.
    expect(end && quietHoursEnd(quiet, 'Europe/Warsaw', end)).toBeUndefined();
  });

  it('is always in the future when it is defined', () => {
    const starts = ['2026-03-07T00:00:00Z', '2026-10-30T00:00:00Z', '2026-06-01T00:00:00Z'];
    for (const timezone of ['Europe/Warsaw', 'America/New_York']) {
      for (const start of starts) {
        for (let minute = 0; minute < 4 * 24 * 60; minute += 17) {
          const now = new Date(Date.parse(start) + minute * 60_000);
          const end = quietHoursEnd(NIGHT, timezone, now);
          if (end === undefined) continue;
          expect(end.getTime()).toBeGreaterThan(now.getTime());
          expect(end.getTime() - now.getTime()).toBeLessThanOrEqual(10 * 60 * 60_000);
          expect(localMinutes(end, timezone)).toBe(7 * 60);
        }
      }
    }
  });
});

describe('latestDigestTime', () => {
  it('is the most recent scheduled time at or before now, read in the time zone', () => {
    // 08:00 in Warsaw in March is 07:00 UTC.
    expect(latestDigestTime('0 8 * * *', 'Europe/Warsaw', at('2026-03-05T10:00:00Z'))).toEqual(
      at('2026-03-05T07:00:00Z'),
    );
    expect(latestDigestTime('0 8 * * *', 'Europe/Warsaw', at('2026-03-05T07:00:00Z'))).toEqual(
      at('2026-03-05T07:00:00Z'),
    );
    expect(latestDigestTime('0 8 * * *', 'Europe/Warsaw', at('2026-03-05T06:59:59Z'))).toEqual(
      at('2026-03-04T07:00:00Z'),
    );
  });

  it('follows the time zone across a daylight-saving change', () => {
    // 08:00 CEST on 30 March is 06:00 UTC.
    expect(latestDigestTime('0 8 * * *', 'Europe/Warsaw', at('2026-03-30T06:30:00Z'))).toEqual(
      at('2026-03-30T06:00:00Z'),
    );
    // 17:30 EDT on 9 March is 21:30 UTC; before it, the previous day's 17:30 EDT.
    expect(latestDigestTime('30 17 * * *', 'America/New_York', at('2026-03-09T21:00:00Z'))).toEqual(
      at('2026-03-08T21:30:00Z'),
    );
    // 17:30 EST on 6 March was 22:30 UTC.
    expect(latestDigestTime('30 17 * * *', 'America/New_York', at('2026-03-07T12:00:00Z'))).toEqual(
      at('2026-03-06T22:30:00Z'),
    );
  });

  it('skips the days the schedule leaves out', () => {
    // Sunday 8 March 2026: the last weekday digest was Friday 6 March, 08:00 CET.
    expect(latestDigestTime('0 8 * * 1-5', 'Europe/Warsaw', at('2026-03-08T12:00:00Z'))).toEqual(
      at('2026-03-06T07:00:00Z'),
    );
  });

  it('pairs with nextDigestTime: the next time after the latest', () => {
    const now = at('2026-03-05T10:00:00Z');
    expect(nextDigestTime('0 8,17 * * *', 'Europe/Warsaw', now)).toEqual(
      at('2026-03-05T16:00:00Z'),
    );
  });
});
