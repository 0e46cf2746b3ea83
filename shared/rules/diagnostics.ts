/** Problems found in a watch file, each pointing at a place in it. */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based line in the file. */
  line: number;
  /** 1-based column in the file. */
  column: number;
  message: string;
  hint?: string;
}

/** A problem inside one query string, positioned by character offset in that string. */
export interface QueryProblem {
  severity: Severity;
  offset: number;
  message: string;
  hint?: string;
}

/** Formats a diagnostic as `path:line:column: message`, with its hint on the next line. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** Thrown when a watch file cannot be used; carries every problem found. */
export class WatchFileError extends Error {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in watch file:\n${errors.map(formatDiagnostic).join('\n')}`,
    );
    this.name = 'WatchFileError';
    this.diagnostics = diagnostics;
  }
}
