import type { Clock } from '../../shared/ports.ts';

/** A clock that stands still until the test sets or advances it. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: string | number | Date = 0) {
    this.ms = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  set(at: string | number | Date): void {
    this.ms = new Date(at).getTime();
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** `new ManualClock(start)`, for tests that build clocks inline. */
export function manualClock(start: string | number | Date): ManualClock {
  return new ManualClock(start);
}
