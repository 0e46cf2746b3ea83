/**
 * Evaluation of watches on items, and the compiled matcher that runs a whole
 * rule set with a term pre-filter: an item is tokenised once, and only watches
 * with at least one of their anchor terms in the item are evaluated (the idea
 * behind Lucene's Monitor and the Elasticsearch percolator).
 */
import { analyze, foldWord, ItemTokens, type Token } from './analyze.ts';
import type { Expr, Term } from './ast.ts';
import type { Watch } from './watch.ts';

/** The text and metadata of an item the matcher needs. */
export interface MatchInput {
  title: string;
  summary: string;
  /** Feed id, for `source:` and a watch's `sources`. */
  feed?: string;
  /** Language code, for `lang:` and a watch's `lang`. */
  lang?: string;
}

export type TextField = 'title' | 'summary';

/** One occurrence of a matched term, with character offsets into the field's text. */
export interface TermHit {
  /** The term as the analyst wrote it (`deploy*`, `"north korea"`). */
  term: string;
  field: TextField;
  start: number;
  end: number;
}

export interface WatchMatch {
  watchId: string;
  hits: TermHit[];
}

/** Token positions of one occurrence: field 0 is the title, 1 the summary. */
interface Span {
  field: 0 | 1;
  first: number;
  last: number;
}

const FIELDS: readonly TextField[] = ['title', 'summary'];
const NO_SPANS: Span[] = [];

/** A stable key per distinct term, so that watches sharing a term share its occurrences. */
const termKeys = new WeakMap<Term, string>();
function termKey(term: Term): string {
  let key = termKeys.get(term);
  if (key === undefined) {
    const body =
      term.kind === 'phrase'
        ? term.tokens.join(' ')
        : term.kind === 'prefix'
          ? term.prefix
          : term.token;
    key = `${term.kind}:${body}`;
    termKeys.set(term, key);
  }
  return key;
}

/**
 * An item analysed once. The compiled matcher reads only `tokens`; the maps
 * that `evaluate` and `collectHits` use are built on first use.
 */
export class AnalyzedItem {
  readonly tokens = new ItemTokens();
  private analyzedFields: readonly [Token[], Token[]] | undefined;
  private positionMap: Map<string, Span[]> | undefined;
  private readonly spanCache = new Map<string, Span[]>();

  constructor(readonly input: MatchInput) {
    this.tokens.fill(input.title, input.summary);
  }

  /** The tokens of the title and of the summary, as `analyze` gives them. */
  get fields(): readonly [Token[], Token[]] {
    this.analyzedFields ??= [analyze(this.input.title), analyze(this.input.summary)];
    return this.analyzedFields;
  }

  /** Folded token → positions, over both fields. */
  get positions(): Map<string, Span[]> {
    if (this.positionMap) return this.positionMap;
    const positions = new Map<string, Span[]>();
    const { norms, length, titleLength } = this.tokens;
    for (let i = 0; i < length; i++) {
      const norm = norms[i] as string;
      const span: Span =
        i < titleLength
          ? { field: 0, first: i, last: i }
          : { field: 1, first: i - titleLength, last: i - titleLength };
      const list = positions.get(norm);
      if (list) list.push(span);
      else positions.set(norm, [span]);
    }
    this.positionMap = positions;
    return positions;
  }

  /** Every occurrence of `term` in either field. */
  spans(term: Term): Span[] {
    if (term.kind === 'word') return this.positions.get(term.token) ?? NO_SPANS;
    const key = termKey(term);
    let spans = this.spanCache.get(key);
    if (!spans) {
      spans = this.findSpans(term);
      this.spanCache.set(key, spans);
    }
    return spans;
  }

  /** Index in `tokens` of a field's token. */
  private column(field: 0 | 1, index: number): number {
    return field === 0 ? index : this.tokens.titleLength + index;
  }

  private fieldLength(field: 0 | 1): number {
    const { length, titleLength } = this.tokens;
    return field === 0 ? titleLength : length - titleLength;
  }

  private findSpans(term: Term): Span[] {
    switch (term.kind) {
      case 'word':
        return this.positions.get(term.token) ?? NO_SPANS;
      case 'exact':
        return (this.positions.get(foldWord(term.token)) ?? NO_SPANS).filter(
          (s) => this.tokens.exacts[this.column(s.field, s.first)] === term.token,
        );
      case 'prefix': {
        const spans: Span[] = [];
        for (const [norm, list] of this.positions) {
          if (norm.startsWith(term.prefix)) spans.push(...list);
        }
        // In text order, as the compiled matcher finds them: which term a shared
        // hit is credited to depends on the order occurrences are visited in.
        return spans.sort((a, b) => a.field - b.field || a.first - b.first);
      }
      case 'phrase': {
        const [head, ...rest] = term.tokens;
        const spans: Span[] = [];
        const norms = this.tokens.norms;
        for (const start of this.positions.get(head ?? '') ?? NO_SPANS) {
          const length = this.fieldLength(start.field);
          const at = this.column(start.field, start.first + 1);
          if (start.first + rest.length < length && rest.every((t, k) => norms[at + k] === t)) {
            spans.push({ field: start.field, first: start.first, last: start.first + rest.length });
          }
        }
        return spans;
      }
    }
  }

  hit(term: Term, span: Span): TermHit {
    return {
      term: term.text,
      field: FIELDS[span.field] as TextField,
      start: this.tokens.starts[this.column(span.field, span.first)] ?? 0,
      end: this.tokens.ends[this.column(span.field, span.last)] ?? 0,
    };
  }
}

/** Whether `expr` holds for the item; `titleOnly` is set under `title:`. */
export function evaluate(expr: Expr, item: AnalyzedItem, titleOnly = false): boolean {
  switch (expr.kind) {
    case 'word':
    case 'phrase':
    case 'prefix':
    case 'exact': {
      const spans = item.spans(expr);
      return titleOnly ? spans.some((s) => s.field === 0) : spans.length > 0;
    }
    case 'and':
      return expr.children.every((c) => evaluate(c, item, titleOnly));
    case 'or':
      return expr.children.some((c) => evaluate(c, item, titleOnly));
    case 'not':
      return !evaluate(expr.child, item, titleOnly);
    case 'scope':
      return evaluate(expr.child, item, true);
    case 'filter':
      return filterHolds(expr.on, expr.value, item.input);
    case 'near':
      return nearHolds(expr, item, titleOnly);
    case 'list':
      throw new Error(`list @${expr.name} was not expanded before evaluation`);
  }
}

function filterHolds(on: 'source' | 'lang', value: string, input: MatchInput): boolean {
  if (on === 'source') return input.feed === value;
  // An item whose language is unknown is not excluded by a language filter.
  return input.lang === undefined || languageOf(input.lang) === languageOf(value);
}

/** `en-GB` → `en`. */
function languageOf(code: string): string {
  return code.toLowerCase().split(/[-_]/)[0] ?? '';
}

interface TermSpan {
  term: Term;
  span: Span;
}

/** Occurrences of a proximity operand (a term or an OR of terms). */
/** The spans of a proximity operand (a term or an OR of terms), appended to `out`. */
function collectOperandSpans(e: Expr, item: AnalyzedItem, out: Span[]): Span[] {
  if (e.kind === 'or') {
    for (const c of e.children) collectOperandSpans(c, item, out);
    return out;
  }
  if (e.kind === 'word' || e.kind === 'phrase' || e.kind === 'prefix' || e.kind === 'exact') {
    for (const span of item.spans(e)) out.push(span);
    return out;
  }
  throw new Error(`invalid NEAR operand ${e.kind}`);
}

/** Whether a NEAR holds: the evaluation path, with no allocation per pair. */
function nearHolds(
  near: Extract<Expr, { kind: 'near' }>,
  item: AnalyzedItem,
  titleOnly: boolean,
): boolean {
  const lefts = collectOperandSpans(near.left, item, []);
  if (lefts.length === 0) return false;
  const rights = collectOperandSpans(near.right, item, []);
  for (const a of lefts) {
    if (titleOnly && a.field !== 0) continue;
    for (const b of rights) {
      if (a.field !== b.field) continue;
      if (a.last < b.first) {
        if (b.first - a.last - 1 <= near.distance) return true;
      } else if (!near.ordered && b.last < a.first && a.first - b.last - 1 <= near.distance) {
        return true;
      }
    }
  }
  return false;
}

function operandSpans(e: Expr, item: AnalyzedItem, titleOnly: boolean): TermSpan[] {
  if (e.kind === 'or') return e.children.flatMap((c) => operandSpans(c, item, titleOnly));
  if (e.kind === 'word' || e.kind === 'phrase' || e.kind === 'prefix' || e.kind === 'exact') {
    return item
      .spans(e)
      .filter((s) => !titleOnly || s.field === 0)
      .map((span) => ({ term: e, span }));
  }
  throw new Error(`invalid NEAR operand ${e.kind}`);
}

/** Pairs of occurrences that satisfy a NEAR; stops at the first when `firstOnly`. */
function nearPairs(
  near: Extract<Expr, { kind: 'near' }>,
  item: AnalyzedItem,
  titleOnly: boolean,
  firstOnly: boolean,
): [TermSpan, TermSpan][] {
  const pairs: [TermSpan, TermSpan][] = [];
  const lefts = operandSpans(near.left, item, titleOnly);
  if (lefts.length === 0) return pairs;
  const rights = operandSpans(near.right, item, titleOnly);
  for (const a of lefts) {
    for (const b of rights) {
      if (a.span.field !== b.span.field) continue;
      let gap: number;
      if (a.span.last < b.span.first) gap = b.span.first - a.span.last - 1;
      else if (!near.ordered && b.span.last < a.span.first) gap = a.span.first - b.span.last - 1;
      else continue;
      if (gap <= near.distance) {
        pairs.push([a, b]);
        if (firstOnly) return pairs;
      }
    }
  }
  return pairs;
}

/** The term occurrences that made `expr` hold, for highlighting. Call only when it holds. */
export function collectHits(expr: Expr, item: AnalyzedItem, titleOnly = false): TermHit[] {
  const hits: TermHit[] = [];
  const visit = (e: Expr, title: boolean): void => {
    switch (e.kind) {
      case 'word':
      case 'phrase':
      case 'prefix':
      case 'exact':
        for (const span of item.spans(e)) {
          if (!title || span.field === 0) hits.push(item.hit(e, span));
        }
        return;
      case 'and':
        for (const c of e.children) if (c.kind !== 'not') visit(c, title);
        return;
      case 'or':
        for (const c of e.children) if (evaluate(c, item, title)) visit(c, title);
        return;
      case 'scope':
        visit(e.child, true);
        return;
      case 'near':
        for (const [a, b] of nearPairs(e, item, title, false)) {
          hits.push(item.hit(a.term, a.span), item.hit(b.term, b.span));
        }
        return;
      default:
        return;
    }
  };
  visit(expr, titleOnly);
  return dedupeHits(hits);
}

function dedupeHits(hits: TermHit[]): TermHit[] {
  const seen = new Set<string>();
  const out: TermHit[] = [];
  for (const h of hits) {
    const key = `${h.field}:${h.start}:${h.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(h);
  }
  return out.sort((x, y) =>
    x.field === y.field ? x.start - y.start : x.field === 'title' ? -1 : 1,
  );
}

/** Whether the watch's own `sources` and `lang` admit the item. */
export function watchAdmits(watch: Watch, input: MatchInput): boolean {
  if (watch.sources && (input.feed === undefined || !watch.sources.includes(input.feed)))
    return false;
  if (watch.lang && !filterHolds('lang', watch.lang, input)) return false;
  return true;
}

/** Evaluates one watch on one item without any pre-filter. */
export function matchWatch(watch: Watch, item: AnalyzedItem): WatchMatch | undefined {
  if (!watchAdmits(watch, item.input) || !evaluate(watch.expr, item)) return undefined;
  return { watchId: watch.id, hits: collectHits(watch.expr, item) };
}

/**
 * Anchor terms: if an expression holds for an item, at least one of its
 * anchors occurs in the item.
 */
interface Anchors {
  words: string[];
  prefixes: string[];
  cost: number;
  /** Term ids of the words then the prefixes, set by the matcher. */
  ids: number[];
  /** The set's cost when the matcher last ranked sets. */
  rank: number;
}

// Words so common in news text that anchoring a watch on them makes it a
// candidate for nearly every item; an AND prefers any other operand.
const COMMON_WORDS = new Set(
  'a an the and or of to in on at for by with from as is are was were be been has have had it its this that said says say not no new after over into about than more will would could'.split(
    ' ',
  ),
);

function wordCost(word: string): number {
  return COMMON_WORDS.has(word) ? 1000 : 1 + 8 / Math.max(1, word.length);
}

// Analysts write names capitalised (Pyongyang, "Kim Jong Un", Patriot*), and a
// name is much rarer in news text than a lower-case word (deploy*, strike):
// the pre-filter prefers to index a watch under its names.
const NAME = /^["\u201c{(]*\p{Lu}/u;
const NAME_FACTOR = 0.3;

function anchors(words: string[], prefixes: string[], cost: number): Anchors {
  return { words, prefixes, cost, ids: [], rank: 0 };
}

/** The anchors of a single term, with a cost estimating how often it occurs in news. */
function termAnchors(e: Term): Anchors {
  const factor = e.kind === 'exact' || NAME.test(e.text) ? NAME_FACTOR : 1;
  switch (e.kind) {
    case 'word':
      return anchors([e.token], [], wordCost(e.token) * factor);
    case 'exact': {
      const folded = foldWord(e.token);
      return anchors([folded], [], wordCost(folded) * factor);
    }
    case 'phrase': {
      // Anchored on its rarest word; a phrase as a whole is rarer still.
      const best = e.tokens.reduce((a, b) => (wordCost(b) < wordCost(a) ? b : a));
      return anchors([best], [], wordCost(best) * factor * 0.5 ** (e.tokens.length - 1));
    }
    case 'prefix':
      return anchors([], [e.prefix], (5 + 40 / e.prefix.length) * factor);
  }
}

/**
 * Anchor sets that must ALL have a hit for the expression to hold: one per
 * positive operand of an AND or NEAR (recursively), one for an OR (the union
 * of its alternatives). An empty list means nothing is required.
 */
function requiredAnchors(e: Expr): Anchors[] {
  switch (e.kind) {
    case 'phrase':
      // Every word of a phrase must occur, each one a requirement of its own.
      return [...new Set(e.tokens)].map((token) =>
        anchors([token], [], wordCost(token) * (NAME.test(e.text) ? NAME_FACTOR : 1)),
      );
    case 'word':
    case 'prefix':
    case 'exact':
      return [termAnchors(e)];
    case 'and':
      return e.children.flatMap((c) => (c.kind === 'not' ? [] : requiredAnchors(c)));
    case 'near':
      return [...requiredAnchors(e.left), ...requiredAnchors(e.right)];
    case 'scope':
      return requiredAnchors(e.child);
    case 'or': {
      const all = anchors([], [], 0);
      for (const child of e.children) {
        // An alternative is satisfied only if its own cheapest requirement is.
        const sets = requiredAnchors(child);
        const best = cheapest(sets);
        if (!best) return [];
        all.words.push(...best.words);
        all.prefixes.push(...best.prefixes);
        all.cost += best.cost;
      }
      return [all];
    }
    default:
      return [];
  }
}

function cheapest(sets: Anchors[]): Anchors | undefined {
  let best: Anchors | undefined;
  for (const set of sets) if (!best || set.cost < best.cost) best = set;
  return best;
}

/** Options of `compileWatches`. */
export interface MatcherOptions {
  /**
   * Items after which the matcher first re-chooses each watch's indexed anchor
   * from the term frequencies it has observed (then after 4×, 16×, ... as
   * many). Default 256.
   */
  rebalanceAfter?: number;
}

/** The term ids a folded token carries: its word's (or -1) and the wildcards it matches. */
interface TokenTerms {
  word: number;
  prefixes: readonly number[];
}

const NO_PREFIXES: readonly number[] = [];
const NO_TERMS: TokenTerms = { word: -1, prefixes: NO_PREFIXES };
/** Distinct tokens outside the rule set's words remembered before starting over. */
const REMEMBERED_TOKENS = 1 << 16;

const T_WORD = 0;
const T_PREFIX = 1;
const T_EXACT = 2;
const T_PHRASE = 3;

// Operations of the evaluation code; each is [op, length, ...].
/** [E_TERM, 4, term slot, text] */
const E_TERM = 0;
/** [E_AND or E_OR, length, operand count, ...operands] */
const E_AND = 1;
const E_OR = 2;
/** [E_NOT or E_SCOPE, length, operand] */
const E_NOT = 3;
const E_SCOPE = 4;
/** [E_FILTER, 4, 1 for source or 0 for lang, value] */
const E_FILTER = 5;
/** [E_NEAR, length, distance, ordered, left count, right count, ...(term slot, text) pairs] */
const E_NEAR = 6;
/** [E_INVALID, 3, message]: throws when evaluated, as `evaluate` does. */
const E_INVALID = 7;

/**
 * All watches of a rule set compiled into one matcher. Each watch is indexed
 * under one of its required anchor sets and checked against the others before
 * it is evaluated. Which set is indexed starts from a guess (names are rarer
 * than lower-case words) and is then re-chosen from how often each anchor
 * actually occurs in the items seen, so that a watch is looked at only for the
 * items that contain its rarest requirement.
 *
 * Per item, each token is looked up once; the occurrences of every term of the
 * rule set are kept in arrays indexed by term id and reused from item to item,
 * so that matching allocates little beyond its results.
 */
export class Matcher {
  /** Folded word of any term → its term id. */
  private readonly wordIds = new Map<string, number>();
  /** Wildcard prefix → its term id (word and prefix ids share one range). */
  private readonly prefixIds = new Map<string, number>();
  /** Bit sets over `signature`s of the rule set's words and of its wildcards' first characters. */
  private readonly wordBits = new Int32Array(SIGNATURE_BITS >>> 5);
  private readonly prefixBits = new Int32Array(SIGNATURE_BITS >>> 5);
  /** Characters of a token that `prefixBits` covers; -1 when the rule set has no wildcard. */
  private prefixKeyLength = -1;
  /** The words of the rule set, and tokens seen lately, with the term ids they carry. */
  private readonly dictionary = new Map<string, TokenTerms>();
  /** First `bucketLength` characters of a prefix → the ids of the prefixes starting so. */
  private readonly prefixBuckets = new Map<string, { prefix: string; id: number }[]>();
  private bucketLength = Number.POSITIVE_INFINITY;
  /** Per watch: every anchor set that must have a hit for it to match. */
  private readonly requirements: Anchors[][];
  /** The distinct anchor sets of `requirements`. */
  private readonly anchorSets: Anchors[];
  /**
   * Per term id, from `indexStart[id]` to `indexStart[id + 1]`: the watches
   * indexed under it, each as [watch, n, ...n numbers]: its other required sets,
   * cheapest first, each as a count then that many term ids.
   */
  private indexStart: Int32Array = new Int32Array(1);
  private indexed: Int32Array = new Int32Array(0);
  private unanchored: number[] = [];
  private itemsSeen = 0;
  private nextRebalance: number;
  /** Per watch: the epoch of the last item it became a candidate for. */
  private readonly stamp: Uint32Array;
  private epoch = 0;
  private termCount = 0;
  /** Per term id: items seen with it. */
  private termItems: Float64Array = new Float64Array(0);
  /** Per term id: the epoch of the last item it occurred in. */
  private present: Uint32Array = new Uint32Array(0);
  /** Per term id: its first and last occurrence node in the current item. */
  private head: Int32Array = new Int32Array(0);
  private tail: Int32Array = new Int32Array(0);
  /** Occurrence nodes of the current item: token position, next node of the same term. */
  private nodePosition = new Int32Array(256);
  private nodeNext = new Int32Array(256);
  private nodeCount = 0;
  /** The term ids that occur in the current item. */
  private found: Int32Array = new Int32Array(0);
  /** Per token position of the current item: its word's term id, or -1. */
  private tokenWord = new Int32Array(256);
  /**
   * Every watch's presence test, as [op, arg, length, ...operands] programs
   * from `programStart[watch]`, each followed by the watch's evaluation code.
   */
  private program: Int32Array = new Int32Array(0);
  private readonly programStart: Int32Array;
  /** Whether a watch's presence test decides it: only words, wildcards, AND, OR, NOT. */
  private readonly decided: Uint8Array;
  /**
   * Every watch's expression over term slots (see E_TERM and the others),
   * from `evalStart[watch]`, in the same array as `program`: a candidate is
   * read from a few adjacent cache lines rather than from objects spread over the heap.
   */
  private readonly code: Int32Array;
  private readonly evalStart: Int32Array;
  /** Watch ids in one array, so that a match does not read its watch object. */
  private readonly watchIds: string[];
  /** Whether a watch has `sources` or `lang` of its own. */
  private readonly constrained: Uint8Array;
  /** Term key → slot; per slot, what the term is. */
  private readonly slots = new Map<string, number>();
  private readonly slotKinds: number[] = [];
  /** Word or wildcard id; for an exact term its folded word's; for a phrase its first word's. */
  private readonly slotTargets: number[] = [];
  private readonly slotWidths: number[] = [];
  /** A phrase's word ids, from `slotPhrase[slot]` in `phraseIds`. */
  private readonly slotPhrase: number[] = [];
  private readonly phraseIds: number[] = [];
  private readonly exactTokens: string[] = [];
  /** Strings the code refers to by index: terms as written, filter values, errors. */
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  /** Per term slot: the epoch its occurrences were found in, and where they are in `pool`. */
  private slotEpoch: Uint32Array = new Uint32Array(0);
  private slotStart: Int32Array = new Int32Array(0);
  private slotCount: Int32Array = new Int32Array(0);
  /** First token positions of term occurrences, ascending per slot. */
  private pool = new Int32Array(256);
  private poolLength = 0;
  private readonly candidateBuffer: Int32Array;
  /** Hits of the watch being collected: first and last token, and the term. */
  private hitFirst = new Int32Array(64);
  private hitLast = new Int32Array(64);
  private hitTexts: number[] = [];
  private hitOrder = new Int32Array(64);
  private hitCount = 0;
  /** Per token position: the `hitEpoch` of the watch that already has a one-token hit there. */
  private hitSeen = new Uint32Array(256);
  private hitEpoch = 0;
  private readonly scratch = new ItemTokens();
  /** The item being matched. */
  private tokens: ItemTokens = this.scratch;
  private input: MatchInput = { title: '', summary: '' };
  /** Watches evaluated for the last item (after the pre-filter). */
  lastCandidateCount = 0;
  /**
   * Watches found through their indexed anchor for the last item, before the
   * other checks (one indexed under several terms that occur counts once for each).
   */
  lastPrimaryCount = 0;

  constructor(
    readonly watches: readonly Watch[],
    options: MatcherOptions = {},
  ) {
    this.nextRebalance = Math.max(1, options.rebalanceAfter ?? 256);
    this.stamp = new Uint32Array(watches.length);
    this.candidateBuffer = new Int32Array(watches.length);
    // Identical sets are shared, so that each is checked once per item.
    const interned = new Map<string, Anchors>();
    const intern = (set: Anchors): Anchors => {
      const key = `${set.words.join('\u0000')}\u0001${set.prefixes.join('\u0000')}`;
      const known = interned.get(key);
      if (known) return known;
      interned.set(key, set);
      return set;
    };
    this.requirements = watches.map((watch) => requiredAnchors(watch.expr).map(intern));
    this.anchorSets = [...interned.values()];
    for (const set of this.anchorSets) {
      set.ids = [
        ...set.words.map((w) => this.termId(w)),
        ...set.prefixes.map((p) => this.prefixId(p)),
      ];
    }
    this.programStart = new Int32Array(watches.length);
    this.decided = new Uint8Array(watches.length);
    this.evalStart = new Int32Array(watches.length);
    this.constrained = new Uint8Array(watches.length);
    this.watchIds = watches.map((watch) => watch.id);
    // A watch's presence test and its evaluation code side by side: a candidate
    // that passes the one is read on from the same cache lines for the other.
    const code: number[] = [];
    watches.forEach((watch, index) => {
      this.programStart[index] = code.length;
      this.decided[index] = this.emit(watch.expr, code) ? 1 : 0;
      this.evalStart[index] = code.length;
      this.compile(watch.expr, code);
      this.constrained[index] = watch.sources || watch.lang ? 1 : 0;
    });
    this.program = Int32Array.from(code);
    this.code = this.program;
    const terms = this.termCount;
    this.termItems = new Float64Array(terms);
    this.present = new Uint32Array(terms);
    this.found = new Int32Array(terms);
    this.head = new Int32Array(terms);
    this.tail = new Int32Array(terms);
    const slots = this.slotKinds.length;
    this.slotEpoch = new Uint32Array(slots);
    this.slotStart = new Int32Array(slots);
    this.slotCount = new Int32Array(slots);

    for (const prefix of this.prefixIds.keys()) {
      this.bucketLength = Math.min(this.bucketLength, prefix.length);
    }
    for (const [prefix, id] of this.prefixIds) {
      const key = prefix.slice(0, this.bucketLength);
      const bucket = this.prefixBuckets.get(key) ?? [];
      bucket.push({ prefix, id });
      this.prefixBuckets.set(key, bucket);
    }
    this.forgetTokens();
    this.buildSignatures();
    this.buildIndex((set) => set.cost);
  }

  private termId(word: string): number {
    let id = this.wordIds.get(word);
    if (id === undefined) {
      id = this.termCount++;
      this.wordIds.set(word, id);
    }
    return id;
  }

  private prefixId(prefix: string): number {
    let id = this.prefixIds.get(prefix);
    if (id === undefined) {
      id = this.termCount++;
      this.prefixIds.set(prefix, id);
    }
    return id;
  }

  /**
   * False when `norm` is certainly neither a word of the rule set nor starts
   * with one of its wildcards: a test of a few characters against two bit sets
   * that turns most tokens away for less than a map lookup costs.
   */
  private mayCarryTerms(norm: string): boolean {
    const bits = this.wordBits;
    let h = signature(norm, norm.length);
    if (((bits[h >>> 5] as number) & (1 << (h & 31))) !== 0) return true;
    const k = this.prefixKeyLength;
    if (k < 0 || norm.length < k) return false;
    h = signature(norm, k);
    return ((this.prefixBits[h >>> 5] as number) & (1 << (h & 31))) !== 0;
  }

  /** Sets the bits of `mayCarryTerms` for the rule set's words and wildcards. */
  private buildSignatures(): void {
    for (const word of this.wordIds.keys()) setBit(this.wordBits, signature(word, word.length));
    if (this.prefixIds.size === 0) return;
    this.prefixKeyLength = Math.min(this.bucketLength, SIGNATURE_PREFIX);
    for (const prefix of this.prefixIds.keys()) {
      setBit(this.prefixBits, signature(prefix, this.prefixKeyLength));
    }
  }

  /**
   * The term ids of a folded token. Tokens outside the rule set's words are
   * remembered too (news reuses its vocabulary), so that a token costs one
   * lookup; the memory is bounded by starting over from the rule set's words.
   */
  private termsOf(norm: string): TokenTerms {
    const known = this.dictionary.get(norm);
    if (known !== undefined) return known;
    if (this.dictionary.size >= this.wordIds.size + REMEMBERED_TOKENS) this.forgetTokens();
    const prefixes = this.prefixesOf(norm);
    const terms = prefixes.length === 0 ? NO_TERMS : { word: -1, prefixes };
    // A copy: a token may be a slice that keeps the whole item text alive.
    this.dictionary.set(norm.split('').join(''), terms);
    return terms;
  }

  private forgetTokens(): void {
    this.dictionary.clear();
    for (const [word, id] of this.wordIds) {
      this.dictionary.set(word, { word: id, prefixes: this.prefixesOf(word) });
    }
  }

  /** Ids of the wildcards that `norm` matches. */
  private prefixesOf(norm: string): readonly number[] {
    if (norm.length < this.bucketLength) return NO_PREFIXES;
    const bucket = this.prefixBuckets.get(norm.slice(0, this.bucketLength));
    if (!bucket) return NO_PREFIXES;
    let ids: readonly number[] = NO_PREFIXES;
    for (const entry of bucket) {
      if (norm.startsWith(entry.prefix)) ids = [...ids, entry.id];
    }
    return ids;
  }

  /** The slot of a term, shared by every watch that uses it; registers its ids. */
  private term(t: Term): number {
    const key = termKey(t);
    const known = this.slots.get(key);
    if (known !== undefined) return known;
    const slot = this.slotKinds.length;
    this.slots.set(key, slot);
    let kind = T_WORD;
    let target = -1;
    let width = 1;
    let exact = '';
    const phrase = this.phraseIds.length;
    switch (t.kind) {
      case 'word':
        target = this.termId(t.token);
        break;
      case 'prefix':
        kind = T_PREFIX;
        target = this.prefixId(t.prefix);
        break;
      case 'exact':
        kind = T_EXACT;
        target = this.termId(foldWord(t.token));
        exact = t.token;
        break;
      case 'phrase':
        kind = T_PHRASE;
        for (const token of t.tokens) this.phraseIds.push(this.termId(token));
        target = t.tokens.length > 0 ? (this.phraseIds[phrase] as number) : -1;
        width = t.tokens.length;
        break;
    }
    this.slotKinds.push(kind);
    this.slotTargets.push(target);
    this.slotWidths.push(width);
    this.slotPhrase.push(phrase);
    this.exactTokens.push(exact);
    return slot;
  }

  private string(value: string): number {
    let index = this.stringIndex.get(value);
    if (index === undefined) {
      index = this.strings.length;
      this.strings.push(value);
      this.stringIndex.set(value, index);
    }
    return index;
  }

  /** Appends the evaluation code of `e` to `code`. */
  private compile(e: Expr, code: number[]): void {
    const at = code.length;
    switch (e.kind) {
      case 'word':
      case 'prefix':
      case 'exact':
      case 'phrase':
        // Hits name the term as written; terms that fold alike may be written differently.
        code.push(E_TERM, 4, this.term(e), this.string(e.text));
        return;
      case 'and':
      case 'or':
        code.push(e.kind === 'and' ? E_AND : E_OR, 0, e.children.length);
        for (const child of e.children) this.compile(child, code);
        break;
      case 'not':
      case 'scope':
        code.push(e.kind === 'not' ? E_NOT : E_SCOPE, 0);
        this.compile(e.child, code);
        break;
      case 'filter':
        code.push(E_FILTER, 4, e.on === 'source' ? 1 : 0, this.string(e.value));
        return;
      case 'near': {
        const left: Term[] = [];
        const right: Term[] = [];
        const invalid = operandTerms(e.left, left) ?? operandTerms(e.right, right);
        if (invalid !== undefined) {
          code.push(E_INVALID, 3, this.string(`invalid NEAR operand ${invalid}`));
          return;
        }
        code.push(E_NEAR, 0, e.distance, e.ordered ? 1 : 0, left.length, right.length);
        for (const t of [...left, ...right]) code.push(this.term(t), this.string(t.text));
        break;
      }
      case 'list':
        code.push(E_INVALID, 3, this.string(`list @${e.name} was not expanded before evaluation`));
        return;
    }
    code[at + 1] = code.length - at;
  }

  /**
   * Appends the presence test of `e` to `code`: a condition on which terms occur
   * (in either field) that holds whenever `e` does. Returns whether it is exact
   * (then `e` holds exactly when the test does, and need not be evaluated).
   * Under `title:` a term may occur in the summary only, so no NOT is tested there.
   */
  private emit(e: Expr, code: number[], titleOnly = false): boolean {
    const at = code.length;
    code.push(OP_TRUE, 0, 0);
    let exact = false;
    switch (e.kind) {
      case 'word':
        code[at] = OP_TERM;
        code[at + 1] = this.termId(e.token);
        exact = true;
        break;
      case 'prefix':
        code[at] = OP_TERM;
        code[at + 1] = this.prefixId(e.prefix);
        exact = true;
        break;
      case 'exact':
        code[at] = OP_TERM;
        code[at + 1] = this.termId(foldWord(e.token));
        break;
      case 'phrase':
        code[at] = OP_AND;
        code[at + 1] = e.tokens.length;
        for (const token of e.tokens) code.push(OP_TERM, this.termId(token), 3);
        break;
      case 'and': {
        exact = true;
        let operands = 0;
        code[at] = OP_AND;
        for (const child of e.children) {
          if (child.kind === 'not') {
            if (titleOnly) {
              exact = false;
              continue;
            }
            const mark = code.length;
            code.push(OP_NOT, 1, 0);
            if (this.emit(child.child, code, titleOnly)) {
              code[mark + 2] = code.length - mark;
              operands++;
            } else {
              // NOT of a test that is not exact cannot be tested on presence: leave it to evaluate.
              code.length = mark;
              exact = false;
            }
          } else {
            exact = this.emit(child, code, titleOnly) && exact;
            operands++;
          }
        }
        code[at + 1] = operands;
        break;
      }
      case 'or':
        exact = true;
        code[at] = OP_OR;
        code[at + 1] = e.children.length;
        for (const child of e.children) exact = this.emit(child, code, titleOnly) && exact;
        break;
      case 'near':
        code[at] = OP_AND;
        code[at + 1] = 2;
        this.emit(e.left, code, titleOnly);
        this.emit(e.right, code, titleOnly);
        break;
      case 'scope':
        code[at] = OP_AND;
        code[at + 1] = 1;
        this.emit(e.child, code, true);
        break;
      default:
        break;
    }
    code[at + 2] = code.length - at;
    return exact;
  }

  /** Runs the presence test at `at` on the current item. */
  private passes(at: number): boolean {
    const code = this.program;
    switch (code[at]) {
      case OP_TERM:
        return this.present[code[at + 1] as number] === this.epoch;
      case OP_AND: {
        let operand = at + 3;
        for (let n = code[at + 1] as number; n > 0; n--) {
          if (!this.passes(operand)) return false;
          operand += code[operand + 2] as number;
        }
        return true;
      }
      case OP_OR: {
        let operand = at + 3;
        for (let n = code[at + 1] as number; n > 0; n--) {
          if (this.passes(operand)) return true;
          operand += code[operand + 2] as number;
        }
        return false;
      }
      case OP_NOT:
        return !this.passes(at + 3);
      default:
        return true;
    }
  }

  /**
   * Indexes each watch under its cheapest required set, and keeps the others,
   * cheapest first, as a quick check: a watch found through one rare term
   * usually lacks another it requires, and a few looks at `present` say so
   * before its presence test runs. The other sets are stored in the index
   * entry itself, so that most watches are turned away without reading
   * anything of theirs elsewhere in memory.
   */
  private buildIndex(cost: (set: Anchors) => number): void {
    for (const set of this.anchorSets) set.rank = cost(set);
    const entries: { id: number; index: number; checks: number[] }[] = [];
    this.unanchored = [];
    const ranked: Anchors[] = [];
    this.requirements.forEach((sets, index) => {
      // Insertion sort, stable: the first of equally cheap sets is the primary.
      ranked.length = 0;
      for (const set of sets) {
        if (ranked.includes(set)) continue;
        let j = ranked.length;
        while (j > 0 && (ranked[j - 1] as Anchors).rank > set.rank) j--;
        ranked.splice(j, 0, set);
      }
      const checks: number[] = [];
      for (let k = 1; k < ranked.length; k++) {
        const ids = (ranked[k] as Anchors).ids;
        checks.push(ids.length, ...ids);
      }
      const primary = ranked[0];
      if (!primary) {
        this.unanchored.push(index);
        return;
      }
      for (const id of new Set(primary.ids)) entries.push({ id, index, checks });
    });
    const indexStart = new Int32Array(this.termCount + 1);
    for (const entry of entries) {
      indexStart[entry.id + 1] = (indexStart[entry.id + 1] as number) + 2 + entry.checks.length;
    }
    for (let id = 0; id < this.termCount; id++) {
      indexStart[id + 1] = (indexStart[id + 1] as number) + (indexStart[id] as number);
    }
    const fill = indexStart.slice(0, this.termCount);
    const indexed = new Int32Array(indexStart[this.termCount] as number);
    for (const { id, index, checks } of entries) {
      let at = fill[id] as number;
      indexed[at++] = index;
      indexed[at++] = checks.length;
      for (const value of checks) indexed[at++] = value;
      fill[id] = at;
    }
    this.indexStart = indexStart;
    this.indexed = indexed;
  }

  /** Re-chooses indexed anchors from observed frequencies (chance an item contains the set). */
  private rebalance(): void {
    const items = this.itemsSeen + 1;
    this.buildIndex((set) => {
      let p = 0;
      for (const id of set.ids) p += ((this.termItems[id] ?? 0) + 0.5) / items;
      // Ties (terms never seen) fall back to the static guess.
      return p + set.cost * 1e-9;
    });
  }

  /** Every watch that matches the item, in rule-set order, with its hits. */
  match(input: MatchInput | AnalyzedItem): WatchMatch[] {
    const count = this.select(input);
    this.lastCandidateCount = count;
    const matches: WatchMatch[] = [];
    const item = this.input;
    const candidates = this.candidateBuffer;
    for (let k = 0; k < count; k++) {
      const index = candidates[k] as number;
      if (this.constrained[index] === 1 && !watchAdmits(this.watches[index] as Watch, item))
        continue;
      const root = this.evalStart[index] as number;
      // A watch of words and wildcards only is decided by its presence test.
      if (this.decided[index] !== 1 && !this.holds(root, false)) continue;
      matches.push({ watchId: this.watchIds[index] as string, hits: this.hits(root) });
    }
    return matches;
  }

  /**
   * Indexes of the watches whose indexed anchors occur in the item and whose
   * presence test passes, ascending.
   */
  candidates(item: AnalyzedItem): number[] {
    return Array.from(this.candidateBuffer.subarray(0, this.select(item)));
  }

  /**
   * Reads the item's tokens into the per-term occurrence lists and puts the
   * candidate watches, ascending, at the start of `candidateBuffer`; returns how many.
   */
  private select(input: MatchInput | AnalyzedItem): number {
    if (input instanceof AnalyzedItem) {
      this.tokens = input.tokens;
      this.input = input.input;
    } else {
      this.scratch.fill(input.title, input.summary);
      this.tokens = this.scratch;
      this.input = input;
    }
    this.epoch = this.epoch === 0xffffffff ? 1 : this.epoch + 1;
    const epoch = this.epoch;
    if (epoch === 1) {
      this.stamp.fill(0);
      this.present.fill(0);
      this.slotEpoch.fill(0);
    }
    this.nodeCount = 0;
    this.poolLength = 0;
    const { norms, length } = this.tokens;
    if (this.tokenWord.length < length) {
      this.tokenWord = new Int32Array(length * 2);
      this.hitSeen = new Uint32Array(length * 2);
    }
    const candidates = this.candidateBuffer;
    let count = 0;
    const stamp = this.stamp;
    for (const index of this.unanchored) {
      stamp[index] = epoch;
      candidates[count++] = index;
    }
    const tokenWord = this.tokenWord;
    // The item's distinct terms; their watches are taken once every term is known present.
    const found = this.found;
    let distinct = 0;
    for (let i = 0; i < length; i++) {
      const norm = norms[i] as string;
      if (!this.mayCarryTerms(norm)) {
        tokenWord[i] = -1;
        continue;
      }
      const known = this.termsOf(norm);
      const word = known.word;
      tokenWord[i] = word;
      if (word !== -1 && this.occur(word, i)) found[distinct++] = word;
      const prefixes = known.prefixes;
      for (let k = 0; k < prefixes.length; k++) {
        const id = prefixes[k] as number;
        if (this.occur(id, i)) found[distinct++] = id;
      }
    }
    this.lastPrimaryCount = count;
    for (let k = 0; k < distinct; k++) count = this.take(found[k] as number, count);
    let admitted = 0;
    for (let k = 0; k < count; k++) {
      const index = candidates[k] as number;
      if (this.passes(this.programStart[index] as number)) candidates[admitted++] = index;
    }
    if (++this.itemsSeen >= this.nextRebalance) {
      this.rebalance();
      this.nextRebalance *= 4;
    }
    candidates.subarray(0, admitted).sort();
    return admitted;
  }

  /** Records an occurrence of term `id` at token `position`; returns whether it is the item's first. */
  private occur(id: number, position: number): boolean {
    const node = this.nodeCount++;
    if (node === this.nodePosition.length) this.growNodes();
    this.nodePosition[node] = position;
    this.nodeNext[node] = -1;
    if (this.present[id] !== this.epoch) {
      this.present[id] = this.epoch;
      this.head[id] = node;
      this.tail[id] = node;
      return true;
    }
    this.nodeNext[this.tail[id] as number] = node;
    this.tail[id] = node;
    return false;
  }

  /** Adds the watches indexed under term `id` to the candidates; returns their new count. */
  private take(id: number, count: number): number {
    (this.termItems[id] as number)++;
    const indexed = this.indexed;
    const present = this.present;
    const stamp = this.stamp;
    const epoch = this.epoch;
    const to = this.indexStart[id + 1] as number;
    let n = count;
    let k = this.indexStart[id] as number;
    while (k < to) {
      const index = indexed[k] as number;
      const from = k + 2;
      const end = from + (indexed[k + 1] as number);
      k = end;
      this.lastPrimaryCount++;
      // Each other required set, as a count then its term ids: one of them must occur.
      let set = from;
      while (set < end) {
        const next = set + 1 + (indexed[set] as number);
        let j = set + 1;
        while (j < next && present[indexed[j] as number] !== epoch) j++;
        if (j === next) break;
        set = next;
      }
      if (set < end) continue;
      if (stamp[index] !== epoch) {
        stamp[index] = epoch;
        this.candidateBuffer[n++] = index;
      }
    }
    return n;
  }

  private growNodes(): void {
    const position = new Int32Array(this.nodePosition.length * 2);
    position.set(this.nodePosition);
    this.nodePosition = position;
    const next = new Int32Array(this.nodeNext.length * 2);
    next.set(this.nodeNext);
    this.nodeNext = next;
  }

  /**
   * The slot of a term's occurrences in the current item, found on first use:
   * `slotCount` first token positions from `slotStart` in `pool`, ascending.
   */
  private occurrences(slot: number): number {
    if (this.slotEpoch[slot] === this.epoch) return slot;
    this.slotEpoch[slot] = this.epoch;
    const start = this.poolLength;
    const target = this.slotTargets[slot] as number;
    switch (this.slotKinds[slot]) {
      case T_WORD:
      case T_PREFIX:
        for (let n = this.firstNode(target); n !== -1; n = this.nodeNext[n] as number) {
          this.push(this.nodePosition[n] as number);
        }
        break;
      case T_EXACT: {
        const exacts = this.tokens.exacts;
        const token = this.exactTokens[slot];
        for (let n = this.firstNode(target); n !== -1; n = this.nodeNext[n] as number) {
          const position = this.nodePosition[n] as number;
          if (exacts[position] === token) this.push(position);
        }
        break;
      }
      case T_PHRASE: {
        const ids = this.phraseIds;
        const from = this.slotPhrase[slot] as number;
        const width = this.slotWidths[slot] as number;
        const { titleLength, length } = this.tokens;
        const tokenWord = this.tokenWord;
        for (let n = this.firstNode(target); n !== -1; n = this.nodeNext[n] as number) {
          const position = this.nodePosition[n] as number;
          // A phrase does not run from the title into the summary.
          const end = position < titleLength ? titleLength : length;
          if (position + width > end) continue;
          let k = 1;
          while (k < width && tokenWord[position + k] === ids[from + k]) k++;
          if (k === width) this.push(position);
        }
        break;
      }
    }
    this.slotStart[slot] = start;
    this.slotCount[slot] = this.poolLength - start;
    return slot;
  }

  /** The first occurrence node of term `id` in the current item, or -1. */
  private firstNode(id: number): number {
    return id >= 0 && this.present[id] === this.epoch ? (this.head[id] as number) : -1;
  }

  private push(position: number): void {
    if (this.poolLength === this.pool.length) {
      const pool = new Int32Array(this.pool.length * 2);
      pool.set(this.pool);
      this.pool = pool;
    }
    this.pool[this.poolLength++] = position;
  }

  /** Whether the term in `slot` occurs (in the title, when `titleOnly`). */
  private termHolds(slot: number, titleOnly: boolean): boolean {
    const kind = this.slotKinds[slot];
    if (kind === T_WORD || kind === T_PREFIX) {
      const node = this.firstNode(this.slotTargets[slot] as number);
      return (
        node !== -1 && (!titleOnly || (this.nodePosition[node] as number) < this.tokens.titleLength)
      );
    }
    this.occurrences(slot);
    if (this.slotCount[slot] === 0) return false;
    return (
      !titleOnly || (this.pool[this.slotStart[slot] as number] as number) < this.tokens.titleLength
    );
  }

  /** Whether the code at `at` holds for the current item; `titleOnly` is set under `title:`. */
  private holds(at: number, titleOnly: boolean): boolean {
    const code = this.code;
    switch (code[at]) {
      case E_TERM:
        return this.termHolds(code[at + 2] as number, titleOnly);
      case E_AND: {
        let operand = at + 3;
        for (let n = code[at + 2] as number; n > 0; n--) {
          if (!this.holds(operand, titleOnly)) return false;
          operand += code[operand + 1] as number;
        }
        return true;
      }
      case E_OR: {
        let operand = at + 3;
        for (let n = code[at + 2] as number; n > 0; n--) {
          if (this.holds(operand, titleOnly)) return true;
          operand += code[operand + 1] as number;
        }
        return false;
      }
      case E_NOT:
        return !this.holds(at + 2, titleOnly);
      case E_SCOPE:
        return this.holds(at + 2, true);
      case E_FILTER:
        return filterHolds(
          code[at + 2] === 1 ? 'source' : 'lang',
          this.strings[code[at + 3] as number] as string,
          this.input,
        );
      case E_NEAR:
        return this.near(at, titleOnly, false);
      default:
        throw new Error(this.strings[code[at + 2] as number]);
    }
  }

  /**
   * Whether the NEAR at `at` holds; with `collect`, records the hits of every
   * pair of occurrences that satisfies it, left then right, as `nearPairs` does.
   */
  private near(at: number, titleOnly: boolean, collect: boolean): boolean {
    const code = this.code;
    const distance = code[at + 2] as number;
    const ordered = code[at + 3] === 1;
    const leftFrom = at + 6;
    const rightFrom = leftFrom + 2 * (code[at + 4] as number);
    const rightTo = rightFrom + 2 * (code[at + 5] as number);
    let lefts = 0;
    for (let k = leftFrom; k < rightFrom; k += 2) {
      lefts += this.slotCount[this.occurrences(code[k] as number)] as number;
    }
    if (lefts === 0) return false;
    for (let k = rightFrom; k < rightTo; k += 2) this.occurrences(code[k] as number);
    const pool = this.pool;
    const titleLength = this.tokens.titleLength;
    let found = false;
    for (let l = leftFrom; l < rightFrom; l += 2) {
      const lSlot = code[l] as number;
      const lWidth = this.slotWidths[lSlot] as number;
      const lFrom = this.slotStart[lSlot] as number;
      const lTo = lFrom + (this.slotCount[lSlot] as number);
      for (let i = lFrom; i < lTo; i++) {
        const a = pool[i] as number;
        const aTitle = a < titleLength;
        if (titleOnly && !aTitle) continue;
        const aLast = a + lWidth - 1;
        for (let r = rightFrom; r < rightTo; r += 2) {
          const rSlot = code[r] as number;
          const rWidth = this.slotWidths[rSlot] as number;
          const rFrom = this.slotStart[rSlot] as number;
          const rTo = rFrom + (this.slotCount[rSlot] as number);
          for (let j = rFrom; j < rTo; j++) {
            const b = pool[j] as number;
            if (b < titleLength !== aTitle) continue;
            let gap: number;
            if (aLast < b) gap = b - aLast - 1;
            else if (!ordered && b + rWidth - 1 < a) gap = a - (b + rWidth);
            else continue;
            if (gap > distance) continue;
            if (!collect) return true;
            found = true;
            this.addHit(a, lWidth, code[l + 1] as number);
            this.addHit(b, rWidth, code[r + 1] as number);
          }
        }
      }
    }
    return found;
  }

  /** The hits of a watch that holds, as `collectHits` gives them. */
  private hits(root: number): TermHit[] {
    this.hitCount = 0;
    this.hitEpoch = this.hitEpoch === 0xffffffff ? 1 : this.hitEpoch + 1;
    if (this.hitEpoch === 1) this.hitSeen.fill(0);
    this.collect(root, false);
    const count = this.hitCount;
    const first = this.hitFirst;
    // Stable insertion sort of the hit indexes by first token, as `dedupeHits` sorts by offset.
    if (this.hitOrder.length < count) this.hitOrder = new Int32Array(this.hitFirst.length);
    const order = this.hitOrder;
    for (let k = 0; k < count; k++) {
      const at = first[k] as number;
      let j = k;
      while (j > 0 && (first[order[j - 1] as number] as number) > at) {
        order[j] = order[j - 1] as number;
        j--;
      }
      order[j] = k;
    }
    const { starts, ends, titleLength } = this.tokens;
    const hits: TermHit[] = [];
    for (let n = 0; n < count; n++) {
      const k = order[n] as number;
      const a = first[k] as number;
      hits.push({
        term: this.strings[this.hitTexts[k] as number] as string,
        field: a < titleLength ? 'title' : 'summary',
        start: starts[a] as number,
        end: ends[this.hitLast[k] as number] as number,
      });
    }
    return hits;
  }

  /** Records the hits of the code at `at`, as `collectHits` visits the expression. */
  private collect(at: number, titleOnly: boolean): void {
    const code = this.code;
    switch (code[at]) {
      case E_TERM: {
        const slot = this.occurrences(code[at + 2] as number);
        const width = this.slotWidths[slot] as number;
        const text = code[at + 3] as number;
        const from = this.slotStart[slot] as number;
        const to = from + (this.slotCount[slot] as number);
        const titleLength = this.tokens.titleLength;
        for (let i = from; i < to; i++) {
          const a = this.pool[i] as number;
          if (!titleOnly || a < titleLength) this.addHit(a, width, text);
        }
        return;
      }
      case E_AND:
      case E_OR: {
        const or = code[at] === E_OR;
        let operand = at + 3;
        for (let n = code[at + 2] as number; n > 0; n--) {
          if (or ? this.holds(operand, titleOnly) : code[operand] !== E_NOT) {
            this.collect(operand, titleOnly);
          }
          operand += code[operand + 1] as number;
        }
        return;
      }
      case E_SCOPE:
        this.collect(at + 2, true);
        return;
      case E_NEAR:
        this.near(at, titleOnly, true);
        return;
      default:
        return;
    }
  }

  /** Adds an occurrence at `first` unless the watch already has a hit at that span. */
  private addHit(first: number, width: number, text: number): void {
    const last = first + width - 1;
    if (first === last) {
      if (this.hitSeen[first] === this.hitEpoch) return;
      this.hitSeen[first] = this.hitEpoch;
    } else {
      for (let k = 0; k < this.hitCount; k++) {
        if (this.hitFirst[k] === first && this.hitLast[k] === last) return;
      }
    }
    const k = this.hitCount++;
    if (k === this.hitFirst.length) {
      const firsts = new Int32Array(k * 2);
      firsts.set(this.hitFirst);
      this.hitFirst = firsts;
      const lasts = new Int32Array(k * 2);
      lasts.set(this.hitLast);
      this.hitLast = lasts;
    }
    this.hitFirst[k] = first;
    this.hitLast[k] = last;
    this.hitTexts[k] = text;
  }
}

/** Appends the terms of a proximity operand; returns the kind of an operand that is not one. */
function operandTerms(e: Expr, out: Term[]): string | undefined {
  if (e.kind === 'or') {
    for (const c of e.children) {
      const invalid = operandTerms(c, out);
      if (invalid !== undefined) return invalid;
    }
    return undefined;
  }
  if (e.kind === 'word' || e.kind === 'phrase' || e.kind === 'prefix' || e.kind === 'exact') {
    out.push(e);
    return undefined;
  }
  return e.kind;
}

const SIGNATURE_BITS = 1 << 17;
/** At most this many first characters of a wildcard go into its signature. */
const SIGNATURE_PREFIX = 3;

/**
 * A hash of the first `length` characters of `text` for the bit sets: the
 * length, the first two and the last character (cheap to read, and they tell
 * most words apart).
 */
function signature(text: string, length: number): number {
  const first = length > 0 ? text.charCodeAt(0) : 0;
  const second = length > 1 ? text.charCodeAt(1) : 0;
  const last = length > 2 ? text.charCodeAt(length - 1) : 0;
  let h =
    Math.imul(length, 0x9e3779b1) ^
    Math.imul(first, 0x85ebca6b) ^
    Math.imul(second, 0xc2b2ae35) ^
    Math.imul(last, 0x27d4eb2f);
  h ^= h >>> 15;
  return h & (SIGNATURE_BITS - 1);
}

function setBit(bits: Int32Array, bit: number): void {
  bits[bit >>> 5] = (bits[bit >>> 5] as number) | (1 << (bit & 31));
}

const OP_TRUE = 0;
const OP_TERM = 1;
const OP_AND = 2;
const OP_OR = 3;
const OP_NOT = 4;

/** Compiles a rule set into one matcher. */
export function compileWatches(watches: readonly Watch[], options: MatcherOptions = {}): Matcher {
  return new Matcher(watches, options);
}
