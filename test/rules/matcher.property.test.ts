import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, type Token } from '../../shared/rules/analyze.ts';
import { type Expr, isTerm, type Term } from '../../shared/rules/ast.ts';
import {
  AnalyzedItem,
  compileWatches,
  type MatchInput,
  matchWatch,
} from '../../shared/rules/matcher.ts';
import { parseListEntry, parseQuery } from '../../shared/rules/parser.ts';
import { checkQuery, expandLists } from '../../shared/rules/validate.ts';
import type { Watch } from '../../shared/rules/watch.ts';

// The reference evaluator: the specification read literally. Each field is
// tokenised on its own, every term is found by scanning every position, and
// nothing is indexed, cached or pre-filtered.

type Place = 'title' | 'summary';
type Occurrence = [first: number, last: number];

interface ReferenceItem {
  title: Token[];
  summary: Token[];
  feed?: string;
  lang?: string;
}

function referenceItem(input: MatchInput): ReferenceItem {
  return {
    title: analyze(input.title),
    summary: analyze(input.summary),
    ...(input.feed !== undefined ? { feed: input.feed } : {}),
    ...(input.lang !== undefined ? { lang: input.lang } : {}),
  };
}

function termStartsAt(term: Term, tokens: Token[], i: number): boolean {
  switch (term.kind) {
    case 'word':
      return tokens[i]?.norm === term.token;
    case 'exact':
      return tokens[i]?.exact === term.token;
    case 'prefix':
      return tokens[i]?.norm.startsWith(term.prefix) ?? false;
    case 'phrase':
      return term.tokens.every((t, k) => tokens[i + k]?.norm === t);
  }
}

function occurrencesOf(e: Expr, tokens: Token[]): Occurrence[] {
  if (e.kind === 'or') return e.children.flatMap((c) => occurrencesOf(c, tokens));
  if (e.kind !== 'word' && e.kind !== 'phrase' && e.kind !== 'prefix' && e.kind !== 'exact') {
    throw new Error(`not a proximity operand: ${e.kind}`);
  }
  const width = e.kind === 'phrase' ? e.tokens.length : 1;
  const found: Occurrence[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (termStartsAt(e, tokens, i)) found.push([i, i + width - 1]);
  }
  return found;
}

function withinDistance(a: Occurrence, b: Occurrence, distance: number, ordered: boolean): boolean {
  if (a[1] < b[0]) return b[0] - a[1] - 1 <= distance;
  if (!ordered && b[1] < a[0]) return a[0] - b[1] - 1 <= distance;
  return false;
}

function referenceHolds(e: Expr, item: ReferenceItem, places: Place[]): boolean {
  switch (e.kind) {
    case 'word':
    case 'phrase':
    case 'prefix':
    case 'exact':
      return places.some((p) => occurrencesOf(e, item[p]).length > 0);
    case 'and':
      return e.children.every((c) => referenceHolds(c, item, places));
    case 'or':
      return e.children.some((c) => referenceHolds(c, item, places));
    case 'not':
      return !referenceHolds(e.child, item, places);
    case 'scope':
      return referenceHolds(e.child, item, ['title']);
    case 'filter':
      if (e.on === 'source') return item.feed === e.value;
      return item.lang === undefined || languageOf(item.lang) === e.value;
    case 'near':
      return places.some((p) => {
        const lefts = occurrencesOf(e.left, item[p]);
        const rights = occurrencesOf(e.right, item[p]);
        return lefts.some((a) => rights.some((b) => withinDistance(a, b, e.distance, e.ordered)));
      });
    case 'list':
      throw new Error('lists are expanded before evaluation');
  }
}

function languageOf(code: string): string {
  return code.toLowerCase().split('-')[0] ?? '';
}

function referenceMatches(watch: Watch, input: MatchInput): boolean {
  if (watch.sources && (input.feed === undefined || !watch.sources.includes(input.feed))) {
    return false;
  }
  // Language codes are case-insensitive, and a region (`en-GB`) narrows the language.
  if (watch.lang && input.lang !== undefined && languageOf(input.lang) !== watch.lang) {
    return false;
  }
  return referenceHolds(watch.expr, referenceItem(input), ['title', 'summary']);
}

// Generators: a small vocabulary, so that rules and items meet often.

const LISTS = new Map<string, Term[]>([
  ['dprk', ['"north korea"', 'korean', 'kor*'].map(listTerm)],
  ['force', ['troops', '{US}', '"pac 3"'].map(listTerm)],
]);

function listTerm(entry: string): Term {
  const { expr } = parseListEntry(entry);
  if (!expr || !isTerm(expr)) throw new Error(`bad list entry ${entry}`);
  return expr;
}

const queryTerm = fc.constantFrom(
  'north',
  'korea',
  "Korea's",
  'korean',
  'troops',
  'deploy',
  'café',
  'CAFE',
  'straße',
  'strasse',
  'us',
  'east',
  'near',
  'lodz',
  'Łódź',
  '3',
  '"north korea"',
  '"north-korean"',
  '"North Korean"',
  '"Near East"',
  '"korea troops"',
  '"pac 3"',
  'PAC-3',
  '"us troops"',
  'dep*',
  'deploy*',
  'kor*',
  'nor*',
  'tro*',
  'caf*',
  '{US}',
  '{us}',
  '{Korea}',
  '{NORTH}',
  '{Café}',
  '@dprk',
  '@force',
);

const operand = fc.oneof(
  { arbitrary: queryTerm, weight: 3 },
  fc.tuple(queryTerm, queryTerm).map(([a, b]) => `(${a} OR ${b})`),
);

const near = fc
  .tuple(operand, fc.constantFrom('NEAR', 'ONEAR'), fc.integer({ min: 0, max: 3 }), operand)
  .map(([a, op, n, b]) => `${a} ${op}/${n} ${b}`);

const filter = fc.constantFrom('source:wire-a', 'lang:en', 'lang:fr');

function rule(depth: number): fc.Arbitrary<string> {
  if (depth === 0) return fc.oneof({ arbitrary: queryTerm, weight: 2 }, near);
  const sub = rule(depth - 1);
  return fc.oneof(
    { arbitrary: queryTerm, weight: 4 },
    { arbitrary: near, weight: 2 },
    sub.map((r) => `title:(${r})`),
    fc.tuple(sub, sub).map(([a, b]) => `(${a}) AND (${b})`),
    fc.tuple(sub, sub).map(([a, b]) => `(${a}) OR (${b})`),
    fc.tuple(sub, sub).map(([a, b]) => `(${a}) AND NOT (${b})`),
    fc.tuple(sub, filter).map(([a, f]) => `(${a}) AND ${f}`),
  );
}

const watchSpec = fc.record({
  query: rule(3),
  // Half the watches are limited to some feeds or a language.
  sources: fc.option(fc.constantFrom(['wire-a'], ['wire-a', 'wire-b']), {
    nil: undefined,
    freq: 2,
  }),
  lang: fc.option(fc.constantFrom('en', 'fr'), { nil: undefined, freq: 2 }),
});

function toWatch(
  spec: { query: string; sources?: readonly string[]; lang?: string },
  index: number,
): Watch {
  const parsed = parseQuery(spec.query);
  const problems = [...parsed.problems, ...(parsed.expr ? checkQuery(parsed.expr) : [])];
  if (!parsed.expr || problems.some((p) => p.severity === 'error')) {
    throw new Error(`generated an invalid query: ${spec.query} ${JSON.stringify(problems)}`);
  }
  return {
    id: `watch-${index}`,
    name: `Watch ${index}`,
    query: spec.query,
    severity: 'normal',
    updates: false,
    expr: expandLists(parsed.expr, LISTS, []),
    ...(spec.sources ? { sources: [...spec.sources] } : {}),
    ...(spec.lang ? { lang: spec.lang } : {}),
  };
}

const watchSet = fc
  .array(watchSpec, { minLength: 1, maxLength: 8 })
  .map((specs) => specs.map(toWatch));

const surface = fc.constantFrom(
  'North',
  'NORTH',
  'north',
  'Korea',
  "Korea's",
  'Korea’s',
  'KOREA',
  'Korean',
  'North-Korean',
  'PAC-3',
  'troops',
  'Troops',
  'troop',
  'deploy',
  'deployed',
  'Deployment',
  'redeploy',
  'US',
  'us',
  'U.S.',
  'Café',
  'CAFÉ',
  'cafe',
  'Cafe\u0301',
  'Straße',
  'STRASSE',
  'Near',
  'NEAR',
  'near',
  'East',
  'Łódź',
  'Lodz',
  '3',
  'and',
);
const separator = fc.constantFrom(' ', ' ', ' ', ', ', ' - ', '/', '. ', ' (', ') ');
const text = fc
  .array(fc.tuple(surface, separator), { minLength: 1, maxLength: 20 })
  .map((parts) => parts.map(([word, sep]) => word + sep).join(''));

const item: fc.Arbitrary<MatchInput> = fc.record(
  {
    title: text,
    summary: text,
    feed: fc.constantFrom('wire-a', 'wire-b'),
    lang: fc.constantFrom('en', 'fr', 'en-GB', 'EN'),
  },
  { requiredKeys: ['title', 'summary'] },
);

describe('compiled matcher against a reference evaluator', () => {
  it('generated rules both match and miss often enough for the properties to mean something', () => {
    const samples = fc.sample(fc.tuple(watchSet, item), { numRuns: 300, seed: 42 });
    let matched = 0;
    let total = 0;
    for (const [watches, input] of samples) {
      for (const watch of watches) {
        total++;
        if (referenceMatches(watch, input)) matched++;
      }
    }

    expect(matched / total).toBeGreaterThan(0.1);
    expect(matched / total).toBeLessThan(0.9);
  });

  it('generated rule sets give the pre-filter watches to leave out', () => {
    const samples = fc.sample(fc.tuple(watchSet, item), { numRuns: 300, seed: 42 });
    let filtered = 0;
    for (const [watches, input] of samples) {
      const matcher = compileWatches(watches);
      matcher.match(input);
      if (matcher.lastCandidateCount < watches.length) filtered++;
    }

    expect(filtered / samples.length).toBeGreaterThan(0.3);
  });

  it('returns exactly the watches the reference evaluator says match', () => {
    fc.assert(
      fc.property(watchSet, fc.array(item, { minLength: 1, maxLength: 4 }), (watches, inputs) => {
        const matcher = compileWatches(watches);
        for (const input of inputs) {
          const expected = watches.filter((w) => referenceMatches(w, input)).map((w) => w.id);

          const actual = matcher.match(input).map((m) => m.watchId);

          expect(actual).toEqual(expected);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('returns the same matches, hits included, as evaluating every watch without the pre-filter', () => {
    fc.assert(
      fc.property(watchSet, item, (watches, input) => {
        const analyzed = new AnalyzedItem(input);
        const plain = watches.flatMap((w) => matchWatch(w, analyzed) ?? []);

        const compiled = compileWatches(watches).match(new AnalyzedItem(input));

        expect(compiled).toEqual(plain);
      }),
      { numRuns: 3000 },
    );
  });

  it('highlights exactly the words of a matched term, at least one per matched watch', () => {
    fc.assert(
      fc.property(watchSet, item, (watches, input) => {
        for (const match of compileWatches(watches).match(input)) {
          expect(match.hits.length).toBeGreaterThan(0);
          for (const hit of match.hits) {
            const { expr: term } = parseListEntry(hit.term);
            if (!term || !isTerm(term)) throw new Error(`hit for ${hit.term}`);

            const highlighted = analyze(input[hit.field].slice(hit.start, hit.end));

            expect(occurrencesOf(term, highlighted)).toContainEqual([0, highlighted.length - 1]);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('query text analysis', () => {
  const letter = fc.constantFrom('a', 'K', 'o', 'R', 'é', 'Ü', 'ß', 'ø', 'Æ', 'ł', 'ñ', '3', 'z');
  const word = fc
    .tuple(
      fc.array(letter, { minLength: 1, maxLength: 6 }),
      fc.option(fc.array(letter, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    )
    .map(([head, tail]) => head.join('') + (tail ? `'${tail.join('')}` : ''));
  const words = fc.array(word, { minLength: 2, maxLength: 5 });

  const tokensOf = (query: string): string[] => {
    const { expr } = parseQuery(query);
    if (expr?.kind === 'phrase') return expr.tokens;
    if (expr?.kind === 'word') return [expr.token];
    throw new Error(`${query} did not parse as a phrase`);
  };

  it('gives the same phrase for hyphens, slashes and spaces between the words', () => {
    fc.assert(
      fc.property(words, (ws) => {
        const spaced = tokensOf(`"${ws.join(' ')}"`);

        expect(tokensOf(`"${ws.join('-')}"`)).toEqual(spaced);
        expect(tokensOf(`"${ws.join('/')}"`)).toEqual(spaced);
        expect(tokensOf(ws.join('-'))).toEqual(spaced);
      }),
      { numRuns: 500 },
    );
  });

  it('analyses a quoted phrase exactly as it analyses item text, whatever the case', () => {
    fc.assert(
      fc.property(words, (ws) => {
        const itemTokens = analyze(ws.join(' ').toUpperCase()).map((t) => t.norm);

        expect(tokensOf(`"${ws.join('-')}"`)).toEqual(itemTokens);
      }),
      { numRuns: 500 },
    );
  });
});
