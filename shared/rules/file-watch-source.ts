/**
 * The rule set read from a watch file, as the local runner uses it. The file
 * is re-read when it changes, so an analyst's edit applies within a second
 * without a restart; a broken edit keeps the last good rule set running.
 *
 * `current` is called for every item, so the file is looked at (one `stat`)
 * at most once per check interval; in between, the cached rule set is served.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Clock, Logger, RuleSet, WatchSource } from '../ports.ts';
import { systemClock } from '../ports.ts';
import { formatDiagnostic, WatchFileError } from './diagnostics.ts';
import { compileWatches } from './matcher.ts';
import { parseWatchFile, requireWatches } from './watch-file.ts';

/** Default for `FileWatchSourceOptions.checkIntervalMs`: one second. */
export const DEFAULT_WATCH_FILE_CHECK_MS = 1_000;

/** Options of `FileWatchSource`. */
export interface FileWatchSourceOptions {
  /** Longest time the cached rule set is served without looking at the file. */
  checkIntervalMs?: number;
  clock?: Clock;
}

/** The rule set and the version of the file it was last checked against. */
interface Loaded {
  mtimeMs: number;
  size: number;
  ruleSet: RuleSet;
}

/** `WatchSource` backed by a watch file; `RuleSet.version` is a digest of its text. */
export class FileWatchSource implements WatchSource {
  private readonly checkIntervalMs: number;
  private readonly clock: Clock;
  private loaded: Loaded | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<RuleSet> | undefined;
  /** The last failure logged while keeping the previous rules, so that it is logged once. */
  private failure: string | undefined;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
    options: FileWatchSourceOptions = {},
  ) {
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_WATCH_FILE_CHECK_MS;
    this.clock = options.clock ?? systemClock;
  }

  async current(): Promise<RuleSet> {
    const now = this.clock.now().getTime();
    const sinceCheck = now - this.checkedAt;
    // A clock set back counts as due, so that a step back never stops reloads.
    if (this.loaded && sinceCheck >= 0 && sinceCheck < this.checkIntervalMs) {
      return this.loaded.ruleSet;
    }
    // Concurrent callers (a batch of items) share one check.
    this.checking ??= this.check(now).finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async check(now: number): Promise<RuleSet> {
    const previous = this.loaded;
    try {
      return await this.load(now, previous);
    } catch (error) {
      // Whatever went wrong (a file with errors, one that is missing for a
      // moment, a bug in the compiler), items keep being classified with the
      // rules that ran until now; only a first load has nothing to fall back on.
      if (!previous) throw error;
      this.checkedAt = now;
      const failure = error instanceof Error ? error.message : String(error);
      if (failure !== this.failure) {
        this.failure = failure;
        if (error instanceof WatchFileError) {
          this.logger.error('watch file has errors; keeping the previous rules', {
            file: this.path,
            errors: error.diagnostics.map(formatDiagnostic),
          });
        } else {
          this.logger.error('cannot load the watch file; keeping the previous rules', {
            file: this.path,
            error: failure,
          });
        }
      }
      return previous.ruleSet;
    }
  }

  private async load(now: number, previous: Loaded | undefined): Promise<RuleSet> {
    const { mtimeMs, size } = await stat(this.path);
    this.checkedAt = now;
    if (previous && previous.mtimeMs === mtimeMs && previous.size === size) {
      return previous.ruleSet;
    }
    // A new version of the file: its failure, if any, is news.
    this.failure = undefined;
    const text = await readFile(this.path, 'utf8');
    try {
      const watches = requireWatches(parseWatchFile(text, this.path));
      const ruleSet: RuleSet = {
        matcher: compileWatches(watches),
        watches: new Map(watches.map((w) => [w.id, w])),
        version: createHash('sha256').update(text).digest('hex').slice(0, 12),
      };
      this.loaded = { mtimeMs, size, ruleSet };
      return ruleSet;
    } catch (error) {
      // Remember this version of the file, so that it is not parsed again until it changes.
      if (previous) this.loaded = { mtimeMs, size, ruleSet: previous.ruleSet };
      throw error;
    }
  }
}
