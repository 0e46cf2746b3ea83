/**
 * Parses a query string into an `Expr`. Precedence, tightest first: NEAR/ONEAR,
 * NOT, AND, OR. Problems carry offsets into the query string; the watch-file
 * loader maps them to lines and columns.
 */
import { analyze } from './analyze.ts';
import type { Expr, Term } from './ast.ts';
import type { QueryProblem } from './diagnostics.ts';
import { type Lexeme, lex } from './lexer.ts';

/** Fewest characters a wildcard needs before its `*`. */
export const MIN_WILDCARD_PREFIX = 3;
/**
 * Deepest a query may nest: each `(`, `NOT`, `title:` and each further `NEAR`
 * of a chain is a level. Far above any real rule; it keeps every walk over the
 * parsed query (checks, list expansion, compiling, matching) off the stack limit.
 */
export const MAX_QUERY_NESTING = 100;

export interface ParseResult {
  expr?: Expr;
  problems: QueryProblem[];
}

class QuerySyntaxStop extends Error {}

/** Parses a whole query. */
export function parseQuery(query: string): ParseResult {
  const { lexemes, problems } = lex(query);
  if (problems.some((p) => p.severity === 'error')) return { problems };
  if (lexemes.length === 0) {
    return { problems: [{ severity: 'error', offset: 0, message: 'the query is empty' }] };
  }
  const parser = new Parser(lexemes, problems);
  try {
    const expr = parser.parseTop();
    return { expr, problems };
  } catch (error) {
    if (error instanceof QuerySyntaxStop) return { problems };
    throw error;
  }
}

/**
 * Parses one entry of a named list: a single word, phrase, wildcard,
 * `{Exact}` word or `@list`.
 */
export function parseListEntry(entry: string): ParseResult {
  const result = parseQuery(entry);
  if (!result.expr) return result;
  const kind = result.expr.kind;
  if (
    kind === 'word' ||
    kind === 'phrase' ||
    kind === 'prefix' ||
    kind === 'exact' ||
    kind === 'list'
  ) {
    return result;
  }
  return {
    problems: [
      {
        severity: 'error',
        offset: 0,
        message: 'a list entry is one word, "phrase", wildcard* or @list',
        hint: 'operators belong in the watch query; put each alternative in its own entry',
      },
    ],
  };
}

class Parser {
  private position = 0;
  /** Levels of `(`, `NOT` and `title:` the parser is inside. */
  private depth = 0;

  constructor(
    private readonly lexemes: Lexeme[],
    private readonly problems: QueryProblem[],
  ) {}

  parseTop(): Expr {
    const expr = this.parseOr();
    const next = this.peek();
    if (next) {
      if (next.type === 'rparen') this.fail(next.offset, "unmatched ')'");
      this.failAdjacent(next);
    }
    return expr;
  }

  private parseOr(): Expr {
    const first = this.parseAnd();
    const children = [first];
    while (this.peek()?.type === 'or') {
      this.position++;
      children.push(this.parseAnd());
    }
    if (children.length === 1) return first;
    return { kind: 'or', offset: first.offset, children };
  }

  private parseAnd(): Expr {
    const first = this.parseUnary();
    const children = [first];
    while (this.peek()?.type === 'and') {
      this.position++;
      children.push(this.parseUnary());
    }
    if (children.length === 1) return first;
    return { kind: 'and', offset: first.offset, children };
  }

  private parseUnary(): Expr {
    const next = this.peek();
    if (next?.type === 'not') {
      this.position++;
      return this.nested(next.offset, () => ({
        kind: 'not',
        offset: next.offset,
        child: this.parseUnary(),
      }));
    }
    return this.parseNear();
  }

  private parseNear(): Expr {
    let left = this.parsePrimary();
    // A chain nests to the left, (a NEAR b) NEAR c, one level per operator.
    let links = 0;
    for (let next = this.peek(); next?.type === 'near'; next = this.peek()) {
      links++;
      if (this.depth + links > MAX_QUERY_NESTING) this.failTooDeep(next.offset);
      this.position++;
      const right = this.parsePrimary();
      left = {
        kind: 'near',
        offset: next.offset,
        left,
        right,
        distance: next.distance,
        ordered: next.ordered,
      };
    }
    return left;
  }

  private parsePrimary(): Expr {
    const lexeme = this.peek();
    const previous = this.lexemes[this.position - 1];
    if (!lexeme) {
      return this.fail(
        previous ? previous.offset + previous.text.length : 0,
        previous ? `the query ends after "${previous.text}" where a term is needed` : 'empty query',
      );
    }
    this.position++;
    switch (lexeme.type) {
      case 'lparen':
        return this.nested(lexeme.offset, () => this.group(lexeme));
      case 'field':
        return this.nested(lexeme.offset, () => ({
          kind: 'scope',
          offset: lexeme.offset,
          field: lexeme.field,
          child: this.parsePrimary(),
        }));
      case 'filter':
        return { kind: 'filter', offset: lexeme.offset, on: lexeme.on, value: lexeme.value };
      case 'list':
        return { kind: 'list', offset: lexeme.offset, name: lexeme.name };
      case 'word':
        return this.wordTerm(lexeme.text, lexeme.offset);
      case 'phrase':
        return this.phraseTerm(lexeme.content, lexeme.offset, lexeme.text);
      case 'exact':
        return this.exactTerm(lexeme.content, lexeme.offset, lexeme.text);
      case 'rparen':
        return this.fail(
          lexeme.offset,
          previous ? `a term is missing after "${previous.text}"` : "unexpected ')'",
        );
      default:
        return this.fail(
          lexeme.offset,
          previous
            ? `${lexeme.text} cannot follow "${previous.text}"`
            : `the query cannot start with ${lexeme.text}`,
          lexeme.type === 'not' ? 'NOT works inside AND: a AND NOT b' : `write a ${lexeme.text} b`,
        );
    }
  }

  /** The rest of a group whose `(` has been read. */
  private group(open: Lexeme): Expr {
    if (this.peek()?.type === 'rparen') this.fail(open.offset, 'empty parentheses');
    const inner = this.parseOr();
    const close = this.peek();
    if (close?.type !== 'rparen') {
      if (close) this.failAdjacent(close);
      return this.fail(open.offset, "this '(' is never closed", "add ')'");
    }
    this.position++;
    if (inner.kind === 'and' || inner.kind === 'or') inner.grouped = true;
    return inner;
  }

  /** Parses one level deeper, failing past `MAX_QUERY_NESTING` rather than at the stack limit. */
  private nested<T>(offset: number, parse: () => T): T {
    this.depth++;
    try {
      if (this.depth > MAX_QUERY_NESTING) this.failTooDeep(offset);
      return parse();
    } finally {
      this.depth--;
    }
  }

  private failTooDeep(offset: number): never {
    const parentheses = parenthesisDepth(this.lexemes);
    const depth =
      parentheses > MAX_QUERY_NESTING ? `${parentheses}` : `more than ${MAX_QUERY_NESTING}`;
    return this.fail(
      offset,
      `query nests ${depth} levels deep; at most ${MAX_QUERY_NESTING} are allowed`,
      'each (, NOT, title: and NEAR after another NEAR is a level; split the rule or flatten it: (a OR (b OR c)) is a OR b OR c',
    );
  }

  private wordTerm(text: string, offset: number): Term {
    if (text.includes('*')) {
      const star = text.indexOf('*');
      if (star !== text.length - 1) {
        this.fail(offset + star, 'a wildcard * goes only at the end of a word', 'write deploy*');
      }
      const stem = text.slice(0, -1);
      const tokens = analyze(stem);
      const only = tokens[0];
      if (tokens.length !== 1 || !only || only.end !== stem.length || only.start !== 0) {
        return this.fail(
          offset,
          `"${text}": a wildcard applies to one whole word`,
          'write deploy*',
        );
      }
      // Letters are counted decomposed, so that a Hangul syllable counts as its jamo (북한* is fine).
      if ([...only.norm.normalize('NFD')].length < MIN_WILDCARD_PREFIX) {
        return this.fail(
          offset,
          `"${text}": a wildcard needs at least ${MIN_WILDCARD_PREFIX} letters before *`,
          'short prefixes match too many words; list the words with OR instead',
        );
      }
      return { kind: 'prefix', offset, prefix: only.norm, text };
    }
    const tokens = analyze(text);
    if (tokens.length === 0) {
      return this.fail(offset, `"${text}" has no letters or digits to match`);
    }
    if (tokens.length === 1 && tokens[0])
      return { kind: 'word', offset, token: tokens[0].norm, text };
    return { kind: 'phrase', offset, tokens: tokens.map((t) => t.norm), text };
  }

  private phraseTerm(content: string, offset: number, text: string): Term {
    const star = content.indexOf('*');
    if (star >= 0) {
      this.fail(
        offset + 1 + star,
        'wildcards do not work inside a phrase',
        'for a phrase ending in a wildcard write: north ONEAR/0 kor*',
      );
    }
    const tokens = analyze(content);
    if (tokens.length === 0) return this.fail(offset, 'the phrase has no words');
    if (tokens.length === 1 && tokens[0])
      return { kind: 'word', offset, token: tokens[0].norm, text };
    return { kind: 'phrase', offset, tokens: tokens.map((t) => t.norm), text };
  }

  private exactTerm(content: string, offset: number, text: string): Term {
    const tokens = analyze(content);
    const only = tokens[0];
    if (tokens.length !== 1 || !only) {
      return this.fail(
        offset,
        `${text}: a case-sensitive word is exactly one word`,
        'for several, combine them: {US} ONEAR/0 {Army}',
      );
    }
    return { kind: 'exact', offset, token: only.exact, text };
  }

  private failAdjacent(next: Lexeme): never {
    const previous = this.lexemes[this.position - 1];
    const before = previous?.text ?? '';
    if (next.type === 'not') {
      return this.fail(next.offset, `missing AND before NOT`, `write ${before} AND NOT ...`);
    }
    if (next.type === 'lparen' || next.type === 'field' || next.type === 'filter') {
      return this.fail(
        next.offset,
        `missing operator before "${next.text}"`,
        `write ${before} AND ${next.text}...`,
      );
    }
    if (!joinsAsPhrase(previous) || !joinsAsPhrase(next)) {
      // A phrase cannot hold a wildcard, {Word}, @list or group: only AND/OR fixes this.
      const left = previous?.type === 'rparen' ? '(...)' : before;
      return this.fail(
        next.offset,
        `missing operator before ${quoted(next.text)}`,
        `write ${left} AND ${next.text}, or ${left} OR ${next.text}`,
      );
    }
    const a = stripQuotes(before);
    const b = stripQuotes(next.text);
    return this.fail(
      next.offset,
      `missing operator between ${quoted(before)} and ${quoted(next.text)}`,
      `for the phrase write "${a} ${b}"; for both words anywhere write ${before} AND ${next.text}`,
    );
  }

  private peek(): Lexeme | undefined {
    return this.lexemes[this.position];
  }

  private fail(offset: number, message: string, hint?: string): never {
    this.problems.push({ severity: 'error', offset, message, ...(hint ? { hint } : {}) });
    throw new QuerySyntaxStop();
  }
}

/** How deep the parentheses of a query nest. */
function parenthesisDepth(lexemes: readonly Lexeme[]): number {
  let depth = 0;
  let deepest = 0;
  for (const lexeme of lexemes) {
    if (lexeme.type === 'lparen') deepest = Math.max(deepest, ++depth);
    else if (lexeme.type === 'rparen') depth--;
  }
  return deepest;
}

/** Whether a lexeme is a plain word or phrase, which can be joined into one phrase. */
function joinsAsPhrase(lexeme: Lexeme | undefined): boolean {
  return lexeme?.type === 'phrase' || (lexeme?.type === 'word' && !lexeme.text.includes('*'));
}

function quoted(text: string): string {
  return /^["\u201c\u201d]/.test(text) ? text : `"${text}"`;
}

function stripQuotes(text: string): string {
  return text.replace(/^["\u201c\u201d]|["\u201c\u201d]$/g, '');
}
