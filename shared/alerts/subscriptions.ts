/** Subscriptions held in memory, as read from the config file. */
import type { Subscriber, SubscriptionStore } from '../ports.ts';

export class StaticSubscriptionStore implements SubscriptionStore {
  private readonly byId: Map<string, Subscriber>;
  private readonly byWatch = new Map<string, Subscriber[]>();

  constructor(subscribers: readonly Subscriber[]) {
    this.byId = new Map(subscribers.map((s) => [s.id, s]));
    for (const s of subscribers) {
      for (const watchId of s.watches) {
        const list = this.byWatch.get(watchId) ?? [];
        list.push(s);
        this.byWatch.set(watchId, list);
      }
    }
  }

  async subscribersOf(watchId: string): Promise<Subscriber[]> {
    return this.byWatch.get(watchId) ?? [];
  }

  async get(subscriberId: string): Promise<Subscriber | undefined> {
    return this.byId.get(subscriberId);
  }
}
