/**
 * Subscriptions as the config says, minus what subscribers stopped themselves
 * with an unsubscribe link. The classifier and notifier read subscriptions
 * through it, so an unsubscribed watch produces no new alert and its queued
 * alerts are dropped.
 */
import {
  type Clock,
  type Subscriber,
  type SubscriptionStore,
  systemClock,
  type UnsubscribeStore,
} from '../ports.ts';
import { ALL_WATCHES } from './unsubscribe.ts';

/** Options of `UnsubscribeFilteredSubscriptionStore`. */
export interface UnsubscribeFilterOptions {
  /**
   * How long a subscriber's unsubscriptions are used before they are read
   * again (default 60 s): an unsubscription takes effect within this time.
   * 0 reads them on every call.
   */
  cacheMs?: number;
  clock?: Clock;
}

const DEFAULT_CACHE_MS = 60_000;

/**
 * Wraps a `SubscriptionStore`: `get` returns the subscriber with its
 * unsubscribed watches removed (`watches: []` after "all alerts"), and
 * `subscribersOf` leaves out every subscriber who stopped that watch.
 * Subscribers are copied, never changed in place.
 */
export class UnsubscribeFilteredSubscriptionStore implements SubscriptionStore {
  private readonly cacheMs: number;
  private readonly clock: Clock;
  private readonly cache = new Map<string, { watchIds: Set<string>; readAt: number }>();
  private readonly inFlight = new Map<string, Promise<Set<string>>>();

  constructor(
    private readonly subscriptions: SubscriptionStore,
    private readonly unsubscribes: UnsubscribeStore,
    options: UnsubscribeFilterOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    this.clock = options.clock ?? systemClock;
  }

  async subscribersOf(watchId: string): Promise<Subscriber[]> {
    const subscribers = await this.subscriptions.subscribersOf(watchId);
    const filtered = await Promise.all(subscribers.map((s) => this.withoutUnsubscribed(s)));
    return filtered.filter((s) => s.watches.includes(watchId));
  }

  async get(subscriberId: string): Promise<Subscriber | undefined> {
    const subscriber = await this.subscriptions.get(subscriberId);
    return subscriber && this.withoutUnsubscribed(subscriber);
  }

  private async withoutUnsubscribed(subscriber: Subscriber): Promise<Subscriber> {
    const stopped = await this.unsubscribedFrom(subscriber.id);
    if (stopped.size === 0) return subscriber;
    const watches = stopped.has(ALL_WATCHES)
      ? []
      : subscriber.watches.filter((watchId) => !stopped.has(watchId));
    return { ...subscriber, watches };
  }

  /** The subscriber's unsubscriptions, cached; concurrent reads of one subscriber share a request. */
  private unsubscribedFrom(subscriberId: string): Promise<Set<string>> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(subscriberId);
    if (cached && now - cached.readAt < this.cacheMs) return Promise.resolve(cached.watchIds);
    let pending = this.inFlight.get(subscriberId);
    if (!pending) {
      pending = this.unsubscribes
        .unsubscribedFrom(subscriberId)
        .then((watchIds) => {
          if (this.cacheMs > 0) this.cache.set(subscriberId, { watchIds, readAt: now });
          return watchIds;
        })
        .finally(() => this.inFlight.delete(subscriberId));
      this.inFlight.set(subscriberId, pending);
    }
    return pending;
  }
}
