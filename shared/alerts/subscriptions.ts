/** Subscriptions held in memory, as read from the config file. */
import {
  type Config,
  channelOf,
  type ResolvedChannel,
  type SubscriberConfig,
} from '../config/config.ts';
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

/** A subscriber of the config with its channels; `fallback` decides what a channel without its secret becomes. */
export function subscriberOf(
  s: SubscriberConfig,
  fallback: (channel: ResolvedChannel) => ChannelConfig | undefined,
): Subscriber {
  const { channels, ...settings } = s;
  return {
    ...settings,
    channels: channels.flatMap((c) => {
      const channel = channelOf(c) ?? fallback(c);
      return channel ? [channel] : [];
    }),
  };
}

/**
 * Console and outbox channels exist only on a laptop, and a Slack channel
 * whose secret is not set cannot be reached: a deployment keeps the others.
 */
export function deployedSubscribers(config: Config): Subscriber[] {
  return config.subscribers.map((s) => {
    const subscriber = subscriberOf(s, () => undefined);
    return {
      ...subscriber,
      channels: subscriber.channels.filter((c) => c.type === 'email' || c.type === 'slack'),
    };
  });
}
