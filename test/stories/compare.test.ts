import { describe, expect, it } from 'vitest';
import { compareReports, detailConflicts } from '../../shared/stories/compare.ts';
import { fingerprintItem } from '../../shared/stories/fingerprint.ts';

const glushkovo = fingerprintItem({
  title: 'Ukraine says drone strike killed about 40 North Korean soldiers near Glushkovo',
  summary:
    "KYIV — A Ukrainian drone strike killed about 40 North Korean soldiers gathered at a field camp near the village of Glushkovo in Russia's Kursk region, Ukraine's special operations forces said on Friday.",
});
const tyotkino = fingerprintItem({
  title: 'Ukraine says drone strike killed about 25 North Korean soldiers near Tyotkino',
  summary:
    "KYIV — A Ukrainian drone strike killed about 25 North Korean soldiers gathered at a field camp near the village of Tyotkino in Russia's Kursk region, Ukraine's special operations forces said on Sunday.",
});

describe('detailConflicts', () => {
  it('finds the number and the place swapped in a templated report of another event', () => {
    const conflicts = detailConflicts(glushkovo, tyotkino);

    expect(conflicts).toContainEqual({ kind: 'number', first: '40', candidate: '25' });
    expect(conflicts).toContainEqual({ kind: 'name', first: 'glushkovo', candidate: 'tyotkino' });
  });

  it('finds a country swapped in an otherwise identical headline', () => {
    const poland = fingerprintItem({ title: 'Patriot battery delivered to Poland', summary: '' });
    const romania = fingerprintItem({ title: 'Patriot battery delivered to Romania', summary: '' });

    expect(detailConflicts(poland, romania)).toEqual([
      { kind: 'name', first: 'poland', candidate: 'romania' },
    ]);
  });

  it('does not count a name a rewrite adds, moves or spells differently', () => {
    const first = fingerprintItem({
      title: 'Patriot systems shoot down Kinzhal missiles over Kyiv, air force says',
      summary:
        'KYIV — Ukrainian Patriot air defence systems intercepted all four Kinzhal missiles launched at Kyiv early on Saturday, the air force said.',
    });
    const rewrite = fingerprintItem({
      title: 'Patriot methods shoot down Kinzhal rockets over Kiev, air drive says',
      summary:
        'Ukrainian Patriot air protection methods intercepted all 4 Kinzhal rockets launched at Kiev early on Saturday, President Volodymyr Zelensky said.',
    });

    expect(detailConflicts(first, rewrite)).toEqual([]);
  });

  it('does not count a swapped word of an institution name ("Defence" → "Protection") as a conflict', () => {
    const first = fingerprintItem({
      title: 'Spain pledges Patriot interceptors',
      summary: 'Spain pledged interceptors, Defence Minister Margarita Robles said on Wednesday.',
    });
    const spun = fingerprintItem({
      title: 'Spain pledges Patriot interceptors',
      summary:
        'Spain pledged interceptors, Protection Minister Margarita Robles stated on Wednesday.',
    });

    expect(detailConflicts(first, spun)).toEqual([]);
  });
});

describe('compareReports', () => {
  it('keeps template siblings apart although their wording is nearly the same', () => {
    const comparison = compareReports(glushkovo, tyotkino, 48);

    expect(comparison.similarity).toBeGreaterThan(0.6);
    expect(comparison.relation).toBe('different');
  });

  it('takes a trimmed aggregator copy as the same story', () => {
    const copy = fingerprintItem({
      title: 'Ukraine says drone strike killed about 40 N. Korean soldiers in Kursk',
      summary:
        "A Ukrainian drone strike killed about 40 North Korean soldiers at a field camp near Glushkovo in Russia's Kursk region, Ukraine's special operations forces said on Friday. (Europe Desk)",
    });

    expect(compareReports(glushkovo, copy, 1).relation).toBe('same');
  });

  it('labels a later report of the same event with many new facts as an update', () => {
    const first = fingerprintItem({
      title: 'Russian Prime Minister Mishustin arrives in Pyongyang for two-day visit',
      summary:
        'SEOUL — Russian Prime Minister Mikhail Mishustin arrived in Pyongyang on Friday for a two-day official visit, Russian state media reported. He was welcomed at the airport by North Korean Premier Pak Thae Song.',
    });
    const update = fingerprintItem({
      title: 'Russia, North Korea sign tourism and energy deals as Mishustin meets Kim',
      summary:
        'SEOUL — Russian Prime Minister Mikhail Mishustin met North Korean leader Kim Jong Un in Pyongyang on Saturday, and the two governments signed agreements on group tourism without visas, electricity supplies and a new air route between Pyongyang and Novosibirsk, KCNA said.',
    });

    expect(compareReports(first, update, 29).relation).toBe('update');
    expect(compareReports(first, update, 1).relation).toBe('same');
  });

  it('does not merge two events that share only their country', () => {
    const launch = fingerprintItem({
      title: 'North Korea fires suspected hypersonic missile into sea',
      summary: 'SEOUL — North Korea fired what appeared to be a hypersonic ballistic missile.',
    });
    const bridges = fingerprintItem({
      title: 'DPRK engineers to rebuild Kursk bridges, Moscow says',
      summary: '',
    });

    expect(compareReports(launch, bridges, 30).relation).toBe('different');
  });
});
