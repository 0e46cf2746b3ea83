/** The report of a rehearsal: its shape, and the text `wirewatch rehearse` prints. */

export interface CycleFigures {
  emails: number;
  slackPosts: number;
  invocations: Record<string, { ok: number; failed: number }>;
}

export interface RehearsalReport {
  assembly: string;
  stacks: string[];
  /** What was made from the templates: tables (keys, indexes, TTL) and queues (timeouts, redrive). */
  resources: string[];
  deliveries: { email: number; slack: number };
  cycles: CycleFigures[];
  unsubscribe?: { link: string; get: number; post: number; recorded: number };
  /** Slack posts refused with 503 (the outage), then delivered on a retry. */
  slackOutage: { refused: number; duplicates: number };
  emailDuplicates: number;
  /** The poison message put on each consumed queue, and what became of it. */
  poison: Array<{ queue: string; consumer: string; reason: string; receives: number }>;
  failedInvocations: Array<{ function: string; source: string; error: string }>;
  deadLetters: Array<{ queue: string; body: string; reason: string }>;
  calls: Array<{
    caller: string;
    action: string;
    resource: string;
    allowed: number;
    denied: number;
    message?: string;
  }>;
  unusedGrants: Array<{ role: string; action: string; resource: string; statement: string }>;
  coldStartsMs: Record<string, number>;
  queueTimeSkippedSeconds: number;
  problems: string[];
}

/** The report as text, for the terminal. */
export function formatReport(report: RehearsalReport): string {
  const lines: string[] = [];
  lines.push(`rehearsal of ${report.stacks.join(' + ')} (${report.assembly})`);
  for (const resource of report.resources) lines.push(`  ${resource}`);
  report.cycles.forEach((cycle, i) => {
    const invocations = Object.entries(cycle.invocations)
      .map(([name, n]) => `${name} ${n.ok}${n.failed ? ` (+${n.failed} failed)` : ''}`)
      .join(', ');
    lines.push(
      `  cycle ${i + 1}: ${cycle.emails} email(s) through SES, ${cycle.slackPosts} Slack post(s); invocations: ${invocations}`,
    );
  });
  if (report.unsubscribe) {
    lines.push(
      `  unsubscribe: GET ${report.unsubscribe.get}, one-click POST ${report.unsubscribe.post}, ${report.unsubscribe.recorded} recorded`,
    );
  }
  lines.push(
    `  Slack outage: ${report.slackOutage.refused} post(s) refused with 503 and retried; duplicates: ${report.slackOutage.duplicates} Slack, ${report.emailDuplicates} email`,
  );
  for (const poison of report.poison) {
    lines.push(
      `  poison message on ${poison.queue}: ${poison.reason ? `dead-lettered by ${poison.consumer} (${poison.reason})` : 'NOT dead-lettered'}`,
    );
  }
  lines.push(
    `  cold starts (ms): ${Object.entries(report.coldStartsMs)
      .map(([n, ms]) => `${n} ${ms}`)
      .join(', ')}`,
  );
  if (report.queueTimeSkippedSeconds > 0) {
    lines.push(
      `  queue clock moved ahead ${report.queueTimeSkippedSeconds} s to wait out visibility timeouts`,
    );
  }
  lines.push('', 'calls (caller, action, resource: allowed / denied)');
  for (const call of report.calls) {
    lines.push(
      `  ${call.denied > 0 ? 'DENIED ' : '       '}${call.caller}  ${call.action}  ${call.resource}  ${call.allowed} / ${call.denied}`,
    );
    if (call.message) lines.push(`           ${call.message}`);
  }
  lines.push('', `grants no call used (${report.unusedGrants.length})`);
  for (const grant of report.unusedGrants)
    lines.push(`  ${grant.role}  ${grant.action}  ${grant.resource}`);
  lines.push('', `dead letters (${report.deadLetters.length})`);
  for (const letter of report.deadLetters) lines.push(`  ${letter.queue}: ${letter.reason}`);
  if (report.failedInvocations.length > 0) {
    lines.push('', `failed invocations (${report.failedInvocations.length})`);
    for (const failure of report.failedInvocations.slice(0, 20))
      lines.push(`  ${failure.function} (${failure.source}): ${failure.error}`);
  }
  lines.push('');
  lines.push(
    report.problems.length === 0
      ? 'rehearsal passed'
      : `rehearsal FAILED: ${report.problems.join('; ')}`,
  );
  return lines.join('\n');
}
