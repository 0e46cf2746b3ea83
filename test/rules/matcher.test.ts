import { describe, expect, it } from 'vitest';
import { isTerm, type Term } from '../../shared/rules/ast.ts';
import {
  AnalyzedItem,
  compileWatches,
  type MatchInput,
  matchWatch,
  type TermHit,
} from '../../shared/rules/matcher.ts';
import { parseListEntry, parseQuery } from '../../shared/rules/parser.ts';
import { checkQuery, expandLists } from '../../shared/rules/validate.ts';
import type { Watch } from '../../shared/rules/watch.ts';

const LISTS = new Map<string, Term[]>([
  ['dprk', ['Pyongyang', '"north korea"', '{DPRK}'].map(listTerm)],
]);

function listTerm(entry: string): Term {
  const { expr } = parseListEntry(entry);
  if (!expr || !isTerm(expr)) throw new Error(`bad list entry ${entry}`);
  return expr;
}

/** A watch for a query that must be free of errors. */
function watchFor(query: string, fields: Partial<Omit<Watch, 'query' | 'expr'>> = {}): Watch {
  const { expr, problems } = parseQuery(query);
  const all = expr ? [...problems, ...checkQuery(expr)] : problems;
  const errors = all.filter((p) => p.severity === 'error');
  if (!expr || errors.length > 0) throw new Error(`${query}: ${JSON.stringify(errors)}`);
  return {
    id: fields.id ?? 'w',
    name: fields.name ?? 'W',
    severity: 'normal',
    updates: false,
    ...fields,
    query,
    expr: expandLists(expr, LISTS, []),
  };
}

function item(title: string, summary = '', more: Partial<MatchInput> = {}): MatchInput {
  return { title, summary, ...more };
}

/**
 * Whether the query matches the item, by plain evaluation; the compiled matcher
 * must agree, so every example here also checks the pre-filter.
 */
function matches(
  query: string,
  input: MatchInput,
  fields: Partial<Omit<Watch, 'query' | 'expr'>> = {},
): boolean {
  const watch = watchFor(query, fields);
  const plain = matchWatch(watch, new AnalyzedItem(input)) !== undefined;
  const compiled = compileWatches([watch]).match(input).length > 0;
  expect(compiled, `compiled matcher disagrees on ${query}`).toBe(plain);
  return plain;
}

/** The hits that explain why the query matched the item. */
function hitsOf(query: string, input: MatchInput): TermHit[] {
  const match = matchWatch(watchFor(query), new AnalyzedItem(input));
  if (!match) throw new Error(`${query} does not match`);
  return match.hits;
}

describe('words', () => {
  it('match regardless of case and accents', () => {
    expect(matches('cafe', item('Protest outside CAFÉ Central'))).toBe(true);
  });

  it('match special letters folded on either side', () => {
    expect(matches('lodz', item('Strike in Łódź'))).toBe(true);
    expect(matches('Łódź', item('Strike in LODZ'))).toBe(true);
    expect(matches('hauptstrasse', item('Closed: Hauptstraße'))).toBe(true);
  });

  it("match a word with a possessive 's after it", () => {
    expect(matches('korea', item('Korea’s army mobilises'))).toBe(true);
  });

  it('do not match a longer word that starts with them', () => {
    expect(matches('korea', item('Korean troops'))).toBe(false);
  });

  it('match in the summary as well as the title', () => {
    expect(matches('troops', item('Border tension', 'More troops arrive.'))).toBe(true);
  });

  it('match one side of a hyphenated word', () => {
    expect(matches('korean', item('North-Korean troops'))).toBe(true);
  });
});

describe('phrases', () => {
  it('match their words at consecutive positions', () => {
    expect(matches('"north korean"', item('North Korean troops'))).toBe(true);
  });

  it('match across a hyphen', () => {
    expect(matches('"north korean"', item('North-Korean troops'))).toBe(true);
  });

  it('written with a hyphen, match words written with a space', () => {
    expect(matches('"north-korean"', item('north korean troops'))).toBe(true);
  });

  it('do not match when another word comes between', () => {
    expect(matches('"north korean"', item('North and Korean troops'))).toBe(false);
  });

  it('do not match their words in another order', () => {
    expect(matches('"north korean"', item('Korean north'))).toBe(false);
  });

  it('do not match across the boundary between title and summary', () => {
    expect(matches('"north korea"', item('Talks with the North', 'Korea said no'))).toBe(false);
  });

  it('"Near East" matches the words near and east, not a proximity', () => {
    expect(matches('"Near East"', item('Tensions in the Near East'))).toBe(true);
    expect(matches('"Near East"', item('East of the river, near the border'))).toBe(false);
  });
});

describe('wildcards', () => {
  it('match any word starting with the prefix', () => {
    expect(matches('deploy*', item('Troops deployed'))).toBe(true);
    expect(matches('deploy*', item('Deployment begins'))).toBe(true);
    expect(matches('deploy*', item('Deploy now'))).toBe(true);
  });

  it('do not match the prefix inside a word', () => {
    expect(matches('deploy*', item('Troops redeployed'))).toBe(false);
  });

  it('match with accents folded', () => {
    expect(matches('deplo*', item('Troupes DÉPLOYÉES'))).toBe(true);
  });
});

describe('case-sensitive words', () => {
  it('{US} matches US but not us or Us', () => {
    expect(matches('{US}', item('US troops arrive'))).toBe(true);
    expect(matches('{US}', item('Join us today'))).toBe(false);
    expect(matches('{US}', item('Us and them'))).toBe(false);
  });

  it('"us" matches any case', () => {
    expect(matches('"us"', item('US troops arrive'))).toBe(true);
    expect(matches('"us"', item('Join us today'))).toBe(true);
  });

  it('{US} matches US with a possessive', () => {
    expect(matches('{US}', item('The US’s position'))).toBe(true);
  });

  it('{Café} does not fold accents', () => {
    expect(matches('{Café}', item('Cafe reopens'))).toBe(false);
    expect(matches('{Café}', item('Café reopens'))).toBe(true);
  });
});

describe('AND, OR, NOT', () => {
  it('AND needs every operand', () => {
    expect(matches('troops AND border', item('Troops at the border'))).toBe(true);
    expect(matches('troops AND border', item('Troops at the river'))).toBe(false);
  });

  it('AND finds its operands in different fields', () => {
    expect(matches('troops AND border', item('Troops move', 'They reach the border'))).toBe(true);
  });

  it('OR needs any operand', () => {
    expect(matches('troops OR soldiers', item('Soldiers at the border'))).toBe(true);
    expect(matches('troops OR soldiers', item('Tanks at the border'))).toBe(false);
  });

  it('NOT excludes items with its operand', () => {
    expect(matches('troops AND NOT drill', item('Troops deploy'))).toBe(true);
    expect(matches('troops AND NOT drill', item('Troops deploy', 'It is a drill.'))).toBe(false);
  });

  it('AND binds tighter than OR', () => {
    expect(matches('a AND b OR c', item('c'))).toBe(true);
    expect(matches('a AND b OR c', item('a'))).toBe(false);
  });

  it('@list matches any of its entries', () => {
    expect(matches('@dprk AND troops', item('Pyongyang sends troops'))).toBe(true);
    expect(matches('@dprk AND troops', item('North Korea sends troops'))).toBe(true);
    expect(matches('@dprk AND troops', item('dprk sends troops'))).toBe(false);
  });
});

describe('NEAR and ONEAR', () => {
  it('NEAR/n allows at most n words between the operands', () => {
    expect(matches('troops NEAR/2 border', item('troops reach the border'))).toBe(true);
    expect(matches('troops NEAR/2 border', item('troops finally reach the border'))).toBe(false);
  });

  it('NEAR matches in either order', () => {
    expect(matches('troops NEAR/2 border', item('border crossed by troops'))).toBe(true);
  });

  it('NEAR/0 needs adjacent words', () => {
    expect(matches('troops NEAR/0 border', item('border troops'))).toBe(true);
    expect(matches('troops NEAR/0 border', item('border and troops'))).toBe(false);
  });

  it('ONEAR needs the left operand first', () => {
    expect(matches('troops ONEAR/2 border', item('troops reach the border'))).toBe(true);
    expect(matches('troops ONEAR/2 border', item('border crossed by troops'))).toBe(false);
  });

  it('finds a near pair even when other occurrences are far apart', () => {
    const text = 'troops gathered; many days later at the border, troops dug in by border';

    expect(matches('troops ONEAR/3 border', item(text))).toBe(true);
  });

  it('counts the distance from the nearest edge of a phrase', () => {
    expect(matches('"north korea" NEAR/1 troops', item('North Korea sent troops'))).toBe(true);
    expect(matches('"north korea" NEAR/1 troops', item('troops sent North Korea'))).toBe(true);
    expect(matches('"north korea" NEAR/1 troops', item('North Korea sent more troops'))).toBe(
      false,
    );
  });

  it('does not let the two occurrences overlap', () => {
    expect(matches('korea NEAR/0 "north korea"', item('North Korea'))).toBe(false);
    expect(matches('korea NEAR/0 "north korea"', item('Korea, North Korea'))).toBe(true);
  });

  it('does not pair a word with itself', () => {
    expect(matches('troops NEAR/3 troop*', item('troops arrive'))).toBe(false);
    expect(matches('troops NEAR/3 troop*', item('troops and more troops'))).toBe(true);
  });

  it('does not pair words across the boundary between title and summary', () => {
    expect(matches('troops NEAR/5 border', item('Troops move', 'Border closed'))).toBe(false);
  });

  it('accepts an OR of terms as an operand', () => {
    expect(matches('(troops OR soldiers) NEAR/1 border', item('soldiers at border'))).toBe(true);
  });

  it('accepts a list as an operand', () => {
    expect(matches('@dprk NEAR/2 troops', item('troops from Pyongyang'))).toBe(true);
    expect(
      matches('@dprk NEAR/2 troops', item('troops, as officials said today in Pyongyang')),
    ).toBe(false);
  });

  it('accepts a wildcard as an operand', () => {
    expect(matches('deploy* NEAR/1 troops', item('deploying more troops'))).toBe(true);
  });
});

describe('title:', () => {
  it('matches only in the title', () => {
    expect(matches('title:troops', item('Troops move', 'Nothing else'))).toBe(true);
    expect(matches('title:troops', item('Border news', 'Troops move'))).toBe(false);
  });

  it('applies to every term inside its parentheses', () => {
    expect(matches('title:(troops AND border)', item('Troops move', 'to the border'))).toBe(false);
    expect(matches('title:(troops AND border)', item('Troops at the border'))).toBe(true);
  });

  it('scopes a NEAR to the title', () => {
    expect(matches('title:(troops NEAR/1 border)', item('News', 'troops at border'))).toBe(false);
    expect(matches('title:(troops NEAR/1 border)', item('troops at border'))).toBe(true);
  });

  it('leaves the rest of the rule free to match the summary', () => {
    expect(matches('title:troops AND border', item('Troops move', 'to the border'))).toBe(true);
  });
});

describe('source: and lang:', () => {
  it('source: matches the feed id', () => {
    expect(matches('troops AND source:wire-a', item('Troops', '', { feed: 'wire-a' }))).toBe(true);
    expect(matches('troops AND source:wire-a', item('Troops', '', { feed: 'wire-b' }))).toBe(false);
  });

  it('source: does not match an item without a feed', () => {
    expect(matches('troops AND source:wire-a', item('Troops'))).toBe(false);
  });

  it('lang: matches the language, ignoring case and region', () => {
    expect(matches('troops AND lang:en', item('Troops', '', { lang: 'en' }))).toBe(true);
    expect(matches('troops AND lang:en', item('Troops', '', { lang: 'EN-gb' }))).toBe(true);
    expect(matches('troops AND lang:en', item('Troops', '', { lang: 'fr' }))).toBe(false);
  });

  it('lang: lets an item of unknown language pass', () => {
    expect(matches('troops AND lang:en', item('Troops'))).toBe(true);
  });

  it('NOT source: excludes the feed', () => {
    expect(matches('troops AND NOT source:wire-a', item('Troops', '', { feed: 'wire-a' }))).toBe(
      false,
    );
  });

  it("a watch's sources limit it to those feeds", () => {
    const fields = { sources: ['wire-a', 'wire-b'] };

    expect(matches('troops', item('Troops', '', { feed: 'wire-b' }), fields)).toBe(true);
    expect(matches('troops', item('Troops', '', { feed: 'wire-c' }), fields)).toBe(false);
    expect(matches('troops', item('Troops'), fields)).toBe(false);
  });

  it("a watch's lang limits it to that language, letting unknown languages pass", () => {
    expect(matches('troops', item('Troops', '', { lang: 'fr' }), { lang: 'en' })).toBe(false);
    expect(matches('troops', item('Troops', '', { lang: 'en-US' }), { lang: 'en' })).toBe(true);
    expect(matches('troops', item('Troops'), { lang: 'en' })).toBe(true);
  });
});

describe('explanation hits', () => {
  it('give the field and the offsets of a matched word', () => {
    expect(hitsOf('troops', item('Border', 'More troops arrive'))).toEqual([
      { term: 'troops', field: 'summary', start: 5, end: 11 },
    ]);
  });

  it('cover a whole phrase, hyphen included', () => {
    expect(hitsOf('"north korean"', item('North-Korean troops'))).toEqual([
      { term: '"north korean"', field: 'title', start: 0, end: 12 },
    ]);
  });

  it('cover the possessive of a word', () => {
    expect(hitsOf('korea', item("Korea's army"))).toEqual([
      { term: 'korea', field: 'title', start: 0, end: 7 },
    ]);
  });

  it('name a wildcard as written and cover the word it matched', () => {
    expect(hitsOf('deploy*', item('Troops deployed'))).toEqual([
      { term: 'deploy*', field: 'title', start: 7, end: 15 },
    ]);
  });

  it('list every occurrence, title first, then by position', () => {
    expect(hitsOf('troops', item('Troops', 'troops and troops'))).toEqual([
      { term: 'troops', field: 'title', start: 0, end: 6 },
      { term: 'troops', field: 'summary', start: 0, end: 6 },
      { term: 'troops', field: 'summary', start: 11, end: 17 },
    ]);
  });

  it('of a NEAR, cover only the occurrences within the distance', () => {
    const text = 'troops left; days later, border troops';

    expect(hitsOf('troops NEAR/0 border', item(text))).toEqual([
      { term: 'border', field: 'title', start: 25, end: 31 },
      { term: 'troops', field: 'title', start: 32, end: 38 },
    ]);
  });

  it('leave out the terms under NOT', () => {
    expect(hitsOf('troops AND NOT (drill AND exercise)', item('Troops drill'))).toEqual([
      { term: 'troops', field: 'title', start: 0, end: 6 },
    ]);
  });

  it('leave out alternatives of an OR that did not match', () => {
    expect(hitsOf('(troops OR tanks) AND border', item('Troops at border'))).toEqual([
      { term: 'troops', field: 'title', start: 0, end: 6 },
      { term: 'border', field: 'title', start: 10, end: 16 },
    ]);
  });

  it('under title:, leave out occurrences in the summary', () => {
    expect(hitsOf('title:troops', item('Troops', 'troops'))).toEqual([
      { term: 'troops', field: 'title', start: 0, end: 6 },
    ]);
  });

  it('name the list entry that matched', () => {
    expect(hitsOf('@dprk', item('Talks in Pyongyang'))).toEqual([
      { term: 'Pyongyang', field: 'title', start: 9, end: 18 },
    ]);
  });
});

describe('compileWatches', () => {
  it('returns the matching watches in rule-set order', () => {
    const watches = [
      watchFor('border', { id: 'first' }),
      watchFor('tanks', { id: 'second' }),
      watchFor('troops', { id: 'third' }),
    ];

    const ids = compileWatches(watches)
      .match(item('Troops at the border'))
      .map((m) => m.watchId);

    expect(ids).toEqual(['first', 'third']);
  });

  it('evaluates only the watches whose anchor words occur in the item', () => {
    const matcher = compileWatches([
      watchFor('troops AND border', { id: 'a' }),
      watchFor('tanks', { id: 'b' }),
      watchFor('"north korea"', { id: 'c' }),
    ]);

    matcher.match(item('Tanks at the border'));

    expect(matcher.lastCandidateCount).toBe(1);
  });

  it('anchors an AND on a rare word rather than a common one', () => {
    const matcher = compileWatches([watchFor('the AND troops')]);

    matcher.match(item('The border'));

    expect(matcher.lastCandidateCount).toBe(0);
  });

  it('resolves wildcards against the words of the item', () => {
    const matcher = compileWatches([watchFor('deploy*', { id: 'deploy' })]);

    expect(matcher.match(item('Troops deployed')).map((m) => m.watchId)).toEqual(['deploy']);
    expect(matcher.lastCandidateCount).toBe(1);
    expect(matcher.match(item('Troops redeployed'))).toEqual([]);
    expect(matcher.lastCandidateCount).toBe(0);
  });

  it('finds an exact-case watch through its folded word', () => {
    const matcher = compileWatches([watchFor('{US} AND troops', { id: 'us' })]);

    expect(matcher.match(item('US troops')).map((m) => m.watchId)).toEqual(['us']);
    expect(matcher.match(item('us troops'))).toEqual([]);
  });

  it('evaluates a watch it cannot anchor for every item', () => {
    const unanchored: Watch = {
      id: 'english',
      name: 'English',
      query: 'lang:en',
      severity: 'normal',
      updates: false,
      expr: { kind: 'filter', offset: 0, on: 'lang', value: 'en' },
    };
    const matcher = compileWatches([unanchored]);

    const ids = matcher.match(item('Anything', '', { lang: 'en' })).map((m) => m.watchId);

    expect(ids).toEqual(['english']);
    expect(matcher.lastCandidateCount).toBe(1);
  });

  it('keeps matching words and wildcards after more distinct tokens than it remembers', () => {
    const matcher = compileWatches([watchFor('troops AND deploy*', { id: 'w' })]);
    const before = matcher.match(item('Troops deployed')).map((m) => m.watchId);
    // 80,000 distinct tokens that match the wildcard (tokens that cannot carry a
    // term are not remembered), over 800 items.
    for (let n = 0; n < 800; n++) {
      const words = Array.from({ length: 100 }, (_, k) => `deploy${(n * 100 + k).toString(36)}`);
      matcher.match(item(words.join(' ')));
    }

    const after = matcher.match(item('Troops deployed')).map((m) => m.watchId);
    const unseen = matcher.match(item('troops', 'deployz')).map((m) => m.watchId);

    expect(before).toEqual(['w']);
    expect(after).toEqual(['w']);
    expect(unseen).toEqual(['w']);
  });

  it('gives the same matches, hits included, as evaluating each watch', () => {
    const watches = [
      watchFor('@dprk NEAR/3 troop*', { id: 'a' }),
      watchFor('title:(border OR frontier) AND NOT drill', { id: 'b' }),
      watchFor('{US} ONEAR/1 "air defence"', { id: 'c' }),
    ];
    const input = item('Troops at the border', 'US air-defence units join North Korean troops');
    const analyzed = new AnalyzedItem(input);

    const compiled = compileWatches(watches).match(analyzed);

    expect(compiled).toEqual(watches.flatMap((w) => matchWatch(w, analyzed) ?? []));
    expect(compiled.map((m) => m.watchId)).toEqual(['b', 'c']);
  });
});

describe('languages', () => {
  it('compares lang: by base language, so lang:en-GB matches an en-US item', () => {
    const watch = watchFor('troops AND lang:en-GB');

    expect(
      matchWatch(watch, new AnalyzedItem(item('Troops', '', { lang: 'en-US' }))),
    ).toBeDefined();
    expect(matchWatch(watch, new AnalyzedItem(item('Troops', '', { lang: 'fr' })))).toBeUndefined();
  });

  it('counts a Hangul syllable as its letters, so a two-syllable Korean wildcard is allowed and matches inflected words', () => {
    const watch = watchFor('북한*');

    expect(matchWatch(watch, new AnalyzedItem(item('북한군은 러시아에 파병됐다')))).toBeDefined();
    expect(compileWatches([watch]).match(item('북한군은 러시아에 파병됐다'))).toHaveLength(1);
  });
});

describe('adaptive anchors', () => {
  it('returns the same matches before and after re-choosing anchors from observed frequencies', () => {
    const watches = [
      watchFor('Russia AND strike*', { id: 'a' }),
      watchFor('(Russia OR China) NEAR/3 (strike OR sanction*)', { id: 'b' }),
      watchFor('"prime minister" AND Kyiv AND NOT football', { id: 'c' }),
      watchFor('title:(deploy* OR troops) AND @dprk', { id: 'd' }),
    ];
    const words = [
      'Russia',
      'China',
      'strike',
      'strikes',
      'sanctions',
      'prime',
      'minister',
      'Kyiv',
      'football',
      'deployed',
      'troops',
      'Pyongyang',
      'north',
      'korea',
      'weather',
    ];
    const items: MatchInput[] = [];
    for (let i = 0; i < 300; i++) {
      const pick = (k: number) => words[(i * 7 + k * 13 + ((i * k) % 5)) % words.length] as string;
      items.push(
        item(`${pick(1)} ${pick(2)} ${pick(3)}`, `${pick(4)} ${pick(5)} ${pick(6)} ${pick(7)}`),
      );
    }
    const adaptive = compileWatches(watches, { rebalanceAfter: 1 });

    for (const input of items) {
      const plain = watches.flatMap((w) => matchWatch(w, new AnalyzedItem(input)) ?? []);

      expect(adaptive.match(input)).toEqual(plain);
    }
  });
});
