/**
 * Why a watch matched an item, or which required part was missing: the query
 * tree annotated with what held and where each term occurred.
 */
import type { Expr } from './ast.ts';
import { type AnalyzedItem, collectHits, evaluate, type TermHit, watchAdmits } from './matcher.ts';
import type { Watch } from './watch.ts';

export interface ExplainNode {
  /** The part of the query (`AND`, `NEAR/5`, `"north korea"`, `@dprk`, `title:`...). */
  label: string;
  holds: boolean;
  /** Occurrences in the item (terms: all of them; operators: those that made it hold). */
  hits: TermHit[];
  children: ExplainNode[];
}

export interface Explanation {
  watchId: string;
  matched: boolean;
  /** Set when the watch's `sources` or `lang` keep the item out before the query runs. */
  excludedBy?: string;
  tree: ExplainNode;
  /** Plain sentences naming what was missing or what excluded the item. */
  reasons: string[];
}

/** Explains one watch on one item. */
export function explainWatch(watch: Watch, item: AnalyzedItem): Explanation {
  const tree = explainExpr(watch.expr, item, false);
  let excludedBy: string | undefined;
  if (!watchAdmits(watch, item.input)) {
    excludedBy =
      watch.sources && !watch.sources.includes(item.input.feed ?? '')
        ? `the watch is limited to sources ${watch.sources.join(', ')} and the item is from ${item.input.feed ?? 'an unknown feed'}`
        : `the watch is limited to language ${watch.lang} and the item is in ${item.input.lang}`;
  }
  const matched = !excludedBy && tree.holds;
  const reasons = excludedBy ? [excludedBy] : matched ? [] : missingParts(tree, true);
  return { watchId: watch.id, matched, tree, reasons, ...(excludedBy ? { excludedBy } : {}) };
}

function explainExpr(e: Expr, item: AnalyzedItem, titleOnly: boolean): ExplainNode {
  const holds = evaluate(e, item, titleOnly);
  const hits = (): TermHit[] => (holds ? collectHits(e, item, titleOnly) : []);
  switch (e.kind) {
    case 'word':
    case 'phrase':
    case 'prefix':
    case 'exact':
      return { label: e.text, holds, hits: hits(), children: [] };
    case 'and':
    case 'or':
      return {
        label: e.kind === 'or' && e.list ? `@${e.list}` : e.kind.toUpperCase(),
        holds,
        hits: hits(),
        children: e.children.map((c) => explainExpr(c, item, titleOnly)),
      };
    case 'not':
      return {
        label: 'NOT',
        holds,
        hits: [],
        children: [explainExpr(e.child, item, titleOnly)],
      };
    case 'near':
      return {
        label: `${e.ordered ? 'ONEAR' : 'NEAR'}/${e.distance}`,
        holds,
        hits: hits(),
        children: [explainExpr(e.left, item, titleOnly), explainExpr(e.right, item, titleOnly)],
      };
    case 'scope':
      return { label: 'title:', holds, hits: hits(), children: [explainExpr(e.child, item, true)] };
    case 'filter':
      return { label: `${e.on}:${e.value}`, holds, hits: [], children: [] };
    case 'list':
      return { label: `@${e.name}`, holds, hits: [], children: [] };
  }
}

/** Sentences for the parts that kept a node from holding (`wanted` is false under NOT). */
function missingParts(node: ExplainNode, wanted: boolean): string[] {
  if (node.holds === wanted) return [];
  if (node.label === 'NOT') {
    const [child] = node.children;
    return child ? missingParts(child, !wanted) : [];
  }
  if (!wanted) {
    const where = node.hits.map((h) => `${h.field} ${h.start}-${h.end}`).join(', ');
    return [`excluded: ${node.label} occurs (${where || 'in the item'})`];
  }
  if (node.label === 'AND') return node.children.flatMap((c) => missingParts(c, true));
  if (node.label === 'title:')
    return node.children.flatMap((c) => missingParts(c, true).map((r) => `${r} in the title`));
  if (node.label.startsWith('NEAR/') || node.label.startsWith('ONEAR/')) {
    const parts = node.children.flatMap((c) => missingParts(c, true));
    return parts.length > 0
      ? parts
      : [
          `${node.children.map((c) => c.label).join(` ${node.label} `)}: both occur, but not close enough`,
        ];
  }
  if (node.children.length > 0 && node.label === 'OR') {
    return [`missing: none of ${node.children.map((c) => c.label).join(' | ')}`];
  }
  return [`missing: ${node.label}`];
}
