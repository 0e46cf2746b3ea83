/**
 * Pairwise scoring of story assignments against labelled stories: the figures
 * the stories test asserts and `npm run bench -- stories` prints.
 */

/** One item with its labelled story and the story it was assigned. */
export interface LabelledAssignment {
  /** Labelled story id. */
  story: string;
  /** Labelled variant of the item (`original`, `template-sibling`, `update`, ...). */
  variant: string;
  /** The story id the item was assigned. */
  storyId: string;
}

/** Pairwise figures over all pairs of items. */
export interface StoryPairScores {
  /** Of the pairs put in one story, the share that are one labelled story (1 when none). */
  pairs_precision: number;
  /** Of the pairs that are one labelled story, the share put in one story (1 when none). */
  pairs_recall: number;
  /**
   * Pairs of different labelled stories put in one story where one of the
   * stories is first reported by a `template-sibling` (a templated look-alike).
   */
  template_sibling_merges: number;
  /** Pairs that are one labelled story. */
  same_story_pairs: number;
  /** Pairs put in one story. */
  merged_pairs: number;
}

/** Scores assignments pair by pair (quadratic; corpora are small). */
export function scoreStoryPairs(items: readonly LabelledAssignment[]): StoryPairScores {
  const templateStories = new Set<string>();
  const firstVariant = new Map<string, string>();
  for (const item of items)
    if (!firstVariant.has(item.story)) firstVariant.set(item.story, item.variant);
  for (const [story, variant] of firstVariant)
    if (variant === 'template-sibling') templateStories.add(story);

  let truePairs = 0;
  let merged = 0;
  let correct = 0;
  let templateMerges = 0;
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i] as LabelledAssignment;
      const b = items[j] as LabelledAssignment;
      const same = a.story === b.story;
      const together = a.storyId === b.storyId;
      if (same) truePairs++;
      if (together) merged++;
      if (same && together) correct++;
      if (together && !same && (templateStories.has(a.story) || templateStories.has(b.story))) {
        templateMerges++;
      }
    }
  }
  return {
    pairs_precision: merged === 0 ? 1 : correct / merged,
    pairs_recall: truePairs === 0 ? 1 : correct / truePairs,
    template_sibling_merges: templateMerges,
    same_story_pairs: truePairs,
    merged_pairs: merged,
  };
}
