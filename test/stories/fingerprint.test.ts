import { describe, expect, it } from 'vitest';
import {
  compareReports,
  DEFAULT_COMPARE_OPTIONS,
  headlineSubjectsMiss,
} from '../../shared/stories/compare.ts';
import { fingerprintItem, lookupKeys, stemTerm } from '../../shared/stories/fingerprint.ts';
import { conceptsOf, expandAbbreviation } from '../../shared/stories/lexicon.ts';
import { TermWeights } from '../../shared/stories/term-weights.ts';

/** The figures the fingerprint reads in a text. */
function figures(text: string): string[] {
  return [...fingerprintItem({ title: text, summary: '' }).numbers];
}

describe('figures', () => {
  it('reads "about 3,000", "three thousand" and "3k" as one figure', () => {
    expect(figures('about 3,000 troops')).toEqual(['3000']);
    expect(figures('three thousand troops')).toEqual(['3000']);
    expect(figures('3k troops')).toEqual(['3000']);
  });

  it('reads "$1.2bn", "1.2 billion dollars" and "1,200 million" as one figure', () => {
    expect(figures('a $1.2bn deal')).toEqual(['1200000000']);
    expect(figures('a deal worth 1.2 billion dollars')).toEqual(['1200000000']);
    expect(figures('a deal worth 1,200 million')).toEqual(['1200000000']);
  });

  it('reads numerals of several words, and no figure in a vague quantity', () => {
    expect(figures('fifteen hundred workers')).toEqual(['1500']);
    expect(figures('twenty-five launchers')).toEqual(['25']);
    expect(figures('700 thousand barrels')).toEqual(['700000']);
    expect(figures('several hundred missiles')).toEqual([]);
    expect(figures('one of the ships')).toEqual([]);
  });
});

describe('words folded with WordNet and the Snowball stemmer', () => {
  it('folds irregular forms, inflections and place adjectives', () => {
    expect(stemTerm('flew')).toBe(stemTerm('fly'));
    expect(stemTerm('sent')).toBe(stemTerm('sending'));
    expect(stemTerm('deployed')).toBe(stemTerm('deploys'));
    expect(stemTerm('ukrainian')).toBe('ukraine');
    expect(stemTerm('kiev')).toBe(stemTerm('kyiv'));
  });

  it('expands abbreviations of places written in capitals', () => {
    expect(expandAbbreviation('dprk')).toEqual(['north', 'korea']);
    const terms = fingerprintItem({ title: 'DPRK fires missile', summary: '' }).termSet;
    expect(terms.has('north') && terms.has('korea')).toBe(true);
  });

  it("gives a word and a spinner's synonym for it a shared concept, and unrelated words none", () => {
    const shared = (a: string, b: string): boolean =>
      conceptsOf(stemTerm(a)).some((concept) => conceptsOf(stemTerm(b)).includes(concept));

    expect(shared('leader', 'chief')).toBe(true);
    expect(shared('sent', 'dispatched')).toBe(true);
    expect(shared('troops', 'soldiers')).toBe(false);
    expect(shared('missile', 'wedding')).toBe(false);
  });
});

describe('term weights', () => {
  it('weigh a name common in the stream less than a rare one, though the background knows neither', () => {
    const weights = new TermWeights();
    for (let i = 0; i < 100; i++) weights.observe(['kim', `other${i}`]);
    weights.observe(['matviyenko']);

    expect(weights.weight('kim')).toBeLessThan(weights.weight('matviyenko'));
    expect(new TermWeights().weight('kim')).toBe(new TermWeights().weight('matviyenko'));
  });

  it('keep a bounded table: old counts are halved and terms seen once forgotten', () => {
    const weights = new TermWeights();
    for (let i = 0; i < 30_000; i++) weights.observe(['kim', `once${i}`]);

    expect(weights.terms).toBeLessThan(20_000);
    expect(weights.weight('kim')).toBeLessThan(weights.weight('once29999'));
  });
});

describe('keys and subjects', () => {
  it('looks a report up by its rarest facts first, so an independent rewrite shares a key', () => {
    const first = fingerprintItem({
      title: 'Matviyenko visits Pyongyang for founding anniversary',
      summary: 'Federation Council speaker Valentina Matviyenko arrived in Pyongyang on Monday.',
    });
    const rewrite = fingerprintItem({
      title: 'Russian upper house chief Valentina Matviyenko lands in North Korea',
      summary: 'Valentina Matviyenko flew into the North Korean capital for the celebrations.',
    });

    const shared = lookupKeys(first).filter((key) => lookupKeys(rewrite).includes(key));

    expect(shared).toContain('f:matviyenko');
    expect(lookupKeys(first)[0]).toMatch(/^f:/);
  });

  it('needs a near copy when neither headline names what the other report is about', () => {
    // Two stories of the news fixtures (dev-067 and dev-069).
    const visit = fingerprintItem({
      title: 'Russian upper house speaker Matviyenko visits Pyongyang for founding anniversary',
      summary:
        "SEOUL — Valentina Matviyenko, speaker of Russia's Federation Council, arrived in Pyongyang on Tuesday to attend celebrations of the anniversary of North Korea's founding, Russian news agencies reported. She is expected to meet Kim Jong Un and address the Supreme People's Assembly.",
    });
    const games = fingerprintItem({
      title: 'North Korea marks state founding anniversary with mass games',
      summary:
        'SEOUL — North Korea marked the 78th anniversary of its founding on Wednesday with mass gymnastics performances and a fireworks display in Pyongyang, state media said. There was no military parade. Kim Jong Un attended a banquet for officials and foreign guests.',
    });

    // A stream that has carried other North Korea news weighs Kim and Pyongyang as common.
    const weights = new TermWeights();
    for (let i = 0; i < 20; i++) {
      const other = fingerprintItem({
        title: `North Korea report ${i}`,
        summary: `Kim Jong Un visited a site near Pyongyang, North Korean state media said of event ${i}.`,
      });
      weights.observe(other.termSet);
    }
    for (const report of [visit, games]) weights.observe(report.termSet);
    const comparison = compareReports(visit, games, 5, DEFAULT_COMPARE_OPTIONS, weights);

    expect(headlineSubjectsMiss(visit, games, weights)).toBe(true);
    expect(comparison.similarity).toBeGreaterThanOrEqual(DEFAULT_COMPARE_OPTIONS.threshold);
    expect(comparison.relation).toBe('different');
  });
});
