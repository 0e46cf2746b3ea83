/**
 * Throughput of the compiled watch matcher at 1k, 10k and 100k rules.
 *
 *   npm run bench -- matcher [--sizes 1000,10000,100000] [--items 5000] [--via query|yaml]
 *
 * Prints one JSON line per rule-set size on stdout; diagnostics go to stderr.
 * Rules and items are generated from fixed seeds, so runs compare. Rules are
 * compiled from their query text with parseQuery + checkQuery + expandLists, as
 * the watch-file loader does for each watch; `--via yaml` goes through
 * parseWatchFile instead, which costs more (the YAML parse) for the same watches.
 *
 * `tokenize_only_items_per_sec` is `analyze(title)` + `analyze(summary)` alone;
 * `items_per_sec` is `matcher.match(input)` on the same plain inputs, so it
 * includes that tokenisation plus building the item's `AnalyzedItem`.
 */
import { parseArgs } from 'node:util';
import { analyze } from '../shared/rules/analyze.ts';
import { compileWatches, type MatchInput } from '../shared/rules/matcher.ts';
import type { Watch } from '../shared/rules/watch.ts';
import { parseWatchFile, requireWatches } from '../shared/rules/watch-file.ts';
import { generateNewsItems, loadCorpusItems } from './synthetic/news-items.ts';
import { Random } from './synthetic/random.ts';
import { tuneWatchQueries, watchesFromQueries } from './synthetic/rule-set.ts';
import { buildVocabulary, entityCount } from './synthetic/vocabulary.ts';
import { generateWatchQueries, watchQueryGenerator } from './synthetic/watch-queries.ts';

const VOCABULARY_SEED = 20260601;
const ITEMS_SEED = 7;
const TUNING_ITEMS_SEED = 8;
const RULES_SEED = 11;
/** Items the rule set is tuned on: news other than the measured items. */
const TUNING_ITEMS = 500;
/** A watch that alerts on more of the tuning items than this is tightened (replaced). */
const MAX_WATCH_MATCH_SHARE = 0.01;
/** Timed rounds per workload; the best one is reported, to damp noise from other processes. */
const ROUNDS = 5;
const MIN_ROUND_MS = 400;
const TIME_BUDGET_MS = 15_000;
const WARM_UP_ITEMS = 500;
/** Below this share of items matching some rule, the workload is not realistic. */
const MIN_MATCHED_SHARE = 0.03;

/** One line of output, one rule-set size. */
interface MatcherFigures {
  rules: number;
  items: number;
  items_per_sec: number;
  /** `analyze(title)` + `analyze(summary)` alone, on the same items in the same run. */
  tokenize_only_items_per_sec: number;
  /** Mean of `matcher.lastCandidateCount`: watches evaluated per item after the pre-filter. */
  candidates_per_item: number;
  /** Rule text to compiled matcher: parse, check, expand lists, index. */
  compile_ms: number;
  /**
   * Heap used after compiling, after a full GC, with the matcher alive; it
   * includes the items and rule texts (stderr gives the heap before compiling).
   */
  heap_mb: number;
}

type CompilePath = 'query' | 'yaml';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '1000,10000,100000' },
      items: { type: 'string', default: '5000' },
      via: { type: 'string', default: 'query' },
      untuned: { type: 'boolean', default: false },
    },
  });
  const sizes = values.sizes.split(',').map((s) => Number.parseInt(s, 10));
  const generated = Number.parseInt(values.items, 10);
  const via = values.via;
  if (sizes.some((n) => !(n > 0)) || !(generated >= 0) || (via !== 'query' && via !== 'yaml')) {
    throw new Error(
      'usage: matcher [--sizes 1000,10000] [--items 5000] [--via query|yaml] [--untuned]',
    );
  }
  if (!globalThis.gc)
    log('global.gc is not exposed (run with --expose-gc): heap_mb includes garbage');

  const vocabulary = buildVocabulary(new Random(VOCABULARY_SEED));
  const corpus = loadCorpusItems();
  const items = [...corpus, ...generateNewsItems(vocabulary, generated, ITEMS_SEED, corpus)];
  const inputs: MatchInput[] = items.map(({ title, summary, feed, lang }) => ({
    title,
    summary,
    feed,
    lang,
  }));
  const tokens = inputs.reduce(
    (n, i) => n + analyze(i.title).length + analyze(i.summary).length,
    0,
  );
  log(
    `${entityCount(vocabulary)} entities, ${vocabulary.actions.length} actions; ` +
      `${inputs.length} items (${corpus.length} from the corpus), ${(tokens / inputs.length).toFixed(0)} tokens/item; ` +
      `compiling via ${via === 'query' ? 'parseQuery + checkQuery + expandLists' : 'parseWatchFile'}`,
  );

  const tuningItems = generateNewsItems(vocabulary, TUNING_ITEMS, TUNING_ITEMS_SEED, corpus);
  for (const size of sizes) {
    let queries: string[];
    if (values.untuned) {
      queries = generateWatchQueries(vocabulary, size, RULES_SEED);
    } else {
      const next = watchQueryGenerator(vocabulary, RULES_SEED);
      const tuned = tuneWatchQueries(next, size, tuningItems, MAX_WATCH_MATCH_SHARE);
      queries = tuned.queries;
      log(
        `${size} rules: replaced ${tuned.replaced} that matched over ${100 * MAX_WATCH_MATCH_SHARE}% of ` +
          `${tuningItems.length} tuning items (${tuned.stillNoisy} still over after tuning)`,
      );
    }
    const figures = measure(queries, inputs, via);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  }
}

function measure(queries: string[], inputs: MatchInput[], via: CompilePath): MatcherFigures {
  const yaml = via === 'yaml' ? watchFileText(queries) : '';
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;

  const start = performance.now();
  const watches = via === 'yaml' ? watchesFromFile(yaml) : watchesFromQueries(queries);
  const parsed = performance.now();
  const matcher = compileWatches(watches);
  const compiled = performance.now();
  collectGarbage();
  const heapAfter = process.memoryUsage().heapUsed;

  for (const input of inputs.slice(0, WARM_UP_ITEMS)) {
    analyze(input.title);
    analyze(input.summary);
    matcher.match(input);
  }
  // Every timed pass is a whole pass over the items, so these sums are whole
  // multiples of one pass's figures.
  let calls = 0;
  let candidates = 0;
  let mostCandidates = 0;
  let matchedItems = 0;
  let matches = 0;
  const [tokenizeRate, matchRate] = bestRates(
    inputs,
    (input) => {
      analyze(input.title);
      analyze(input.summary);
    },
    (input) => {
      const found = matcher.match(input);
      calls++;
      candidates += matcher.lastCandidateCount;
      mostCandidates = Math.max(mostCandidates, matcher.lastCandidateCount);
      if (found.length > 0) matchedItems++;
      matches += found.length;
    },
  );

  const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  log(
    `${queries.length} rules: parse ${(parsed - start).toFixed(0)} ms + index ${(compiled - parsed).toFixed(0)} ms; ` +
      `heap ${mb(heapBefore)} MB before compiling, ${mb(heapAfter)} MB after; ` +
      `${((100 * matchedItems) / calls).toFixed(1)}% of items match a rule, ${(matches / calls).toFixed(2)} matches/item; ` +
      `candidates mean ${(candidates / calls).toFixed(1)}, max ${mostCandidates}; ` +
      `match/tokenize ${(matchRate / tokenizeRate).toFixed(2)}`,
  );

  if (matchedItems / calls < MIN_MATCHED_SHARE) {
    log(
      `warning: under ${100 * MIN_MATCHED_SHARE}% of items match a rule; the run measures little matching`,
    );
  }

  return {
    rules: queries.length,
    items: inputs.length,
    items_per_sec: Math.round(matchRate),
    tokenize_only_items_per_sec: Math.round(tokenizeRate),
    candidates_per_item: round(candidates / calls, 1),
    compile_ms: round(compiled - start, 1),
    heap_mb: round(heapAfter / 2 ** 20, 1),
  };
}

function watchFileText(queries: string[]): string {
  const lines = ['watches:'];
  queries.forEach((query, i) => {
    lines.push(
      `  - id: watch-${i}`,
      `    name: Watch ${i}`,
      `    query: '${query.replaceAll("'", "''")}'`,
    );
  });
  return `${lines.join('\n')}\n`;
}

function watchesFromFile(text: string): Watch[] {
  return requireWatches(parseWatchFile(text, 'bench-watches.yaml'));
}

type Workload = (input: MatchInput) => void;

/**
 * Items per second of two workloads, each timed over whole passes of at least
 * `MIN_ROUND_MS`. They take turns for up to `ROUNDS` rounds, so that a busy
 * moment on a shared machine does not fall on one of them only, and the best
 * round counts; a slow workload stops after `TIME_BUDGET_MS`.
 */
function bestRates(inputs: MatchInput[], first: Workload, second: Workload): [number, number] {
  const spent = [0, 0];
  const best = [0, 0];
  for (let round = 0; round < ROUNDS; round++) {
    [first, second].forEach((work, w) => {
      if (round > 0 && (spent[w] ?? 0) > TIME_BUDGET_MS) return;
      let done = 0;
      let elapsed = 0;
      const start = performance.now();
      do {
        for (const input of inputs) work(input);
        done += inputs.length;
        elapsed = performance.now() - start;
      } while (elapsed < MIN_ROUND_MS);
      spent[w] = (spent[w] ?? 0) + elapsed;
      best[w] = Math.max(best[w] ?? 0, (done * 1000) / elapsed);
    });
  }
  return [best[0] ?? 0, best[1] ?? 0];
}

function collectGarbage(): void {
  globalThis.gc?.();
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function log(message: string): void {
  process.stderr.write(`matcher: ${message}\n`);
}
