/**
 * The pipeline's custom CloudWatch metrics, written with Powertools Metrics
 * as embedded metric format log lines (no PutMetricData call). The namespace
 * comes from `POWERTOOLS_METRICS_NAMESPACE`, which the stack sets per stage;
 * the stack's alarms and dashboard use the names below.
 *
 * Every metric name × dimension values is a custom metric billed by the month
 * ($0.30 at list, the first 10 of the account free), so only the figures AWS
 * does not already publish for free are written: new items are the items
 * queue's `NumberOfMessagesSent`, matches its alerts queue's, function errors
 * and throttles Lambda's own, failed deliveries the alerts queue's received
 * minus deleted messages and its dead letters. What remains is
 * {@link CUSTOM_METRIC_COUNT} metrics, whatever the number of feeds; a failing
 * feed's id is in the poller's "feed unhealthy" log line, not in a metric.
 * Billing is prorated by the hours a metric is written in, so a metric
 * written only when something goes wrong (`RecordsFailed`) costs next to
 * nothing while all is well.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ChannelType } from '../ports.ts';

export const METRIC_NAMES = {
  /** Feeds that failed in a poll; written on every poll, 0 included. */
  failingFeeds: 'FailingFeeds',
  /** Items read from the feeds in a poll, seen before or not. */
  itemsPolled: 'ItemsPolled',
  /** Alert deliveries sent, with dimension `channel`. */
  alertsSent: 'AlertsSent',
  /**
   * Records of an SQS batch the consumer reported failed (partial batch
   * response), to be retried; written only by an invocation with failures.
   */
  recordsFailed: 'RecordsFailed',
} as const;

/** Dimension names besides Powertools' `service`. */
export const METRIC_DIMENSIONS = { channel: 'channel' } as const;

/** The channels a deployment sends to; each is one `AlertsSent` metric. */
export const DEPLOYED_CHANNELS = ['slack', 'email'] as const satisfies readonly ChannelType[];

/**
 * The billed custom metrics a deployment writes: `FailingFeeds` and
 * `ItemsPolled` (service poller), `AlertsSent` per deployed channel (service
 * notifier), `RecordsFailed` (service classifier, only in an hour with
 * failures).
 */
export const CUSTOM_METRIC_COUNT = 2 + DEPLOYED_CHANNELS.length + 1;

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
 * invocation. Per-channel counts are single metrics with their own dimension.
 */
export class PipelineMetrics {
  private readonly metrics: Metrics;
  private readonly sent = new Map<ChannelType, number>();
  private stored = false;

  constructor(serviceName: string) {
    this.metrics = new Metrics({ serviceName });
  }

  recordPoll(figures: PollFigures): void {
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
    this.stored = true;
  }

  /** Counts the sent deliveries; failed ones show in the alerts queue's own metrics. */
  recordDeliveries(figures: DeliveryFigures): void {
    for (const { channel, outcome } of figures.deliveries) {
      if (outcome === 'sent') this.sent.set(channel, (this.sent.get(channel) ?? 0) + 1);
    }
  }

  /**
   * Counts the records of a batch reported failed; a batch with none writes
   * nothing, so the metric is billed only in the hours something failed.
   */
  recordFailedRecords(count: number): void {
    if (count === 0) return;
    this.metrics.addMetric(METRIC_NAMES.recordsFailed, MetricUnit.Count, count);
    this.stored = true;
  }

  /** Writes what was recorded since the last call; writes nothing when nothing was. */
  publish(): void {
    for (const [channel, count] of this.sent) {
      const single = this.metrics.singleMetric();
      single.addDimension(METRIC_DIMENSIONS.channel, channel);
      single.addMetric(METRIC_NAMES.alertsSent, MetricUnit.Count, count);
    }
    this.sent.clear();
    if (this.stored) this.metrics.publishStoredMetrics();
    this.stored = false;
  }
}
