/**
 * In-memory feed-state and seen-items stores for the poller's tests: the
 * ports' contracts without DynamoDB, with counters a test can read.
 */
import type { FeedState, FeedStateStore, SeenItemsStore } from '../../shared/ports.ts';

export class MemoryFeedStates implements FeedStateStore {
  readonly states = new Map<string, FeedState>();
  putManyCalls = 0;
  async get(feedId: string) {
    return this.states.get(feedId);
  }
  async put(state: FeedState) {
    this.states.set(state.feedId, structuredClone(state));
  }
  async putMany(states: FeedState[]) {
    if (states.length > 0) this.putManyCalls++;
    for (const s of states) this.states.set(s.feedId, structuredClone(s));
  }
  async list() {
    return [...this.states.values()].map((s) => structuredClone(s));
  }
}

export class MemorySeenItems implements SeenItemsStore {
  readonly seen = new Set<string>();
  async markSeen(feedId: string, itemId: string) {
    const key = `${feedId} ${itemId}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }
  /** Every key looked up, in order. */
  readonly lookedUp: string[] = [];
  async whichSeen(feedId: string, keys: readonly string[]) {
    this.lookedUp.push(...keys);
    return new Set(keys.filter((key) => this.seen.has(`${feedId} ${key}`)));
  }
  async markSeenMany(feedId: string, keys: readonly string[]) {
    for (const key of keys) this.seen.add(`${feedId} ${key}`);
  }
  async forget(feedId: string, itemId: string) {
    this.seen.delete(`${feedId} ${itemId}`);
  }
}
