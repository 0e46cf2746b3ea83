/**
 * Choosing the comparison's thresholds without fooling ourselves: a grid
 * search scored on labelled items, k-fold cross-validation by story
 * (thresholds chosen on k − 1 folds, measured on the held-out fold), and
 * tuning on one corpus to report on another. Runs `assignStory` itself, on an
 * in-memory `StoryStore`, so what is measured is what the classifier does.
 */
import { createHash } from 'node:crypto';
import { type CompareOptions, DEFAULT_COMPARE_OPTIONS } from './compare.ts';
import { type LabelledItem, runCorpus } from './corpus.ts';
import { type LabelledAssignment, type StoryPairScores, scoreStoryPairs } from './evaluate.ts';
import { MemoryStoryStore } from './memory-store.ts';

/** The thresholds the search varies; the rest stay at their defaults. */
export const THRESHOLD_GRID: readonly Partial<CompareOptions>[] = (() => {
  const grid: Partial<CompareOptions>[] = [];
  for (const threshold of [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]) {
    for (const headlineThreshold of [0.2, 0.25]) {
      for (const clashThreshold of [0.4, 0.45, 0.5, 0.6]) {
        grid.push({ threshold, headlineThreshold, clashThreshold });
      }
    }
  }
  return grid;
})();

/** Least pairwise precision a choice of thresholds must reach to be chosen for its recall. */
export const TARGET_PRECISION = 0.99;

/** Pairwise scores plus how the items labelled `update` were told. */
export interface StoryScores extends StoryPairScores {
  /** Items labelled `update` that joined their story as an update. */
  updates_labelled: number;
  /** Items labelled `update`. */
  update_items: number;
  /** Items that joined a story as an update but are not labelled `update`. */
  false_updates: number;
}

/** Scores one corpus run, assignments and labels. */
export function scoreRun(
  results: readonly (LabelledAssignment & { assignment: { isUpdate: boolean } })[],
): StoryScores {
  const pairs = scoreStoryPairs(results);
  return {
    ...pairs,
    updates_labelled: results.filter((r) => r.variant === 'update' && r.assignment.isUpdate).length,
    update_items: results.filter((r) => r.variant === 'update').length,
    false_updates: results.filter((r) => r.variant !== 'update' && r.assignment.isUpdate).length,
  };
}

/**
 * Per variant of later report (`rewrite`, `spun`, `update`, ...): how many
 * joined the story of their labelled story's first report, of how many.
 */
export function joinedByVariant(
  results: readonly LabelledAssignment[],
): Record<string, { joined: number; of: number }> {
  const firstStory = new Map<string, string>();
  const byVariant: Record<string, { joined: number; of: number }> = {};
  for (const result of results) {
    const first = firstStory.get(result.story);
    if (first === undefined) {
      firstStory.set(result.story, result.storyId);
      continue;
    }
    const counts = byVariant[result.variant] ?? { joined: 0, of: 0 };
    counts.of++;
    if (result.storyId === first) counts.joined++;
    byVariant[result.variant] = counts;
  }
  return byVariant;
}

/** Runs `items` through `assignStory` with `options` on a fresh in-memory store. */
export async function scoreItems(
  items: readonly LabelledItem[],
  options: CompareOptions,
): Promise<StoryScores & { results: LabelledAssignment[] }> {
  const run = await runCorpus(items, () => new MemoryStoryStore(), { compareOptions: options });
  return { ...scoreRun(run.results), results: run.results };
}

/**
 * How good a choice of thresholds is on training items: any template sibling
 * merged disqualifies it; below the precision target, precision decides;
 * at or above it, recall does.
 */
function objective(scores: StoryPairScores): number {
  if (scores.template_sibling_merges > 0) return -1;
  if (scores.pairs_precision < TARGET_PRECISION) return scores.pairs_precision;
  return 1 + scores.pairs_recall;
}

/**
 * The grid point with the best objective on `items`. Many points often tie
 * (a plateau of thresholds that all make the same decisions on the training
 * items); the middle of the plateau is chosen, the choice with the widest
 * margin on either side, rather than its edge.
 */
export async function chooseThresholds(items: readonly LabelledItem[]): Promise<CompareOptions> {
  const scored: { options: CompareOptions; score: number }[] = [];
  for (const point of THRESHOLD_GRID) {
    const options = { ...DEFAULT_COMPARE_OPTIONS, ...point };
    scored.push({ options, score: objective(await scoreItems(items, options)) });
  }
  const best = Math.max(...scored.map((s) => s.score));
  const plateau = scored
    .filter((s) => s.score >= best - 1e-9)
    .map((s) => s.options)
    .sort(
      (a, b) =>
        a.threshold - b.threshold ||
        a.clashThreshold - b.clashThreshold ||
        a.headlineThreshold - b.headlineThreshold,
    );
  return plateau[Math.floor((plateau.length - 1) / 2)] ?? DEFAULT_COMPARE_OPTIONS;
}

/**
 * Folds by story: every item of a story in one fold, and a template sibling's
 * story in the fold of the story it imitates (the earlier story whose first
 * headline shares most words with it), so that held-out folds still hold the
 * look-alikes that must stay apart.
 */
export function foldsByStory(items: readonly LabelledItem[], k: number): LabelledItem[][] {
  const ordered = [...items].sort((a, b) => (a.published ?? '').localeCompare(b.published ?? ''));
  const firstOf = new Map<string, LabelledItem>();
  for (const item of ordered) if (!firstOf.has(item.story)) firstOf.set(item.story, item);
  const words = (title: string): Set<string> => new Set(title.toLowerCase().match(/\p{L}+/gu));
  const foldOf = new Map<string, number>();
  const seen: LabelledItem[] = [];
  for (const [story, first] of firstOf) {
    let fold: number | undefined;
    if (first.variant === 'template-sibling') {
      const mine = words(first.title);
      let bestShared = 0;
      for (const other of seen) {
        const shared = [...words(other.title)].filter((word) => mine.has(word)).length;
        if (shared > bestShared) {
          bestShared = shared;
          fold = foldOf.get(other.story);
        }
      }
    }
    fold ??= createHash('sha256').update(story).digest().readUInt32BE(0) % k;
    foldOf.set(story, fold);
    seen.push(first);
  }
  const folds: LabelledItem[][] = Array.from({ length: k }, () => []);
  for (const item of items) folds[foldOf.get(item.story) ?? 0]?.push(item);
  return folds;
}

/** The outcome of cross-validation: pooled held-out figures and each fold's choice. */
export interface CrossValidation {
  folds: number;
  scores: StoryScores;
  chosen: Partial<CompareOptions>[];
}

/**
 * k-fold cross-validation by story: for each fold, thresholds are chosen on
 * the other folds and the held-out fold is run alone with them; the held-out
 * assignments of all folds are scored together (pairs never span folds, as a
 * story never does).
 */
export async function crossValidate(
  items: readonly LabelledItem[],
  k: number,
): Promise<CrossValidation> {
  const folds = foldsByStory(items, k);
  const heldOut: (LabelledAssignment & { assignment: { isUpdate: boolean } })[] = [];
  const chosen: Partial<CompareOptions>[] = [];
  for (const [i, fold] of folds.entries()) {
    const training = folds.filter((_, j) => j !== i).flat();
    const options = await chooseThresholds(training);
    chosen.push({
      threshold: options.threshold,
      headlineThreshold: options.headlineThreshold,
      clashThreshold: options.clashThreshold,
    });
    const run = await runCorpus(fold, () => new MemoryStoryStore(), { compareOptions: options });
    // Story ids are digests of item ids, so folds' assignments never collide.
    heldOut.push(...run.results);
  }
  return { folds: k, scores: scoreRun(heldOut), chosen };
}
