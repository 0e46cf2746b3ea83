/**
 * The subscriptions of a deployment: those of its config file, rebuilt when
 * the config changes (a Slack webhook secret set or rotated), so that the
 * notifier always sends to the current webhook URL without a redeploy.
 */
import type { Config } from '../config/config.ts';
import type { Subscriber, SubscriptionStore } from '../ports.ts';
import { deployedSubscribers, StaticSubscriptionStore } from './subscriptions.ts';

/** Where the current config comes from, e.g. a `SecretConfigSource`. */
export interface ConfigSource {
  current(): Promise<Config>;
}

export class ConfigSubscriptionStore implements SubscriptionStore {
  private built: { config: Config; store: StaticSubscriptionStore } | undefined;

  constructor(private readonly source: ConfigSource) {}

  async subscribersOf(watchId: string): Promise<Subscriber[]> {
    return (await this.store()).subscribersOf(watchId);
  }

  async get(subscriberId: string): Promise<Subscriber | undefined> {
    return (await this.store()).get(subscriberId);
  }

  private async store(): Promise<StaticSubscriptionStore> {
    const config = await this.source.current();
    if (this.built?.config !== config) {
      this.built = { config, store: new StaticSubscriptionStore(deployedSubscribers(config)) };
    }
    return this.built.store;
  }
}
