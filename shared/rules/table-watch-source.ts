/**
 * The rule set of a deployment, read from the rules table. The compiled rule
 * set is cached and the live-version pointer re-read at most once per refresh
 * interval (a minute by default), so a push goes live within that interval
 * without a redeploy, for the cost of one small read per interval.
 *
 * A version that does not compile (the classifier's rule language is stricter
 * than the CLI that pushed it) never replaces a good one: the last good rule
 * set keeps running and an error is logged. A cold start on such a version
 * falls back to the newest earlier version that compiles, so that every
 * instance runs the same rules. Until anything is pushed, an optional
 * `beforeFirstPush` source (the bundled watch file) runs.
 */
import type { Clock, Logger, RuleSet, RuleStore, RuleVersion, WatchSource } from '../ports.ts';
import { systemClock } from '../ports.ts';
import { formatDiagnostic, WatchFileError } from './diagnostics.ts';
import { compileWatches } from './matcher.ts';
import { parseWatchFile, requireWatches } from './watch-file.ts';

/** Default for `TableWatchSourceOptions.refreshMs`: one minute. */
export const DEFAULT_RULES_REFRESH_MS = 60_000;
/** How many earlier versions a cold start tries when the live one does not compile. */
const FALLBACK_VERSIONS = 10;

/** Options of `TableWatchSource`. */
export interface TableWatchSourceOptions {
  /** Longest time a cached rule set is used without re-reading the pointer. */
  refreshMs?: number;
  clock?: Clock;
  /**
   * What runs until the first version is pushed (the watch file bundled with
   * the function), so a fresh deployment classifies rather than failing every item.
   */
  beforeFirstPush?: WatchSource;
}

/** Thrown when the rules table has no usable version at all. */
export class NoRulesError extends Error {
  constructor(detail: string) {
    super(`no watch rules to run: ${detail}`);
    this.name = 'NoRulesError';
  }
}

interface Loaded {
  /** The version the rule set was compiled from. */
  version: number;
  ruleSet: RuleSet;
}

/** `WatchSource` backed by a `RuleStore`; `RuleSet.version` is the version number. */
export class TableWatchSource implements WatchSource {
  private readonly refreshMs: number;
  private readonly clock: Clock;
  private readonly beforeFirstPush: WatchSource | undefined;
  /** The newest version that compiled. */
  private loaded: Loaded | undefined;
  /** What `current` returns until the next check: `loaded`'s rule set, or `beforeFirstPush`'s. */
  private serving: RuleSet | undefined;
  /** The live version as last read, whether or not it compiled. */
  private seenVersion: number | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<RuleSet> | undefined;

  constructor(
    private readonly store: RuleStore,
    private readonly logger: Logger,
    options: TableWatchSourceOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? DEFAULT_RULES_REFRESH_MS;
    this.clock = options.clock ?? systemClock;
    this.beforeFirstPush = options.beforeFirstPush;
  }

  async current(): Promise<RuleSet> {
    const now = this.clock.now().getTime();
    if (this.serving && now - this.checkedAt < this.refreshMs) return this.serving;
    // Concurrent callers share one refresh.
    this.refreshing ??= this.refresh(now).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(now: number): Promise<RuleSet> {
    try {
      this.serving = await this.reload(now);
      return this.serving;
    } catch (error) {
      const kept = this.serving;
      if (!kept) throw error;
      // A throttled or unreachable table must not stop classification: the
      // rules in memory were live a moment ago; the next interval tries again.
      this.checkedAt = now;
      this.logger.error('cannot read the rules table; keeping the current rules', {
        ruleVersion: kept.version,
        error: error instanceof Error ? error.message : String(error),
      });
      return kept;
    }
  }

  private async reload(now: number): Promise<RuleSet> {
    const live = await this.store.currentVersion();
    this.checkedAt = now;
    if (live === undefined) {
      if (this.loaded) return this.loaded.ruleSet;
      if (this.beforeFirstPush) {
        if (!this.serving) {
          this.logger.info(
            'no rules pushed to the rules table yet; running the bundled watch file',
          );
        }
        return this.beforeFirstPush.current();
      }
      throw new NoRulesError(
        'nothing has been pushed to the rules table yet (wirewatch rules push <file> --stack <stack>)',
      );
    }
    if (this.loaded && live === this.seenVersion) return this.loaded.ruleSet;

    const loaded = this.loaded ? await this.tryLoad(live) : await this.loadColdStart(live);
    // Remembered only once tried, so a version that could not be read is tried again.
    this.seenVersion = live;
    if (loaded) {
      if (this.loaded) {
        this.logger.info('rules updated', { from: this.loaded.version, to: loaded.version });
      }
      this.loaded = loaded;
    }
    if (!this.loaded)
      throw new NoRulesError(`version ${live} and the versions before it do not compile`);
    return this.loaded.ruleSet;
  }

  /** The live version, else the newest earlier one that compiles. */
  private async loadColdStart(live: number): Promise<Loaded | undefined> {
    for (let version = live; version > 0 && version > live - FALLBACK_VERSIONS; version--) {
      const loaded = await this.tryLoad(version);
      if (loaded) return loaded;
    }
    return undefined;
  }

  private async tryLoad(version: number): Promise<Loaded | undefined> {
    const stored = await this.store.get(version);
    if (!stored) {
      this.logger.error('rules version is missing from the rules table', {
        ruleVersion: version,
      });
      return undefined;
    }
    try {
      return { version, ruleSet: compileVersion(stored) };
    } catch (error) {
      // Any failure to compile a version (errors in it, a damaged row, a bug in
      // the compiler) is the version's, not the table's: it is not retried, and
      // the previous rules, or on a cold start an earlier version, run instead.
      const keeping = this.loaded?.version ?? null;
      if (error instanceof WatchFileError) {
        this.logger.error('rules version has errors; keeping the previous rules', {
          ruleVersion: version,
          keeping,
          errors: error.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic),
        });
      } else {
        this.logger.error('rules version cannot be loaded; keeping the previous rules', {
          ruleVersion: version,
          keeping,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      return undefined;
    }
  }
}

/** Compiles a stored version; throws `WatchFileError` when it has errors. */
export function compileVersion(stored: RuleVersion): RuleSet {
  const watches = requireWatches(parseWatchFile(stored.source, `rules version ${stored.version}`));
  return {
    matcher: compileWatches(watches),
    watches: new Map(watches.map((w) => [w.id, w])),
    version: String(stored.version),
  };
}
