/** A watch: one analyst rule, parsed and with its lists expanded. */
import type { Expr } from './ast.ts';

export const SEVERITIES = ['low', 'normal', 'high', 'critical'] as const;
export type WatchSeverity = (typeof SEVERITIES)[number];

/** Orders severities: `low` 0 … `critical` 3. */
export function severityRank(severity: string): number {
  return SEVERITIES.indexOf(severity as WatchSeverity);
}

export interface Watch {
  /** Stable kebab-case id; alerts and subscriptions refer to it. */
  id: string;
  name: string;
  /** The query as written. */
  query: string;
  description?: string;
  severity: WatchSeverity;
  /**
   * Alert again, labelled as an update, when a later report of a story
   * already alerted brings substantially new facts. Otherwise later reports
   * are only "also reported by" follow-ups.
   */
  updates: boolean;
  /** Feed ids the watch is limited to; all feeds when absent. */
  sources?: string[];
  /** Language the watch is limited to; items of unknown language still pass. */
  lang?: string;
  /** The parsed query with lists expanded. */
  expr: Expr;
}
