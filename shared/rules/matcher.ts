/**
 * Evaluation of watches on items, and the compiled matcher that runs a whole
 * rule set with a term pre-filter: an item is tokenised once, and only watches
 * with at least one of their anchor terms in the item are evaluated (the idea
 * behind Lucene's Monitor and the Elasticsearch percolator).
 */
import { analyze, foldWord, type Token } from './analyze.ts';
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

/** An item analysed once, with per-item caches of term occurrences. */
export class AnalyzedItem {
  readonly fields: readonly [Token[], Token[]];
  /** Folded token → positions, over both fields. */
  readonly positions = new Map<string, Span[]>();
  private readonly spanCache = new Map<string, Span[]>();
  /**
   * Prefix → the item's folded tokens that start with it, for the prefixes of
   * the rule set; filled by the matcher's pre-filter pass so that wildcards are
   * resolved once per item. Without it, wildcards scan the item's tokens.
   */
  prefixTokens: { registered: ReadonlySet<string>; found: Map<string, string[]> } | undefined;

  constructor(readonly input: MatchInput) {
    this.fields = [analyze(input.title), analyze(input.summary)];
    for (const field of [0, 1] as const) {
      const tokens = this.fields[field];
      for (let i = 0; i < tokens.length; i++) {
        const norm = (tokens[i] as Token).norm;
        const list = this.positions.get(norm);
        const span: Span = { field, first: i, last: i };
        if (list) list.push(span);
        else this.positions.set(norm, [span]);
      }
    }
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

  private findSpans(term: Term): Span[] {
    switch (term.kind) {
      case 'word':
        return this.positions.get(term.token) ?? NO_SPANS;
      case 'exact':
        return (this.positions.get(foldWord(term.token)) ?? NO_SPANS).filter(
          (s) => this.fields[s.field][s.first]?.exact === term.token,
        );
      case 'prefix': {
        const spans: Span[] = [];
        if (this.prefixTokens?.registered.has(term.prefix)) {
          for (const norm of this.prefixTokens.found.get(term.prefix) ?? []) {
            spans.push(...(this.positions.get(norm) ?? NO_SPANS));
          }
          return spans;
        }
        for (const [norm, list] of this.positions) {
          if (norm.startsWith(term.prefix)) spans.push(...list);
        }
        return spans;
      }
      case 'phrase': {
        const [head, ...rest] = term.tokens;
        const spans: Span[] = [];
        for (const start of this.positions.get(head ?? '') ?? NO_SPANS) {
          const tokens = this.fields[start.field];
          if (rest.every((t, k) => tokens[start.first + 1 + k]?.norm === t)) {
            spans.push({ field: start.field, first: start.first, last: start.first + rest.length });
          }
        }
        return spans;
      }
    }
  }

  hit(term: Term, span: Span): TermHit {
    const tokens = this.fields[span.field];
    return {
      term: term.text,
      field: FIELDS[span.field] as TextField,
      start: tokens[span.first]?.start ?? 0,
      end: tokens[span.last]?.end ?? 0,
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

/** The anchors of a single term, with a cost estimating how often it occurs in news. */
function termAnchors(e: Term): Anchors {
  const factor = e.kind === 'exact' || NAME.test(e.text) ? NAME_FACTOR : 1;
  switch (e.kind) {
    case 'word':
      return { words: [e.token], prefixes: [], cost: wordCost(e.token) * factor };
    case 'exact': {
      const folded = foldWord(e.token);
      return { words: [folded], prefixes: [], cost: wordCost(folded) * factor };
    }
    case 'phrase': {
      // Anchored on its rarest word; a phrase as a whole is rarer still.
      const best = e.tokens.reduce((a, b) => (wordCost(b) < wordCost(a) ? b : a));
      return {
        words: [best],
        prefixes: [],
        cost: wordCost(best) * factor * 0.5 ** (e.tokens.length - 1),
      };
    }
    case 'prefix':
      return { words: [], prefixes: [e.prefix], cost: (5 + 40 / e.prefix.length) * factor };
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
      return [...new Set(e.tokens)].map((token) => ({
        words: [token],
        prefixes: [],
        cost: wordCost(token) * (NAME.test(e.text) ? NAME_FACTOR : 1),
      }));
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
      const all: Anchors = { words: [], prefixes: [], cost: 0 };
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

interface PrefixEntry {
  prefix: string;
  watches: number[];
  /** Items seen with at least one token starting with the prefix. */
  itemsWith: number;
}

/**
 * All watches of a rule set compiled into one matcher. Each watch is indexed
 * under one of its required anchor sets and checked against the others before
 * it is evaluated. Which set is indexed starts from a guess (names are rarer
 * than lower-case words) and is then re-chosen from how often each anchor
 * actually occurs in the items seen, so that a watch is looked at only for the
 * items that contain its rarest requirement.
 */
export class Matcher {
  /** Folded word of any term → its id, items seen with it, and the watches indexed under it. */
  private readonly words = new Map<string, { id: number; items: number; watches: number[] }>();
  /** First `bucketLength` characters of a prefix → the prefixes starting so, with the watches they anchor. */
  private readonly prefixBuckets = new Map<string, PrefixEntry[]>();
  private readonly prefixEntries = new Map<string, PrefixEntry>();
  private readonly registeredPrefixes = new Set<string>();
  private bucketLength = Number.POSITIVE_INFINITY;
  /** Per watch: every anchor set that must have a hit for it to match. */
  private readonly requirements: Anchors[][];
  private unanchored: number[] = [];
  private itemsSeen = 0;
  private nextRebalance: number;
  private readonly stamp: Uint32Array;
  private epoch = 0;
  /** Wildcard prefix → its id in `present` (word and prefix ids share one range). */
  private readonly prefixIds = new Map<string, number>();
  /** Per term id: the epoch of the last item it occurred in. */
  private present: Uint32Array = new Uint32Array(0);
  /** Every watch's presence test, as [op, arg, length, ...operands] programs. */
  private program: Int32Array = new Int32Array(0);
  private readonly programStart: Int32Array;
  /** Whether a watch's presence test decides it: only words, wildcards, AND, OR, NOT. */
  private readonly decided: Uint8Array;
  /** Watches evaluated for the last item (after the pre-filter). */
  lastCandidateCount = 0;
  /** Watches found through their indexed anchor for the last item, before the other checks. */
  lastPrimaryCount = 0;

  constructor(
    readonly watches: readonly Watch[],
    options: MatcherOptions = {},
  ) {
    this.nextRebalance = Math.max(1, options.rebalanceAfter ?? 256);
    this.stamp = new Uint32Array(watches.length);
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
    for (const sets of this.requirements) {
      for (const set of sets) {
        for (const p of set.prefixes) this.registeredPrefixes.add(p);
        for (const w of set.words) this.termId(w);
      }
    }
    collectTermPrefixes(watches, this.registeredPrefixes);
    for (const prefix of this.registeredPrefixes) {
      this.bucketLength = Math.min(this.bucketLength, prefix.length);
    }
    for (const prefix of this.registeredPrefixes) {
      const entry: PrefixEntry = { prefix, watches: [], itemsWith: 0 };
      this.prefixEntries.set(prefix, entry);
      const key = prefix.slice(0, this.bucketLength);
      const bucket = this.prefixBuckets.get(key) ?? [];
      bucket.push(entry);
      this.prefixBuckets.set(key, bucket);
    }
    this.buildIndex((set) => set.cost);
    this.programStart = new Int32Array(watches.length);
    this.decided = new Uint8Array(watches.length);
    const code: number[] = [];
    watches.forEach((watch, index) => {
      this.programStart[index] = code.length;
      this.decided[index] = this.emit(watch.expr, code) ? 1 : 0;
    });
    this.program = Int32Array.from(code);
    this.present = new Uint32Array(this.words.size + this.prefixIds.size);
  }

  private termId(word: string): number {
    let entry = this.words.get(word);
    if (entry === undefined) {
      entry = { id: this.words.size + this.prefixIds.size, items: 0, watches: [] };
      this.words.set(word, entry);
    }
    return entry.id;
  }

  private prefixId(prefix: string): number {
    let id = this.prefixIds.get(prefix);
    if (id === undefined) {
      id = this.words.size + this.prefixIds.size;
      this.prefixIds.set(prefix, id);
    }
    return id;
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

  /** Indexes each watch under its cheapest required set; the next cheapest become extra checks. */
  private buildIndex(cost: (set: Anchors) => number): void {
    for (const entry of this.words.values()) entry.watches = [];
    for (const entry of this.prefixEntries.values()) entry.watches = [];
    this.unanchored = [];
    this.requirements.forEach((sets, index) => {
      const ranked = sets
        .map((set) => ({ set, cost: cost(set) }))
        .sort((x, y) => x.cost - y.cost)
        .map((x) => x.set);
      const [primary] = ranked;
      if (!primary) {
        this.unanchored.push(index);
        return;
      }
      for (const word of new Set(primary.words)) this.words.get(word)?.watches.push(index);
      for (const prefix of new Set(primary.prefixes))
        this.prefixEntries.get(prefix)?.watches.push(index);
    });
  }

  /** Re-chooses indexed anchors from observed frequencies (chance an item contains the set). */
  private rebalance(): void {
    const items = this.itemsSeen + 1;
    this.buildIndex((set) => {
      let p = 0;
      for (const w of set.words) p += ((this.words.get(w)?.items ?? 0) + 0.5) / items;
      for (const x of set.prefixes)
        p += ((this.prefixEntries.get(x)?.itemsWith ?? 0) + 0.5) / items;
      // Ties (terms never seen) fall back to the static guess.
      return p + set.cost * 1e-9;
    });
  }

  /** Every watch that matches the item, in rule-set order, with its hits. */
  match(input: MatchInput | AnalyzedItem): WatchMatch[] {
    const item = input instanceof AnalyzedItem ? input : new AnalyzedItem(input);
    const candidates = this.candidates(item);
    this.lastCandidateCount = candidates.length;
    const matches: WatchMatch[] = [];
    for (const index of candidates) {
      const watch = this.watches[index] as Watch;
      if (!watchAdmits(watch, item.input)) continue;
      // A watch of words and wildcards only is decided by its presence test.
      if (this.decided[index] !== 1 && !evaluate(watch.expr, item)) continue;
      matches.push({ watchId: watch.id, hits: collectHits(watch.expr, item) });
    }
    return matches;
  }

  /**
   * Indexes of the watches whose indexed anchors occur in the item and whose
   * presence test passes, ascending. Also resolves the rule set's wildcards
   * against the item's tokens, once.
   */
  candidates(item: AnalyzedItem): number[] {
    this.epoch = this.epoch === 0xffffffff ? 1 : this.epoch + 1;
    if (this.epoch === 1) {
      this.stamp.fill(0);
      this.present.fill(0);
    }
    const found = new Map<string, string[]>();
    item.prefixTokens = { registered: this.registeredPrefixes, found };
    const out: number[] = [];
    const take = (list: number[] | undefined): void => {
      if (!list) return;
      for (const index of list) {
        if (this.stamp[index] !== this.epoch) {
          this.stamp[index] = this.epoch;
          out.push(index);
        }
      }
    };
    take(this.unanchored);
    const hasPrefixes = this.prefixBuckets.size > 0;
    const present = this.present;
    const epoch = this.epoch;
    for (const norm of item.positions.keys()) {
      const entry = this.words.get(norm);
      if (entry !== undefined) {
        present[entry.id] = epoch;
        entry.items++;
        take(entry.watches);
      }
      if (!hasPrefixes || norm.length < this.bucketLength) continue;
      const bucket = this.prefixBuckets.get(norm.slice(0, this.bucketLength));
      if (!bucket) continue;
      for (const entry of bucket) {
        if (!norm.startsWith(entry.prefix)) continue;
        const prefixId = this.prefixIds.get(entry.prefix);
        if (prefixId !== undefined) present[prefixId] = epoch;
        const tokens = found.get(entry.prefix);
        if (tokens) {
          tokens.push(norm);
        } else {
          found.set(entry.prefix, [norm]);
          entry.itemsWith++;
        }
        take(entry.watches);
      }
    }
    this.lastPrimaryCount = out.length;
    const admitted = out.filter((index) => this.passes(this.programStart[index] as number));
    if (++this.itemsSeen >= this.nextRebalance) {
      this.rebalance();
      this.nextRebalance *= 4;
    }
    return admitted.sort((a, b) => a - b);
  }
}

const OP_TRUE = 0;
const OP_TERM = 1;
const OP_AND = 2;
const OP_OR = 3;
const OP_NOT = 4;

/** Adds every wildcard prefix used anywhere in the watches (not only anchors). */
function collectTermPrefixes(watches: readonly Watch[], into: Set<string>): void {
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'prefix':
        into.add(e.prefix);
        return;
      case 'and':
      case 'or':
        for (const c of e.children) visit(c);
        return;
      case 'not':
      case 'scope':
        visit(e.child);
        return;
      case 'near':
        visit(e.left);
        visit(e.right);
        return;
      default:
        return;
    }
  };
  for (const watch of watches) visit(watch.expr);
}

/** Compiles a rule set into one matcher. */
export function compileWatches(watches: readonly Watch[], options: MatcherOptions = {}): Matcher {
  return new Matcher(watches, options);
}
