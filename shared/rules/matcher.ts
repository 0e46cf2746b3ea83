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

/** An item analysed once, with per-item caches of term occurrences. */
export class AnalyzedItem {
  readonly fields: readonly [Token[], Token[]];
  /** Folded token → positions, over both fields. */
  readonly positions = new Map<string, Span[]>();
  private readonly spanCache = new Map<Term, Span[]>();

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
    let spans = this.spanCache.get(term);
    if (!spans) {
      spans = this.findSpans(term);
      this.spanCache.set(term, spans);
    }
    return spans;
  }

  private findSpans(term: Term): Span[] {
    switch (term.kind) {
      case 'word':
        return this.positions.get(term.token) ?? [];
      case 'exact':
        return (this.positions.get(foldWord(term.token)) ?? []).filter(
          (s) => this.fields[s.field][s.first]?.exact === term.token,
        );
      case 'prefix': {
        const spans: Span[] = [];
        for (const [norm, list] of this.positions) {
          if (norm.startsWith(term.prefix)) spans.push(...list);
        }
        return spans;
      }
      case 'phrase': {
        const [head, ...rest] = term.tokens;
        const spans: Span[] = [];
        for (const start of this.positions.get(head ?? '') ?? []) {
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
      return nearPairs(expr, item, titleOnly, true).length > 0;
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
 * Anchor terms of an expression: if the expression holds for an item, at least
 * one anchor occurs in it. `undefined` means no such set is known.
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

function anchorsOf(e: Expr): Anchors | undefined {
  switch (e.kind) {
    case 'word':
      return { words: [e.token], prefixes: [], cost: wordCost(e.token) };
    case 'exact': {
      const folded = foldWord(e.token);
      return { words: [folded], prefixes: [], cost: wordCost(folded) };
    }
    case 'phrase': {
      const best = e.tokens.reduce((a, b) => (wordCost(b) < wordCost(a) ? b : a));
      return { words: [best], prefixes: [], cost: wordCost(best) };
    }
    case 'prefix':
      return { words: [], prefixes: [e.prefix], cost: 5 + 40 / e.prefix.length };
    case 'or': {
      const all: Anchors = { words: [], prefixes: [], cost: 0 };
      for (const child of e.children) {
        const a = anchorsOf(child);
        if (!a) return undefined;
        all.words.push(...a.words);
        all.prefixes.push(...a.prefixes);
        all.cost += a.cost;
      }
      return all;
    }
    case 'and': {
      let best: Anchors | undefined;
      for (const child of e.children) {
        const a = child.kind === 'not' ? undefined : anchorsOf(child);
        if (a && (!best || a.cost < best.cost)) best = a;
      }
      return best;
    }
    case 'near': {
      const left = anchorsOf(e.left);
      const right = anchorsOf(e.right);
      if (!left || !right) return left ?? right;
      return left.cost <= right.cost ? left : right;
    }
    case 'scope':
      return anchorsOf(e.child);
    default:
      return undefined;
  }
}

/** All watches of a rule set compiled into one matcher. */
export class Matcher {
  private readonly wordIndex = new Map<string, number[]>();
  private readonly prefixIndex = new Map<string, number[]>();
  private readonly unanchored: number[] = [];
  private readonly stamp: Uint32Array;
  private epoch = 0;
  private minPrefix = Number.POSITIVE_INFINITY;
  private maxPrefix = 0;
  /** Watches evaluated for the last item (after the pre-filter). */
  lastCandidateCount = 0;

  constructor(readonly watches: readonly Watch[]) {
    this.stamp = new Uint32Array(watches.length);
    watches.forEach((watch, index) => {
      const anchors = anchorsOf(watch.expr);
      if (!anchors) {
        this.unanchored.push(index);
        return;
      }
      for (const word of new Set(anchors.words)) addTo(this.wordIndex, word, index);
      for (const prefix of new Set(anchors.prefixes)) {
        addTo(this.prefixIndex, prefix, index);
        this.minPrefix = Math.min(this.minPrefix, prefix.length);
        this.maxPrefix = Math.max(this.maxPrefix, prefix.length);
      }
    });
  }

  /** Every watch that matches the item, in rule-set order, with its hits. */
  match(input: MatchInput | AnalyzedItem): WatchMatch[] {
    const item = input instanceof AnalyzedItem ? input : new AnalyzedItem(input);
    const candidates = this.candidates(item);
    this.lastCandidateCount = candidates.length;
    const matches: WatchMatch[] = [];
    for (const index of candidates) {
      const match = matchWatch(this.watches[index] as Watch, item);
      if (match) matches.push(match);
    }
    return matches;
  }

  /** Indexes of the watches whose anchors occur in the item, ascending. */
  candidates(item: AnalyzedItem): number[] {
    this.epoch = this.epoch === 0xffffffff ? 1 : this.epoch + 1;
    if (this.epoch === 1) this.stamp.fill(0);
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
    const hasPrefixes = this.prefixIndex.size > 0;
    for (const norm of item.positions.keys()) {
      take(this.wordIndex.get(norm));
      if (hasPrefixes) {
        const longest = Math.min(norm.length, this.maxPrefix);
        for (let n = this.minPrefix; n <= longest; n++)
          take(this.prefixIndex.get(norm.slice(0, n)));
      }
    }
    return out.sort((a, b) => a - b);
  }
}

function addTo(index: Map<string, number[]>, key: string, value: number): void {
  const list = index.get(key);
  if (list) list.push(value);
  else index.set(key, [value]);
}

/** Compiles a rule set into one matcher. */
export function compileWatches(watches: readonly Watch[]): Matcher {
  return new Matcher(watches);
}
