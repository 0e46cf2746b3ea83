/**
 * A subscriber's clock: quiet hours and digest times, read in the
 * subscriber's own time zone (daylight saving included).
 */
import { Cron } from 'croner';
import type { QuietHours } from '../ports.ts';

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

function minutesOf(clockTime: string): number {
  const [hours, minutes] = clockTime.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** Minutes since local midnight of `at` in `timezone`. */
export function localMinutes(at: Date, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return hour * 60 + minute;
}

function isQuiet(minutes: number, start: number, end: number): boolean {
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
}

/**
 * When the quiet hours `now` falls in end, or `undefined` when `now` is not
 * in quiet hours. `start`–`end` may wrap midnight (`22:00`–`07:00`).
 */
export function quietHoursEnd(quiet: QuietHours, timezone: string, now: Date): Date | undefined {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const minutes = localMinutes(now, timezone);
  if (!isQuiet(minutes, start, end)) return undefined;
  const wholeMinute = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
  let candidate = new Date(
    wholeMinute.getTime() + ((end - minutes + DAY_MINUTES) % DAY_MINUTES) * MINUTE_MS,
  );
  // Across a daylight-saving change the wall clock moves by an hour: correct
  // once, then settle on the first minute that is not quiet (an end time
  // inside a spring-forward gap does not exist on that day).
  const drift = localMinutes(candidate, timezone) - end;
  if (drift !== 0) {
    const wrapped = ((drift + DAY_MINUTES / 2) % DAY_MINUTES) - DAY_MINUTES / 2;
    candidate = new Date(candidate.getTime() - wrapped * MINUTE_MS);
  }
  const quietAt = (at: Date): boolean => isQuiet(localMinutes(at, timezone), start, end);
  for (let step = 0; step < 120 && quietAt(candidate); step++) {
    candidate = new Date(candidate.getTime() + MINUTE_MS);
  }
  for (
    let step = 0;
    step < 120 &&
    candidate.getTime() - MINUTE_MS > now.getTime() &&
    !quietAt(new Date(candidate.getTime() - MINUTE_MS));
    step++
  ) {
    candidate = new Date(candidate.getTime() - MINUTE_MS);
  }
  return candidate.getTime() > now.getTime() ? candidate : new Date(now.getTime() + MINUTE_MS);
}

/** The most recent time at or before `now` that `schedule` (cron, in `timezone`) names. */
export function latestDigestTime(schedule: string, timezone: string, now: Date): Date | undefined {
  const cron = new Cron(schedule, { timezone, paused: true });
  // previousRuns is strictly before its reference: look from one millisecond later.
  return cron.previousRuns(1, new Date(now.getTime() + 1))[0];
}

/** The next time after `now` that `schedule` names. */
export function nextDigestTime(schedule: string, timezone: string, now: Date): Date | undefined {
  return new Cron(schedule, { timezone, paused: true }).nextRun(now) ?? undefined;
}
