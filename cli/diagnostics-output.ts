/** Printing a watch file's problems for a person at a terminal. */
import pc from 'picocolors';
import { formatDiagnostic } from '../shared/rules/diagnostics.ts';
import type { WatchFile } from '../shared/rules/watch-file.ts';

/** Prints every diagnostic to stderr, errors red and warnings yellow; returns the number of errors. */
export function printDiagnostics(file: Pick<WatchFile, 'diagnostics'>): number {
  for (const d of file.diagnostics) {
    const text = formatDiagnostic(d);
    console.error(d.severity === 'error' ? pc.red(text) : pc.yellow(text));
  }
  return file.diagnostics.filter((d) => d.severity === 'error').length;
}
