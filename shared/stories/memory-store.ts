/**
 * `StoryStore` in memory: records by key, read back within the time window.
 * For the bench's threshold search, which runs a corpus many times over; the
 * pipeline and its tests use `DynamoStoryStore`.
 */
import type { StoryClaim, StoryReport, StoryStore } from '../ports.ts';

export class MemoryStoryStore implements StoryStore {
  private readonly byKey = new Map<string, StoryReport[]>();
  private readonly claims = new Map<string, StoryReport>();

  async findFirstReports(keys: readonly string[], from: Date, to: Date): Promise<StoryReport[]> {
    const found = new Map<string, StoryReport>();
    for (const key of new Set(keys)) {
      for (const report of this.byKey.get(key) ?? []) {
        const at = Date.parse(report.publishedAt);
        if (at >= from.getTime() && at <= to.getTime()) found.set(report.reportId, report);
      }
    }
    return [...found.values()];
  }

  async recordFirstReport(report: StoryReport, keys: readonly string[]): Promise<void> {
    for (const key of new Set(keys)) {
      const reports = this.byKey.get(key) ?? [];
      if (!reports.some((known) => known.reportId === report.reportId)) reports.push(report);
      this.byKey.set(key, reports);
    }
  }

  async claimStory(
    key: string,
    report: StoryReport,
    _expiresAt: Date,
    replacing?: StoryReport,
  ): Promise<StoryClaim> {
    const holder = this.claims.get(key);
    if (!holder || holder.reportId === report.reportId || holder.reportId === replacing?.reportId) {
      this.claims.set(key, report);
      return { won: true };
    }
    return { won: false, holder };
  }
}
