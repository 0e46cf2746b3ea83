import type { Logger } from '../../shared/ports.ts';

/** One line a `RecordingLogger` was given. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line, for tests that assert on what was logged. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', message, fields });
  }

  /** The lines with `message`. */
  named(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }
}
