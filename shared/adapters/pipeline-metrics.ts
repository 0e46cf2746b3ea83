/**
 * The pipeline's custom CloudWatch metrics, written with Powertools Metrics
 * as embedded metric format log lines (no PutMetricData call). The namespace
 * comes from `POWERTOOLS_METRICS_NAMESPACE`, which the stack sets per stage;
 * the stack's alarms and dashboard use the names below.
 *
 * Each metric and dimension value is a billed custom metric, so per-feed
 * metrics are written only for feeds that fail: a healthy deployment of 500
 * feeds pays for none of them.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ChannelType } from '../ports.ts';

export const METRIC_NAMES = {
  /** Feeds fetched in a poll (changed or not). */
  feedsPolled: 'FeedsPolled',
  /** Feeds that failed in a poll; written on every poll, 0 included. */
  failingFeeds: 'FailingFeeds',
  /** 1 for each feed that failed, with dimension `feedId`. */
  feedFailed: 'FeedFailed',
  /** Items read from the feeds in a poll, seen before or not. */
  itemsPolled: 'ItemsPolled',
  /** Items not seen before, queued for the classifier; written on every poll, 0 included. */
  itemsNew: 'ItemsNew',
  /** Alert deliveries sent, with dimension `channel`. */
  alertsSent: 'AlertsSent',
  /** Alert deliveries that failed (to be retried) or were rejected, with dimension `channel`. */
  alertsFailed: 'AlertsFailed',
} as const;

/** Dimension names besides Powertools' `service`. */
export const METRIC_DIMENSIONS = { feed: 'feedId', channel: 'channel' } as const;

/** The figures of one poll the poller reports. */
export interface PollFigures {
  feedsPolled: number;
  feedsNotModified: number;
  itemsNew: number;
  itemsSeen: number;
  /** Ids of the feeds that failed. */
  failingFeeds: readonly string[];
}

/** The outcome of one alert's deliveries, as the notifier reports it. */
export interface DeliveryFigures {
  deliveries: ReadonlyArray<{ channel: ChannelType; outcome: string }>;
}

/**
 * Collects one invocation's figures; `publish` writes them at the end of the
 * invocation. Metrics with their own dimension (per feed, per channel) are
 * single metrics, written as soon as they are added.
 */
export class PipelineMetrics {
  private readonly metrics: Metrics;
  private readonly deliveries = new Map<ChannelType, { sent: number; failed: number }>();
  private stored = false;

  constructor(serviceName: string) {
    this.metrics = new Metrics({ serviceName });
  }

  recordPoll(figures: PollFigures): void {
    this.metrics.addMetric(
      METRIC_NAMES.feedsPolled,
      MetricUnit.Count,
      figures.feedsPolled + figures.feedsNotModified,
    );
    this.metrics.addMetric(
      METRIC_NAMES.failingFeeds,
      MetricUnit.Count,
      figures.failingFeeds.length,
    );
    this.metrics.addMetric(
      METRIC_NAMES.itemsPolled,
      MetricUnit.Count,
      figures.itemsNew + figures.itemsSeen,
    );
    this.metrics.addMetric(METRIC_NAMES.itemsNew, MetricUnit.Count, figures.itemsNew);
    this.stored = true;
    for (const feedId of figures.failingFeeds) {
      const single = this.metrics.singleMetric();
      single.addDimension(METRIC_DIMENSIONS.feed, feedId);
      single.addMetric(METRIC_NAMES.feedFailed, MetricUnit.Count, 1);
    }
  }

  recordDeliveries(figures: DeliveryFigures): void {
    for (const { channel, outcome } of figures.deliveries) {
      const counts = this.deliveries.get(channel) ?? { sent: 0, failed: 0 };
      if (outcome === 'sent') counts.sent += 1;
      if (outcome === 'failed' || outcome === 'rejected') counts.failed += 1;
      this.deliveries.set(channel, counts);
    }
  }

  /** Writes what was recorded since the last call; writes nothing when nothing was. */
  publish(): void {
    for (const [channel, counts] of this.deliveries) {
      const single = this.metrics.singleMetric();
      single.addDimension(METRIC_DIMENSIONS.channel, channel);
      single.addMetric(METRIC_NAMES.alertsSent, MetricUnit.Count, counts.sent);
      single.addMetric(METRIC_NAMES.alertsFailed, MetricUnit.Count, counts.failed);
    }
    this.deliveries.clear();
    if (this.stored) this.metrics.publishStoredMetrics();
    this.stored = false;
  }
}
