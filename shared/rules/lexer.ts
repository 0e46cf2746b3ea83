/** Splits a query string into lexemes, each with its offset in the string. */
import type { QueryProblem } from './diagnostics.ts';

export type Lexeme =
  | { type: 'lparen' | 'rparen'; offset: number; text: string }
  | { type: 'and' | 'or' | 'not'; offset: number; text: string }
  | { type: 'near'; offset: number; text: string; distance: number; ordered: boolean }
  | { type: 'word'; offset: number; text: string }
  | { type: 'phrase'; offset: number; text: string; content: string; contentOffset: number }
  | { type: 'exact'; offset: number; text: string; content: string }
  | { type: 'list'; offset: number; text: string; name: string }
  | { type: 'field'; offset: number; text: string; field: 'title' }
  | { type: 'filter'; offset: number; text: string; on: 'source' | 'lang'; value: string };

const OPEN_QUOTES = new Set(['"', '\u201c', '\u201d']);
const CLOSE_QUOTES = new Set(['"', '\u201c', '\u201d']);
// Characters that end a bare word.
const BREAKS = new Set(['(', ')', '"', '\u201c', '\u201d', '{', '}']);
const NEAR_OPERATOR = /^(O?NEAR)(?:\/(.*))?$/;
const FIELD_PREFIX = /^([A-Za-z]+):/;
const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const FILTER_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Largest distance NEAR accepts; beyond it the analyst almost certainly meant AND. */
export const MAX_NEAR_DISTANCE = 100;

const isSpace = (c: string): boolean => /\s/u.test(c);

/** Lexes `query`; problems are reported, and the lexeme at fault is left out. */
export function lex(query: string): { lexemes: Lexeme[]; problems: QueryProblem[] } {
  const lexemes: Lexeme[] = [];
  const problems: QueryProblem[] = [];
  const error = (offset: number, message: string, hint?: string): void => {
    problems.push({ severity: 'error', offset, message, ...(hint ? { hint } : {}) });
  };
  let i = 0;
  while (i < query.length) {
    const c = query.charAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      lexemes.push({ type: c === '(' ? 'lparen' : 'rparen', offset: i, text: c });
      i++;
      continue;
    }
    if (OPEN_QUOTES.has(c)) {
      let end = i + 1;
      while (end < query.length && !CLOSE_QUOTES.has(query.charAt(end))) end++;
      if (end >= query.length) {
        error(i, 'unterminated phrase: this quote is never closed', 'close the phrase with "');
        return { lexemes, problems };
      }
      lexemes.push({
        type: 'phrase',
        offset: i,
        text: query.slice(i, end + 1),
        content: query.slice(i + 1, end),
        contentOffset: i + 1,
      });
      i = end + 1;
      continue;
    }
    if (c === '{') {
      const end = query.indexOf('}', i + 1);
      if (end < 0) {
        error(i, 'unterminated case-sensitive word: this { is never closed', 'write {Word}');
        return { lexemes, problems };
      }
      lexemes.push({
        type: 'exact',
        offset: i,
        text: query.slice(i, end + 1),
        content: query.slice(i + 1, end),
      });
      i = end + 1;
      continue;
    }
    if (c === '}') {
      error(i, "unexpected '}' with no '{' before it");
      i++;
      continue;
    }
    let end = i;
    while (end < query.length && !isSpace(query.charAt(end)) && !BREAKS.has(query.charAt(end))) {
      end++;
    }
    const text = query.slice(i, end);
    lexBare(text, i, lexemes, error);
    i = end;
  }
  return { lexemes, problems };
}

function lexBare(
  word: string,
  wordOffset: number,
  out: Lexeme[],
  error: (offset: number, message: string, hint?: string) => void,
): void {
  let text = word;
  let offset = wordOffset;
  // A loop, not recursion, over field prefixes: `title:title:…x` may repeat any number of times.
  for (;;) {
    if (lexBareOnce(text, offset, out, error)) return;
    const name = FIELD_PREFIX.exec(text)?.[1] ?? '';
    text = text.slice(name.length + 1);
    offset += name.length + 1;
  }
}

/** Lexes a bare word; false when it was a `title:` prefix whose rest remains to be lexed. */
function lexBareOnce(
  text: string,
  offset: number,
  out: Lexeme[],
  error: (offset: number, message: string, hint?: string) => void,
): boolean {
  if (text === 'AND' || text === 'OR' || text === 'NOT') {
    out.push({ type: text === 'AND' ? 'and' : text === 'OR' ? 'or' : 'not', offset, text });
    return true;
  }
  const near = NEAR_OPERATOR.exec(text);
  if (near) {
    const operator = near[1] ?? 'NEAR';
    const n = near[2];
    if (n === undefined || !/^\d+$/.test(n)) {
      error(
        offset,
        `${operator} needs a distance`,
        `write ${operator}/5 for "at most 5 words apart"; for the word itself write ${operator.toLowerCase()}`,
      );
      return true;
    }
    const distance = Number(n);
    if (distance > MAX_NEAR_DISTANCE) {
      error(
        offset,
        `${operator}/${n} is too far (at most ${MAX_NEAR_DISTANCE})`,
        'for words anywhere in the item use AND',
      );
      return true;
    }
    out.push({ type: 'near', offset, text, distance, ordered: operator === 'ONEAR' });
    return true;
  }
  if (text.startsWith('@')) {
    const name = text.slice(1);
    if (!LIST_NAME.test(name)) {
      error(offset, `"${text}" is not a list name`, 'list names are letters, digits, - and _');
      return true;
    }
    out.push({ type: 'list', offset, text, name });
    return true;
  }
  const field = FIELD_PREFIX.exec(text);
  if (field) {
    const name = field[1] ?? '';
    const rest = text.slice(name.length + 1);
    if (name === 'title') {
      out.push({ type: 'field', offset, text: `${name}:`, field: 'title' });
      return rest === '';
    }
    if (name === 'source' || name === 'lang') {
      if (!FILTER_VALUE.test(rest)) {
        error(
          offset + name.length + 1,
          `${name}: needs a value`,
          name === 'source' ? 'write source:feed-id' : 'write lang:en',
        );
        return true;
      }
      out.push({ type: 'filter', offset, text, on: name, value: rest });
      return true;
    }
    error(
      offset,
      `unknown field "${name}:"`,
      `fields are title:, source: and lang:; to search for the text, quote it: "${text}"`,
    );
    return true;
  }
  out.push({ type: 'word', offset, text });
  return true;
}
