/**
 * Watch-rule queries in the shapes analysts write: an entity (or a few) with
 * an action, by AND, NEAR/ONEAR, title:, AND NOT exclusions and ORs of such
 * clauses; 2 to 12 terms each. Most of them match nothing on a given item.
 */
import { Random, Zipf } from './random.ts';
import { ENTITY_KINDS, type Entity, type EntityKind, type Vocabulary } from './vocabulary.ts';

// How often rules are about each kind of entity.
const KIND_WEIGHTS: readonly (readonly [number, EntityKind])[] = [
  [5, 'country'],
  [2, 'capital'],
  [4, 'leader'],
  [3, 'organisation'],
  [3, 'weapon'],
  [3, 'company'],
  [1, 'vessel'],
];

/** Generates `count` queries; the same seed always gives the same queries. */
export function generateWatchQueries(
  vocabulary: Vocabulary,
  count: number,
  seed: number,
): string[] {
  const next = watchQueryGenerator(vocabulary, seed);
  return Array.from({ length: count }, next);
}

/** A source of queries, one per call; the same seed always gives the same sequence. */
export function watchQueryGenerator(vocabulary: Vocabulary, seed: number): () => string {
  const random = new Random(seed);
  const popularity = new Map<EntityKind, Zipf>(
    ENTITY_KINDS.map((kind) => [kind, new Zipf(vocabulary.entities[kind].length)]),
  );
  // A third of the entities in rules follow what the news talks about; the rest
  // are the long tail each analyst cares about.
  const entity = (): string => {
    const kind = random.weighted(KIND_WEIGHTS);
    const list = vocabulary.entities[kind];
    const index = random.chance(1 / 3)
      ? (popularity.get(kind) as Zipf).sample(random)
      : random.int(0, list.length - 1);
    return random.pick((list[index] as Entity).queries);
  };
  const action = (): string => random.pick(random.pick(vocabulary.actions).queries);
  const exclusion = (): string => random.pick(vocabulary.exclusions);
  const any = (terms: () => string, min: number, max: number): string => {
    const n = random.int(min, max);
    const chosen = new Set<string>();
    for (let i = 0; i < n; i++) chosen.add(terms());
    return chosen.size === 1 ? [...chosen].join('') : `(${[...chosen].join(' OR ')})`;
  };
  // Proximity operands must be terms or ORs of terms: no nested NEAR inside them.
  const term = (make: () => string): string => {
    for (;;) {
      const t = make();
      if (!t.includes('NEAR')) return t;
    }
  };
  const distance = (): number => random.pick([1, 2, 3, 5, 5, 8, 10, 15]);

  const shapes: readonly (readonly [number, () => string])[] = [
    [20, () => `${entity()} AND ${action()}`],
    [10, () => `${term(entity)} NEAR/${distance()} ${term(action)}`],
    [5, () => `${term(entity)} ONEAR/${distance()} ${term(action)}`],
    [12, () => `${any(entity, 1, 4)} AND ${any(action, 1, 3)}`],
    [8, () => `title:${any(entity, 1, 2)} AND ${any(action, 1, 2)}`],
    [10, () => `${entity()} AND ${action()} AND NOT ${any(exclusion, 1, 3)}`],
    [
      8,
      () => `${any(() => term(entity), 1, 3)} NEAR/${distance()} ${any(() => term(action), 1, 3)}`,
    ],
    [
      8,
      () =>
        `(${entity()} AND ${action()}) OR (${term(entity)} NEAR/5 ${term(action)})` +
        (random.chance(0.5) ? ` OR (${entity()} AND ${action()})` : ''),
    ],
    [
      6,
      () =>
        `${any(entity, 2, 4)} AND ${any(action, 2, 3)} AND ${any(entity, 2, 3)} AND NOT ${any(exclusion, 1, 2)}`,
    ],
    [8, () => `${entity()} AND ${entity()} AND ${action()}`],
    [5, () => `title:(${term(entity)} NEAR/3 ${term(action)}) AND ${entity()}`],
  ];

  return () => random.weighted(shapes)();
}
