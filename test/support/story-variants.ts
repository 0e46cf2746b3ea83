/**
 * What the story tests make of corpus first reports: templated look-alikes of
 * another event (a headline number or name changed throughout), and the check
 * whether a variant joins its first report's story.
 */
import type { Item } from '../../shared/ports.ts';
import { assignStory, storyIdOf } from '../../shared/stories/assign.ts';
import { fingerprintItem } from '../../shared/stories/fingerprint.ts';
import { MemoryStoryStore } from '../../shared/stories/memory-store.ts';
import { splitSentences, stripBoilerplate } from '../../shared/stories/text.ts';

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The sentences of a summary, boilerplate removed. */
export function sentencesOf(summary: string): string[] {
  return splitSentences(stripBoilerplate(summary));
}

const OTHER_PLACES = ['Norway', 'Chile', 'Kenya', 'Portugal', 'Vietnam', 'Mariupol', 'Hokkaido'];

/** A templated report of another event: the first number of the headline changed throughout. */
export function otherNumber(report: { title: string; summary: string }): typeof report | undefined {
  const number = /\b\d+(?:[.,]\d+)?\b/.exec(report.title)?.[0];
  if (!number) return undefined;
  const value = Number(number.replace(',', ''));
  const other = String(Math.round(value + Math.max(3, value * 0.37)));
  const pattern = new RegExp(`(?<![\\d.,])${escapeRegExp(number)}(?![\\d]|[.,]\\d)`, 'g');
  const sibling = {
    title: report.title.replace(pattern, other),
    summary: report.summary.replace(pattern, other),
  };
  // A number also spelled out ("10" and "ten") is not changed throughout.
  return fingerprintItem(sibling).numbers.has(number.replace(',', '')) ? undefined : sibling;
}

/**
 * A templated report of another event: a name standing alone in the headline
 * (one word the fingerprint reads as a name, not the headline's first word nor
 * part of a longer name) replaced throughout by a place the report never
 * mentions; `undefined` when no name qualifies.
 */
export function otherName(report: { title: string; summary: string }): typeof report | undefined {
  const names = fingerprintItem(report).names;
  const words = report.title.split(/\s+/);
  for (const [i, word] of words.entries()) {
    const capitalised = (w: string | undefined): boolean => /^[A-Z]/.test(w ?? '');
    if (i === 0 || capitalised(words[i - 1]) || capitalised(words[i + 1])) continue;
    const bare = word.replace(/[,:;]$/, '');
    if (!/^[A-Z][a-z]{3,}$/.test(bare) || !names.has(bare.toLowerCase())) continue;
    const text = `${report.title} ${report.summary}`;
    const place = OTHER_PLACES.find((p) => !text.includes(p));
    if (!place) return undefined;
    const pattern = new RegExp(`\\b${escapeRegExp(bare)}(?:e?s)?\\b`, 'g');
    const sibling = {
      title: report.title.replace(pattern, place),
      summary: report.summary.replace(pattern, place),
    };
    // The name changed throughout: no other form of it is left.
    if (
      new RegExp(escapeRegExp(bare.slice(0, 4)), 'i').test(`${sibling.title} ${sibling.summary}`)
    ) {
      continue;
    }
    return sibling;
  }
  return undefined;
}

export interface Outcome {
  kind: string;
  seed: string;
  joined: boolean;
}

/** Stores `first`, then assigns `variant` an hour later: whether it joined the first's story. */
export async function joins(
  first: Item,
  variant: { title: string; summary: string },
  kind: string,
): Promise<Outcome> {
  const store = new MemoryStoryStore();
  const published = Date.parse(first.published ?? '2026-01-01T00:00:00Z');
  const clock = { now: () => new Date(published + 3_600_000) };
  await assignStory(first, { store, clock });
  const later: Item = {
    ...first,
    id: `${first.id}-variant`,
    feed: 'wire-c',
    ...variant,
    published: new Date(published + 3_600_000).toISOString(),
  };
  const assignment = await assignStory(later, { store, clock });
  return { kind, seed: first.id, joined: assignment.storyId === storyIdOf(first) };
}
