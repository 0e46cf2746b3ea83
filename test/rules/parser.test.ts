import { describe, expect, it } from 'vitest';
import type { Expr } from '../../shared/rules/ast.ts';
import type { QueryProblem } from '../../shared/rules/diagnostics.ts';
import { parseListEntry, parseQuery } from '../../shared/rules/parser.ts';
import { checkQuery } from '../../shared/rules/validate.ts';

/** The parsed query; fails the test when the query has a problem. */
function parse(query: string): Expr {
  const { expr, problems } = parseQuery(query);
  expect(problems).toEqual([]);
  if (!expr) throw new Error(`no expression for ${query}`);
  return expr;
}

/** Every problem with the query, from the parser and then the checks. */
function problemsOf(query: string): QueryProblem[] {
  const { expr, problems } = parseQuery(query);
  return expr ? [...problems, ...checkQuery(expr)] : problems;
}

/** The single problem with the query. */
function problemOf(query: string): QueryProblem {
  const problems = problemsOf(query);
  expect(problems).toHaveLength(1);
  return problems[0] as QueryProblem;
}

describe('parseQuery: terms', () => {
  it('reads a word, folded, and keeps what was written', () => {
    expect(parse('Troops')).toEqual({ kind: 'word', offset: 0, token: 'troops', text: 'Troops' });
  });

  it("drops a possessive 's from a query word as from item text", () => {
    expect(parse("Korea's")).toMatchObject({ kind: 'word', token: 'korea' });
  });

  it('folds accents and special letters in a query word', () => {
    expect(parse('ŁÓDŹ')).toMatchObject({ kind: 'word', token: 'lodz' });
  });

  it('reads a quoted phrase as its tokens', () => {
    expect(parse('"North Korean"')).toEqual({
      kind: 'phrase',
      offset: 0,
      tokens: ['north', 'korean'],
      text: '"North Korean"',
    });
  });

  it('gives the same phrase for a hyphen as for a space', () => {
    const hyphen = parse('"north-korean"');
    const space = parse('"north korean"');

    expect(hyphen).toMatchObject({ kind: 'phrase', tokens: ['north', 'korean'] });
    expect(space).toMatchObject({ kind: 'phrase', tokens: ['north', 'korean'] });
  });

  it('reads an unquoted hyphenated word as a phrase', () => {
    expect(parse('PAC-3')).toMatchObject({ kind: 'phrase', tokens: ['pac', '3'] });
  });

  it('accepts typographic quotes around a phrase', () => {
    expect(parse('“north korean”')).toMatchObject({ kind: 'phrase', tokens: ['north', 'korean'] });
  });

  it('reads a quoted single word as a word', () => {
    expect(parse('"Troops"')).toMatchObject({ kind: 'word', token: 'troops' });
  });

  it('reads a wildcard as a folded prefix', () => {
    expect(parse('Déploy*')).toEqual({
      kind: 'prefix',
      offset: 0,
      prefix: 'deploy',
      text: 'Déploy*',
    });
  });

  it('accepts a wildcard with exactly three letters before the *', () => {
    expect(parse('dep*')).toMatchObject({ kind: 'prefix', prefix: 'dep' });
  });

  it('reads {Word} as an exact token with its case and accents', () => {
    expect(parse('{Café}')).toEqual({ kind: 'exact', offset: 0, token: 'Café', text: '{Café}' });
  });

  it('reads @name as a list reference', () => {
    expect(parse('@dprk')).toEqual({ kind: 'list', offset: 0, name: 'dprk' });
  });

  it('reads "Near East" as two words, not an operator', () => {
    expect(parse('"Near East"')).toMatchObject({ kind: 'phrase', tokens: ['near', 'east'] });
  });

  it.each([
    ['and', 'rock and roll'],
    ['or', 'either or neither'],
    ['not', 'not guilty'],
    ['near', 'near miss'],
  ])('reads lower-case %s as an ordinary word', (_word, phrase) => {
    expect(parse(`"${phrase}"`)).toMatchObject({ kind: 'phrase', tokens: phrase.split(' ') });
  });

  it('reads lower-case near between upper-case operators as a word', () => {
    expect(parse('near AND east')).toMatchObject({
      kind: 'and',
      children: [
        { kind: 'word', token: 'near' },
        { kind: 'word', token: 'east' },
      ],
    });
  });
});

describe('parseQuery: fields and filters', () => {
  it('scopes a word to the title', () => {
    expect(parse('title:troops')).toEqual({
      kind: 'scope',
      offset: 0,
      field: 'title',
      child: { kind: 'word', offset: 6, token: 'troops', text: 'troops' },
    });
  });

  it('scopes a parenthesised query to the title', () => {
    expect(parse('title:(a OR b)')).toMatchObject({
      kind: 'scope',
      child: { kind: 'or', grouped: true, children: [{ token: 'a' }, { token: 'b' }] },
    });
  });

  it('scopes a phrase to the title', () => {
    expect(parse('title:"north korea"')).toMatchObject({
      kind: 'scope',
      child: { kind: 'phrase', tokens: ['north', 'korea'] },
    });
  });

  it('reads source: as a filter on the feed id', () => {
    expect(parse('troops AND source:wire-a')).toMatchObject({
      kind: 'and',
      children: [{ kind: 'word' }, { kind: 'filter', offset: 11, on: 'source', value: 'wire-a' }],
    });
  });

  it('reads lang: as a filter on the language', () => {
    expect(parse('troops AND lang:en')).toMatchObject({
      children: [{ kind: 'word' }, { kind: 'filter', on: 'lang', value: 'en' }],
    });
  });
});

describe('parseQuery: operators and precedence', () => {
  it('reads NEAR/n as an unordered proximity with its distance', () => {
    expect(parse('troops NEAR/5 border')).toEqual({
      kind: 'near',
      offset: 7,
      left: { kind: 'word', offset: 0, token: 'troops', text: 'troops' },
      right: { kind: 'word', offset: 14, token: 'border', text: 'border' },
      distance: 5,
      ordered: false,
    });
  });

  it('reads ONEAR/n as an ordered proximity', () => {
    expect(parse('north ONEAR/0 kor*')).toMatchObject({
      kind: 'near',
      distance: 0,
      ordered: true,
      right: { kind: 'prefix' },
    });
  });

  it('gathers a chain of ANDs into one node', () => {
    expect(parse('a AND b AND c')).toMatchObject({
      kind: 'and',
      children: [{ token: 'a' }, { token: 'b' }, { token: 'c' }],
    });
  });

  it('gathers a chain of ORs into one node', () => {
    expect(parse('a OR b OR c')).toMatchObject({
      kind: 'or',
      children: [{ token: 'a' }, { token: 'b' }, { token: 'c' }],
    });
  });

  it('binds NEAR tighter than NOT, NOT tighter than AND, and AND tighter than OR', () => {
    expect(parse('a OR b AND NOT c NEAR/2 d')).toMatchObject({
      kind: 'or',
      children: [
        { token: 'a' },
        {
          kind: 'and',
          children: [
            { token: 'b' },
            { kind: 'not', child: { kind: 'near', left: { token: 'c' }, right: { token: 'd' } } },
          ],
        },
      ],
    });
  });

  it('lets parentheses override precedence', () => {
    expect(parse('(a OR b) AND c')).toMatchObject({
      kind: 'and',
      children: [{ kind: 'or', grouped: true }, { token: 'c' }],
    });
  });

  it('accepts a parenthesised OR of terms as a NEAR operand', () => {
    expect(problemsOf('(troops OR soldiers) NEAR/3 @dprk')).toEqual([]);
  });
});

describe('parseQuery: syntax errors', () => {
  it('reports two terms side by side, offering a phrase or AND', () => {
    expect(problemOf('north korea')).toEqual({
      severity: 'error',
      offset: 6,
      message: 'missing operator between "north" and "korea"',
      hint: 'for the phrase write "north korea"; for both words anywhere write north AND korea',
    });
  });

  it('joins a phrase and a word into one phrase in the hint', () => {
    expect(problemOf('"north korea" troops').hint).toBe(
      'for the phrase write "north korea troops"; for both words anywhere write "north korea" AND troops',
    );
  });

  it('reports two terms side by side inside parentheses', () => {
    expect(problemOf('a AND (b c)')).toMatchObject({ offset: 9 });
  });

  it('offers only AND or OR after a group, which cannot join a phrase', () => {
    expect(problemOf('(a OR b) troops')).toEqual({
      severity: 'error',
      offset: 9,
      message: 'missing operator before "troops"',
      hint: 'write (...) AND troops, or (...) OR troops',
    });
  });

  it('offers only AND or OR next to a wildcard, which cannot go in a phrase', () => {
    expect(problemOf('deploy* troops').hint).toBe('write deploy* AND troops, or deploy* OR troops');
  });

  it('asks for AND before a NOT that follows a term', () => {
    expect(problemOf('troops NOT drill')).toEqual({
      severity: 'error',
      offset: 7,
      message: 'missing AND before NOT',
      hint: 'write troops AND NOT ...',
    });
  });

  it('reports a query that ends after an operator', () => {
    expect(problemOf('troops AND')).toMatchObject({
      offset: 10,
      message: 'the query ends after "AND" where a term is needed',
    });
  });

  it('reports a query that starts with an operator', () => {
    expect(problemOf('OR troops')).toMatchObject({
      offset: 0,
      message: 'the query cannot start with OR',
      hint: 'write a OR b',
    });
  });

  it('reports two operators in a row', () => {
    expect(problemOf('a AND OR b')).toMatchObject({
      offset: 6,
      message: 'OR cannot follow "AND"',
    });
  });

  it('reports an empty query', () => {
    expect(problemOf('   ')).toMatchObject({ offset: 0, message: 'the query is empty' });
  });

  it('reports a ( that is never closed', () => {
    expect(problemOf('a AND (b OR c')).toEqual({
      severity: 'error',
      offset: 6,
      message: "this '(' is never closed",
      hint: "add ')'",
    });
  });

  it('reports a ) with no ( before it', () => {
    expect(problemOf('a OR b)')).toMatchObject({ offset: 6, message: "unmatched ')'" });
  });

  it('reports empty parentheses', () => {
    expect(problemOf('a AND ()')).toMatchObject({ offset: 6, message: 'empty parentheses' });
  });

  it('reports a phrase whose quote is never closed', () => {
    expect(problemOf('a AND "north korea')).toEqual({
      severity: 'error',
      offset: 6,
      message: 'unterminated phrase: this quote is never closed',
      hint: 'close the phrase with "',
    });
  });

  it('reports an empty phrase', () => {
    expect(problemOf('""')).toMatchObject({ offset: 0, message: 'the phrase has no words' });
  });

  it('reports a word with no letters or digits', () => {
    expect(problemOf('a AND --')).toMatchObject({
      offset: 6,
      message: '"--" has no letters or digits to match',
    });
  });

  it('reports NEAR without a distance, and says how to search for the word', () => {
    expect(problemOf('a NEAR b')).toEqual({
      severity: 'error',
      offset: 2,
      message: 'NEAR needs a distance',
      hint: 'write NEAR/5 for "at most 5 words apart"; for the word itself write near',
    });
  });

  it('reports ONEAR with a distance that is not a number', () => {
    expect(problemOf('a ONEAR/x b')).toMatchObject({
      offset: 2,
      message: 'ONEAR needs a distance',
    });
  });

  it('reports a NEAR distance above 100', () => {
    expect(problemOf('a NEAR/101 b')).toEqual({
      severity: 'error',
      offset: 2,
      message: 'NEAR/101 is too far (at most 100)',
      hint: 'for words anywhere in the item use AND',
    });
  });

  it('accepts a NEAR distance of exactly 100', () => {
    expect(problemsOf('a NEAR/100 b')).toEqual([]);
  });

  it('reports a wildcard with fewer than three letters before the *', () => {
    expect(problemOf('a OR de*')).toEqual({
      severity: 'error',
      offset: 5,
      message: '"de*": a wildcard needs at least 3 letters before *',
      hint: 'short prefixes match too many words; list the words with OR instead',
    });
  });

  it('reports a * that is not at the end of the word, at the *', () => {
    expect(problemOf('dep*loy')).toMatchObject({
      offset: 3,
      message: 'a wildcard * goes only at the end of a word',
      hint: 'write deploy*',
    });
  });

  it('reports a wildcard over a hyphenated word', () => {
    expect(problemOf('north-kor*')).toMatchObject({
      offset: 0,
      message: '"north-kor*": a wildcard applies to one whole word',
    });
  });

  it('reports a wildcard inside a phrase, at the *', () => {
    expect(problemOf('"north kor*"')).toEqual({
      severity: 'error',
      offset: 10,
      message: 'wildcards do not work inside a phrase',
      hint: 'for a phrase ending in a wildcard write: north ONEAR/0 kor*',
    });
  });

  it('reports a {case-sensitive} term of more than one word', () => {
    expect(problemOf('{U.S.}')).toEqual({
      severity: 'error',
      offset: 0,
      message: '{U.S.}: a case-sensitive word is exactly one word',
      hint: 'for several, combine them: {US} ONEAR/0 {Army}',
    });
  });

  it('reports a { that is never closed', () => {
    expect(problemOf('a OR {US')).toMatchObject({
      offset: 5,
      message: 'unterminated case-sensitive word: this { is never closed',
    });
  });

  it('reports a } with no { before it', () => {
    expect(problemOf('US}')).toMatchObject({
      offset: 2,
      message: "unexpected '}' with no '{' before it",
    });
  });

  it('reports an unknown field and suggests quoting the text', () => {
    expect(problemOf('body:troops')).toEqual({
      severity: 'error',
      offset: 0,
      message: 'unknown field "body:"',
      hint: 'fields are title:, source: and lang:; to search for the text, quote it: "body:troops"',
    });
  });

  it('reports source: without a value, just after the colon', () => {
    expect(problemOf('troops AND source:')).toMatchObject({
      offset: 18,
      message: 'source: needs a value',
      hint: 'write source:feed-id',
    });
  });

  it('reports a bad list name', () => {
    expect(problemOf('@no!')).toMatchObject({ offset: 0, message: '"@no!" is not a list name' });
  });

  it('reports every lexical problem in the query, not only the first', () => {
    expect(problemsOf('a NEAR b AND c NEAR/500 d').map((p) => p.offset)).toEqual([2, 15]);
  });
});

describe('checkQuery: rules the grammar cannot express', () => {
  it('rejects a rule that is only NOT', () => {
    expect(problemOf('NOT drill')).toEqual({
      severity: 'error',
      offset: 0,
      message: 'a rule must say what it wants: NOT works only inside AND',
      hint: 'write: wanted AND NOT unwanted',
    });
  });

  it('rejects NOT as an alternative of OR', () => {
    expect(problemOf('troops OR NOT drill')).toMatchObject({
      offset: 10,
      message: 'NOT cannot be an alternative of OR',
    });
  });

  it('rejects an AND whose every part is negated', () => {
    expect(problemOf('NOT drill AND NOT exercise')).toEqual({
      severity: 'error',
      offset: 0,
      message: 'every part of this AND is negated',
      hint: 'add what the rule wants: a AND NOT b',
    });
  });

  it('rejects NOT directly under a title: scope', () => {
    expect(problemOf('troops AND title:(NOT drill)')).toMatchObject({ offset: 18 });
  });

  it('accepts NOT as an operand of AND', () => {
    expect(problemsOf('troops AND NOT drill')).toEqual([]);
  });

  it('rejects a rule of filters only', () => {
    expect(problemOf('source:wire-a AND lang:en')).toEqual({
      severity: 'error',
      offset: 0,
      message: 'the rule has no word to match',
      hint: 'source: and lang: only filter; add words',
    });
  });

  it('rejects a rule whose only words are negated', () => {
    expect(problemOf('lang:en AND NOT drill').message).toBe('the rule has no word to match');
  });

  it('rejects an OR with a filter as one alternative, since it would match without words', () => {
    expect(problemOf('troops OR source:wire-a').message).toBe('the rule has no word to match');
  });

  it('rejects an AND as a NEAR operand, at the operand', () => {
    expect(problemOf('troops NEAR/3 (border AND river)')).toEqual({
      severity: 'error',
      offset: 15,
      message: 'a NEAR operand must be a word, "phrase", wildcard*, @list, or (an OR of those)',
      hint: 'split the rule: (a NEAR/5 b) AND c',
    });
  });

  it('rejects a NEAR as a NEAR operand', () => {
    expect(problemOf('a NEAR/2 b NEAR/2 c')).toMatchObject({ offset: 2 });
  });

  it('rejects a title: scope as a NEAR operand, suggesting to scope the whole NEAR', () => {
    expect(problemOf('title:troops NEAR/3 border')).toMatchObject({
      offset: 0,
      hint: 'put the whole NEAR inside the field: title:(a NEAR/5 b)',
    });
  });

  it('rejects a filter as a NEAR operand', () => {
    expect(problemOf('troops NEAR/3 source:wire-a')).toMatchObject({ offset: 14 });
  });

  it('rejects NOT as a NEAR operand', () => {
    expect(problemOf('troops NEAR/3 NOT drill')).toMatchObject({
      offset: 14,
      message: 'NOT cannot follow "NEAR/3"',
    });
  });

  it('warns, without failing, when AND and OR are mixed without parentheses', () => {
    expect(problemOf('a AND b OR c')).toEqual({
      severity: 'warning',
      offset: 0,
      message: 'AND and OR mixed without parentheses (AND binds first)',
      hint: 'add parentheses to say which you mean: (a AND b) OR c, or a AND (b OR c)',
    });
  });

  it('warns at the AND when it follows the OR', () => {
    expect(problemOf('a OR b AND c')).toMatchObject({ severity: 'warning', offset: 5 });
  });

  it('does not warn when parentheses say which was meant', () => {
    expect(problemsOf('(a AND b) OR c')).toEqual([]);
    expect(problemsOf('a AND (b OR c)')).toEqual([]);
  });
});

describe('parseListEntry', () => {
  it.each([
    ['Pyongyang', 'word'],
    ['"north korea"', 'phrase'],
    ['kor*', 'prefix'],
    ['{DPRK}', 'exact'],
    ['@other', 'list'],
  ])('accepts %s', (entry, kind) => {
    expect(parseListEntry(entry)).toMatchObject({ expr: { kind }, problems: [] });
  });

  it('rejects an entry with an operator, suggesting one entry per alternative', () => {
    expect(parseListEntry('Pyongyang OR Seoul')).toEqual({
      problems: [
        {
          severity: 'error',
          offset: 0,
          message: 'a list entry is one word, "phrase", wildcard* or @list',
          hint: 'operators belong in the watch query; put each alternative in its own entry',
        },
      ],
    });
  });

  it('passes on the problems of an entry that does not parse', () => {
    expect(parseListEntry('"north korea').problems).toMatchObject([
      { offset: 0, message: 'unterminated phrase: this quote is never closed' },
    ]);
  });
});
