import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, ItemTokens, type Token } from '../../shared/rules/analyze.ts';

/** The columns of `tokens` read back as `analyze` tokens, per field. */
function columns(tokens: ItemTokens): [Token[], Token[]] {
  const read = (from: number, to: number): Token[] => {
    const out: Token[] = [];
    for (let i = from; i < to; i++) {
      out.push({
        norm: tokens.norms[i] as string,
        exact: tokens.exacts[i] as string,
        start: tokens.starts[i] as number,
        end: tokens.ends[i] as number,
      });
    }
    return out;
  };
  return [read(0, tokens.titleLength), read(tokens.titleLength, tokens.length)];
}

// Pieces that exercise every rule of the tokeniser: apostrophes of three kinds,
// possessives, combining marks, folded letters, NFKC forms, astral letters.
const piece = fc.constantFrom(
  'Korea',
  "Korea's",
  'Korea’s',
  'KOREAʼS',
  "don't",
  "O'Brien",
  "'s",
  "s'",
  'Café',
  'Cafe\u0301',
  '\u0301x',
  'Straße',
  'Łódź',
  'ﬁre',
  'ＰＡＣ',
  '𝐀𝐁',
  '北朝鮮',
  '3',
  'x2',
  ' ',
  '-',
  ', ',
  "'",
  '’',
);
const text = fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join(''));

describe('ItemTokens', () => {
  it('holds exactly the tokens analyze gives for the title and the summary', () => {
    fc.assert(
      fc.property(text, text, (title, summary) => {
        const tokens = new ItemTokens();

        tokens.fill(title, summary);

        expect(columns(tokens)).toEqual([analyze(title), analyze(summary)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('forgets the previous item when filled again, however long it was', () => {
    const tokens = new ItemTokens();
    tokens.fill('word '.repeat(300), 'more '.repeat(300));

    tokens.fill('Troops moved', 'north');

    expect(columns(tokens)).toEqual([analyze('Troops moved'), analyze('north')]);
  });

  it('agrees with analyze on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string(), (title, summary) => {
        const tokens = new ItemTokens();

        tokens.fill(title, summary);

        expect(columns(tokens)).toEqual([analyze(title), analyze(summary)]);
      }),
      { numRuns: 2000 },
    );
  });
});
