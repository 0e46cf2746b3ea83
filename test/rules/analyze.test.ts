import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, foldWord } from '../../shared/rules/analyze.ts';

const norms = (text: string): string[] => analyze(text).map((t) => t.norm);

describe('analyze: where tokens begin and end', () => {
  it('takes maximal runs of letters and digits, with their offsets', () => {
    const tokens = analyze('  Troops, 2024: moved!');

    expect(tokens).toEqual([
      { norm: 'troops', exact: 'Troops', start: 2, end: 8 },
      { norm: '2024', exact: '2024', start: 10, end: 14 },
      { norm: 'moved', exact: 'moved', start: 16, end: 21 },
    ]);
  });

  it('splits at hyphens', () => {
    expect(norms('North-Korean')).toEqual(['north', 'korean']);
  });

  it('splits letters from digits at a hyphen', () => {
    expect(norms('PAC-3')).toEqual(['pac', '3']);
  });

  it('splits at slashes, dots, underscores and other punctuation', () => {
    expect(norms('air/sea U.S. snake_case a+b #tag')).toEqual([
      'air',
      'sea',
      'u',
      's',
      'snake',
      'case',
      'a',
      'b',
      'tag',
    ]);
  });

  it('keeps letters and digits together when nothing separates them', () => {
    expect(norms('F16 Su-35S')).toEqual(['f16', 'su', '35s']);
  });

  it('finds no tokens in punctuation and space alone', () => {
    expect(analyze(' -- / ... ')).toEqual([]);
  });

  it('finds no tokens in an empty string', () => {
    expect(analyze('')).toEqual([]);
  });
});

describe('analyze: apostrophes', () => {
  it('keeps a word with an apostrophe inside it as one word', () => {
    expect(norms("don't O'Brien rock'n'roll")).toEqual(["don't", "o'brien", "rock'n'roll"]);
  });

  it('treats a typographic apostrophe inside a word like a straight one', () => {
    const [curly] = analyze('O’Brien');

    expect(curly?.norm).toBe("o'brien");
    expect(curly?.exact).toBe("O'Brien");
  });

  it("drops a trailing possessive 's", () => {
    expect(norms("Korea's troops")).toEqual(['korea', 'troops']);
  });

  it('drops a trailing possessive ’s written with a typographic apostrophe', () => {
    expect(norms('Korea’s troops')).toEqual(['korea', 'troops']);
  });

  it("drops an upper-case possessive 'S", () => {
    expect(analyze("KOREA'S")[0]).toMatchObject({ norm: 'korea', exact: 'KOREA' });
  });

  it('includes the possessive in the offsets, so that a highlight covers it', () => {
    expect(analyze("Seoul's army")[0]).toMatchObject({ start: 0, end: 7 });
  });

  it('leaves out an apostrophe that ends a word', () => {
    expect(analyze("generals' orders")).toMatchObject([
      { norm: 'generals', start: 0, end: 8 },
      { norm: 'orders', start: 10, end: 16 },
    ]);
  });

  it('leaves out an apostrophe that starts a word', () => {
    expect(analyze("'quoted'")).toMatchObject([{ norm: 'quoted', start: 1, end: 7 }]);
  });
});

describe('analyze: folding', () => {
  it('folds case', () => {
    expect(norms('NORTH North north')).toEqual(['north', 'north', 'north']);
  });

  it('folds diacritics', () => {
    expect(norms('Café naïve façade Zürich')).toEqual(['cafe', 'naive', 'facade', 'zurich']);
  });

  it('folds a decomposed accent (a letter followed by a combining mark) the same way', () => {
    const [decomposed] = analyze('Cafe\u0301 Bar');

    expect(decomposed).toEqual({ norm: 'cafe', exact: 'Café', start: 0, end: 5 });
  });

  it('applies NFKC, so full-width letters and ligatures meet their plain forms', () => {
    expect(norms('ＵＳ ﬁnal')).toEqual(['us', 'final']);
  });

  it.each([
    ['Straße', 'strasse'],
    ['STRAẞE', 'strasse'],
    ['Ørsted', 'orsted'],
    ['Æbleskiver', 'aebleskiver'],
    ['Łódź', 'lodz'],
    ['Œuvre', 'oeuvre'],
    ['Đorđe', 'dorde'],
    ['Þór', 'thor'],
    ['Ħamrun', 'hamrun'],
    ['Diyarbakır', 'diyarbakir'],
  ])('spells out letters that NFKD does not decompose: %s → %s', (written, folded) => {
    expect(norms(written)).toEqual([folded]);
  });

  it('folds the dotted capital I to a plain i', () => {
    expect(norms('İstanbul')).toEqual(['istanbul']);
  });

  it('keeps the written case and accents in the exact form', () => {
    expect(analyze('US Café Straße').map((t) => t.exact)).toEqual(['US', 'Café', 'Straße']);
  });

  it('folds a single word the same way as analyze does', () => {
    expect(foldWord('ŁÓDŹ')).toBe('lodz');
    expect(foldWord('Straße')).toBe(analyze('Straße')[0]?.norm);
  });
});

describe('analyze: properties', () => {
  const piece = fc.constantFrom(
    'North',
    'Korea’s',
    "O'Brien",
    'PAC-3',
    'Straße',
    'Łódź',
    'Cafe\u0301',
    'U.S.',
    ' ',
    ', ',
    '-',
    '/',
    '(',
    "'",
  );
  const text = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));

  it('gives offsets whose text, analysed on its own, is the same single token', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const token of analyze(t)) {
          const again = analyze(t.slice(token.start, token.end));

          expect(again).toEqual([{ ...token, start: 0, end: token.end - token.start }]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives tokens in order and never overlapping', () => {
    fc.assert(
      fc.property(text, (t) => {
        const tokens = analyze(t);

        tokens.forEach((token, i) => {
          expect(token.end).toBeGreaterThan(token.start);
          expect(token.start).toBeGreaterThanOrEqual(tokens[i - 1]?.end ?? 0);
        });
      }),
      { numRuns: 300 },
    );
  });
});
