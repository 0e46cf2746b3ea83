/** Rule sets for benchmarks: generated queries turned into watches, and tuned. */
import type { Term } from '../../shared/rules/ast.ts';
import { compileWatches, type MatchInput } from '../../shared/rules/matcher.ts';
import { parseQuery } from '../../shared/rules/parser.ts';
import { checkQuery, expandLists } from '../../shared/rules/validate.ts';
import type { Watch } from '../../shared/rules/watch.ts';

const NO_LISTS: ReadonlyMap<string, Term[]> = new Map();
/** Rounds of replacing noisy queries; the few still noisy after them are kept. */
const TUNING_ROUNDS = 4;

/**
 * Watches from query text, built as the watch-file loader builds each watch
 * (parse, check, expand lists), without the YAML around them. Ids are
 * `watch-<index>`. Throws on an invalid query: generated queries must be valid.
 */
export function watchesFromQueries(queries: readonly string[]): Watch[] {
  return queries.map((query, i) => {
    const parsed = parseQuery(query);
    const problems = [...parsed.problems];
    if (parsed.expr) problems.push(...checkQuery(parsed.expr));
    const expr = parsed.expr && expandLists(parsed.expr, NO_LISTS, problems);
    const error = problems.find((p) => p.severity === 'error');
    if (!expr || error) {
      throw new Error(`generated query ${i} is invalid (${error?.message}): ${query}`);
    }
    return {
      id: `watch-${i}`,
      name: `Watch ${i}`,
      query,
      severity: 'normal',
      updates: false,
      expr,
    };
  });
}

export interface TunedQueries {
  queries: string[];
  /** Queries replaced because they matched too many tuning items. */
  replaced: number;
  /** Queries still over the limit after the last round. */
  stillNoisy: number;
}

/**
 * `count` queries as analysts keep them: a query that matches more than
 * `maxMatchShare` of the tuning items is replaced by the next one from `next`,
 * as an analyst tightens or drops a watch that alerts all the time.
 */
export function tuneWatchQueries(
  next: () => string,
  count: number,
  tuningItems: readonly MatchInput[],
  maxMatchShare: number,
): TunedQueries {
  const queries = Array.from({ length: count }, next);
  const limit = maxMatchShare * tuningItems.length;
  let suspects = queries.map((_, i) => i);
  let replaced = 0;
  for (let round = 0; round < TUNING_ROUNDS && suspects.length > 0; round++) {
    const matcher = compileWatches(watchesFromQueries(suspects.map((i) => queries[i] as string)));
    const matchCounts = new Map<string, number>();
    for (const item of tuningItems) {
      for (const match of matcher.match(item)) {
        matchCounts.set(match.watchId, (matchCounts.get(match.watchId) ?? 0) + 1);
      }
    }
    suspects = suspects.filter((_, k) => (matchCounts.get(`watch-${k}`) ?? 0) > limit);
    if (round === TUNING_ROUNDS - 1) break;
    for (const i of suspects) queries[i] = next();
    replaced += suspects.length;
  }
  return { queries, replaced, stillNoisy: suspects.length };
}
