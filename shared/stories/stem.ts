/**
 * The stem of an English word as the story fingerprint compares it: the
 * WordNet base form of an irregular form ("flew" → "fly", "men" → "man"),
 * then the Snowball English (Porter2) stemmer ("deployed", "deploying" →
 * "deploy"). Takes the irregular forms as an argument so that the script
 * that builds the lexicon tables stems exactly as the fingerprint does.
 */
import porter2 from 'wink-porter2-stemmer';

/** Stems a folded (lower-case, accent-free) word; `irregular` maps forms to base forms. */
export function stemWith(irregular: ReadonlyMap<string, string>, word: string): string {
  return porter2(irregular.get(word) ?? word);
}
