/** Subscriptions held in memory, as read from the config file. */
import type { Config } from '../config/config.ts';
import type { ChannelConfig, Subscriber, SubscriptionStore } from '../ports.ts';

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

/**
 * Console and outbox channels exist only on a laptop, and a Slack channel
 * whose secret is not set cannot be reached: a deployment keeps the others.
 */
export function deployedSubscribers(config: Config): Subscriber[] {
  return config.subscribers.map((s) => ({
    id: s.id,
    ...(s.name !== undefined ? { name: s.name } : {}),
    watches: s.watches,
    channels: s.channels.flatMap((c): ChannelConfig[] => {
      if (c.type === 'email') return [c];
      if (c.type === 'slack' && c.webhookUrl) return [{ type: 'slack', webhookUrl: c.webhookUrl }];
      return [];
    }),
  }));
}
