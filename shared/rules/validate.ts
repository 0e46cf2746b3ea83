/** Checks on a parsed query that the grammar alone cannot express. */
import { type Expr, isTerm, type Term } from './ast.ts';
import type { QueryProblem } from './diagnostics.ts';

/**
 * Reports misplaced NOT, negative-only rules, bad NEAR operands and (as a
 * warning) AND mixed with OR without parentheses.
 */
export function checkQuery(expr: Expr): QueryProblem[] {
  const problems: QueryProblem[] = [];
  const error = (offset: number, message: string, hint?: string): void => {
    problems.push({ severity: 'error', offset, message, ...(hint ? { hint } : {}) });
  };
  const visit = (node: Expr, parent: Expr | undefined): void => {
    switch (node.kind) {
      case 'not':
        if (parent?.kind !== 'and') {
          error(
            node.offset,
            parent?.kind === 'or'
              ? 'NOT cannot be an alternative of OR'
              : 'a rule must say what it wants: NOT works only inside AND',
            'write: wanted AND NOT unwanted',
          );
        }
        visit(node.child, node);
        return;
      case 'and':
        if (!node.children.some((c) => c.kind !== 'not')) {
          error(
            node.offset,
            'every part of this AND is negated',
            'add what the rule wants: a AND NOT b',
          );
        }
        for (const child of node.children) visit(child, node);
        return;
      case 'or':
        for (const child of node.children) {
          if (child.kind === 'and' && !child.grouped) {
            problems.push({
              severity: 'warning',
              offset: child.offset,
              message: 'AND and OR mixed without parentheses (AND binds first)',
              hint: 'add parentheses to say which you mean: (a AND b) OR c, or a AND (b OR c)',
            });
          }
          visit(child, node);
        }
        return;
      case 'near':
        for (const operand of [node.left, node.right]) {
          if (!isProximityOperand(operand)) {
            error(
              operand.offset,
              'a NEAR operand must be a word, "phrase", wildcard*, @list, or (an OR of those)',
              operand.kind === 'scope'
                ? 'put the whole NEAR inside the field: title:(a NEAR/5 b)'
                : 'split the rule: (a NEAR/5 b) AND c',
            );
          }
        }
        return;
      case 'scope':
        visit(node.child, node);
        return;
      default:
        return;
    }
  };
  visit(expr, undefined);
  if (problems.every((p) => p.severity !== 'error') && !hasPositiveText(expr)) {
    error(expr.offset, 'the rule has no word to match', 'source: and lang: only filter; add words');
  }
  return problems;
}

function isProximityOperand(e: Expr): boolean {
  if (isTerm(e) || e.kind === 'list') return true;
  return e.kind === 'or' && e.children.every(isProximityOperand);
}

function hasPositiveText(e: Expr): boolean {
  switch (e.kind) {
    case 'and':
      return e.children.some(hasPositiveText);
    case 'or':
      return e.children.every(hasPositiveText);
    case 'not':
    case 'filter':
      return false;
    case 'scope':
      return hasPositiveText(e.child);
    default:
      return true;
  }
}

/**
 * Most lists one list may expand through (`a` uses `@b`, `b` uses `@c` … each
 * counts, `a` included). Far above any real rule; it keeps a chain of lists
 * from costing time and memory out of proportion to the file.
 */
export const MAX_LIST_NESTING = 100;

/**
 * Replaces every `@list` by the OR of its terms; unknown names, and those in
 * `tooDeep` (lists that expand through more than `MAX_LIST_NESTING` lists), become problems.
 */
export function expandLists(
  expr: Expr,
  lists: ReadonlyMap<string, Term[]>,
  problems: QueryProblem[],
  tooDeep: ReadonlySet<string> = new Set(),
): Expr {
  const hints = listNameHints([...lists.keys()]);
  const expand = (node: Expr): Expr => {
    switch (node.kind) {
      case 'list': {
        if (tooDeep.has(node.name)) {
          problems.push({
            severity: 'error',
            offset: node.offset,
            message: `list @${node.name} expands through more than ${MAX_LIST_NESTING} lists`,
            hint: `lists may use lists at most ${MAX_LIST_NESTING} deep; use the words of the deeper lists directly`,
          });
          return node;
        }
        const terms = lists.get(node.name);
        if (!terms) {
          problems.push({
            severity: 'error',
            offset: node.offset,
            message: `unknown list @${node.name}`,
            hint: hints(node.name),
          });
          return node;
        }
        return { kind: 'or', offset: node.offset, children: terms, grouped: true, list: node.name };
      }
      case 'and':
      case 'or':
        return { ...node, children: node.children.map(expand) };
      case 'not':
      case 'scope':
        return { ...node, child: expand(node.child) };
      case 'near':
        return { ...node, left: expand(node.left), right: expand(node.right) };
      default:
        return node;
    }
  };
  return expand(expr);
}

/** Unknown names per file that are compared with every known name for a "did you mean". */
const MAX_SUGGESTIONS = 20;
/** Longest name compared letter by letter. */
const MAX_COMPARED_NAME_LENGTH = 64;
/** Names a hint lists when none is close. */
const MAX_LISTED_NAMES = 10;

/**
 * Hints for unknown list names against `known`: the closest name for the
 * first `MAX_SUGGESTIONS`, then only a short list, so that a file naming
 * thousands of unknown lists costs time in proportion to its length.
 */
export function listNameHints(known: readonly string[]): (name: string) => string {
  let left = MAX_SUGGESTIONS;
  return (name) => (left-- > 0 ? suggestName(name, known) : knownNamesHint(known));
}

/** A "did you mean" hint from the closest known name, or some of the names. */
export function suggestName(name: string, known: readonly string[]): string {
  if (known.length === 0) return 'define lists under lists: at the top of the file';
  const bound = Math.max(2, Math.floor(name.length / 3));
  let best = '';
  let bestDistance = Number.POSITIVE_INFINITY;
  if (name.length <= MAX_COMPARED_NAME_LENGTH) {
    for (const candidate of known) {
      // The length difference alone puts a candidate out of reach; skip the table.
      if (Math.abs(candidate.length - name.length) > bound) continue;
      const d = editDistance(name, candidate);
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
  }
  if (bestDistance <= bound) return `did you mean @${best}?`;
  return knownNamesHint(known);
}

function knownNamesHint(known: readonly string[]): string {
  if (known.length === 0) return 'define lists under lists: at the top of the file';
  const listed = known.slice(0, MAX_LISTED_NAMES).map((k) => `@${k}`);
  const more = known.length - listed.length;
  return `known lists: ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
