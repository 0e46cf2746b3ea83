/**
 * The parsed form of a query. Terms are already analysed (folded tokens), so the
 * compiler and matcher never look at query text again.
 */

/** Where a term may match: anywhere (title or summary) or only in the title. */
export type Field = 'any' | 'title';

interface Positioned {
  /** Offset of the node in the query string it came from. */
  offset: number;
}

/** A single folded token. */
export interface WordTerm extends Positioned {
  kind: 'word';
  token: string;
  text: string;
}

/** Folded tokens at consecutive positions. */
export interface PhraseTerm extends Positioned {
  kind: 'phrase';
  tokens: string[];
  text: string;
}

/** Any token starting with `prefix` (folded). */
export interface PrefixTerm extends Positioned {
  kind: 'prefix';
  prefix: string;
  text: string;
}

/** A token exactly as written, case and accents included. */
export interface ExactTerm extends Positioned {
  kind: 'exact';
  token: string;
  text: string;
}

export type Term = WordTerm | PhraseTerm | PrefixTerm | ExactTerm;

/** A reference to a named list, before lists are resolved. */
export interface ListRef extends Positioned {
  kind: 'list';
  name: string;
}

export interface And extends Positioned {
  kind: 'and';
  children: Expr[];
  /** Written inside parentheses (used to warn about unparenthesised AND/OR mixes). */
  grouped?: boolean;
}

export interface Or extends Positioned {
  kind: 'or';
  children: Expr[];
  grouped?: boolean;
  /** Set when the OR is the expansion of a named list. */
  list?: string;
}

export interface Not extends Positioned {
  kind: 'not';
  child: Expr;
}

export interface Near extends Positioned {
  kind: 'near';
  left: Expr;
  right: Expr;
  /** Most tokens allowed between the two operands. */
  distance: number;
  /** `ONEAR`: the left operand must come first. */
  ordered: boolean;
}

/** `title:( ... )`: terms inside match only in the title. */
export interface Scope extends Positioned {
  kind: 'scope';
  field: 'title';
  child: Expr;
}

/** `source:x` / `lang:x`: a filter on the item's feed id or language. */
export interface Filter extends Positioned {
  kind: 'filter';
  on: 'source' | 'lang';
  value: string;
}

export type Expr = Term | ListRef | And | Or | Not | Near | Scope | Filter;

/** Text of a term as the analyst wrote it, for explanations. */
export function isTerm(e: Expr): e is Term {
  return e.kind === 'word' || e.kind === 'phrase' || e.kind === 'prefix' || e.kind === 'exact';
}
