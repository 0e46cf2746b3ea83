/**
 * The rule set read from a watch file, as the local runner uses it. The file
 * is re-read when it changes, so an analyst's edit applies on the next item
 * without a restart; a broken edit keeps the last good rule set running.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Logger, RuleSet, WatchSource } from '../ports.ts';
import { formatDiagnostic, WatchFileError } from './diagnostics.ts';
import { compileWatches } from './matcher.ts';
import { parseWatchFile, requireWatches } from './watch-file.ts';

export class FileWatchSource implements WatchSource {
  private cached: { mtimeMs: number; ruleSet: RuleSet } | undefined;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  async current(): Promise<RuleSet> {
    const { mtimeMs } = await stat(this.path);
    if (this.cached && this.cached.mtimeMs === mtimeMs) return this.cached.ruleSet;
    const text = await readFile(this.path, 'utf8');
    try {
      const watches = requireWatches(parseWatchFile(text, this.path));
      const ruleSet: RuleSet = {
        matcher: compileWatches(watches),
        watches: new Map(watches.map((w) => [w.id, w])),
        version: createHash('sha256').update(text).digest('hex').slice(0, 12),
      };
      this.cached = { mtimeMs, ruleSet };
      return ruleSet;
    } catch (error) {
      if (!(error instanceof WatchFileError) || !this.cached) throw error;
      this.logger.error('watch file has errors; keeping the previous rules', {
        file: this.path,
        errors: error.diagnostics.map(formatDiagnostic),
      });
      this.cached = { mtimeMs, ruleSet: this.cached.ruleSet };
      return this.cached.ruleSet;
    }
  }
}
