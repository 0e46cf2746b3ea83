/**
 * The custom metrics the functions write are billed per name and dimension
 * values, and the stack's alarms and dashboard read them by name: this checks
 * the EMF lines `PipelineMetrics` writes against the count the stack and the
 * cost bench rely on.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CUSTOM_METRIC_COUNT,
  DEPLOYED_CHANNELS,
  PipelineMetrics,
} from '../../shared/adapters/pipeline-metrics.ts';

interface EmfLine {
  _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

/** Each metric of the EMF lines as `name dimension=value,...`, the way CloudWatch bills it. */
function billedMetrics(lines: EmfLine[]): string[] {
  return lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.flatMap((metric) =>
        directive.Dimensions.map(
          (set) =>
            `${metric.Name} ${set
              .map((name) => `${name}=${String(line[name])}`)
              .sort()
              .join(',')}`,
        ),
      ),
    ),
  );
}

let written: string[];

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Wirewatch/test');
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function emfLines(): EmfLine[] {
  return written
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfLine);
}

describe('the custom metrics the functions write', () => {
  it('stay at CUSTOM_METRIC_COUNT however many feeds fail, whatever the deliveries and failed records', () => {
    const poller = new PipelineMetrics('poller');
    const notifier = new PipelineMetrics('notifier');
    const classifier = new PipelineMetrics('classifier');

    for (const failing of [[], ['feed-1'], ['feed-1', 'feed-2', 'feed-3']]) {
      poller.recordPoll({
        feedsPolled: 10,
        feedsNotModified: 480,
        itemsNew: 12,
        itemsSeen: 300,
        failingFeeds: failing,
      });
      poller.publish();
    }
    notifier.recordDeliveries({
      deliveries: DEPLOYED_CHANNELS.flatMap((channel) =>
        ['sent', 'failed', 'rejected', 'already-sent'].map((outcome) => ({ channel, outcome })),
      ),
    });
    notifier.publish();
    for (const failed of [0, 1, 10]) {
      classifier.recordFailedRecords(failed);
      classifier.publish();
    }

    const distinct = [...new Set(billedMetrics(emfLines()))].sort();
    expect(distinct).toEqual([
      'AlertsSent channel=email,service=notifier',
      'AlertsSent channel=slack,service=notifier',
      'FailingFeeds service=poller',
      'ItemsPolled service=poller',
      'RecordsFailed service=classifier',
    ]);
    expect(distinct).toHaveLength(CUSTOM_METRIC_COUNT);
  });

  it('counts the items polled, the failing feeds and the sent deliveries per channel', () => {
    const poller = new PipelineMetrics('poller');
    const notifier = new PipelineMetrics('notifier');

    poller.recordPoll({
      feedsPolled: 2,
      feedsNotModified: 1,
      itemsNew: 2,
      itemsSeen: 5,
      failingFeeds: ['feed-9'],
    });
    poller.publish();
    notifier.recordDeliveries({
      deliveries: [
        { channel: 'slack', outcome: 'sent' },
        { channel: 'slack', outcome: 'sent' },
        { channel: 'email', outcome: 'failed' },
      ],
    });
    notifier.recordDeliveries({ deliveries: [{ channel: 'email', outcome: 'sent' }] });
    notifier.publish();

    const lines = emfLines();
    expect(lines.find((line) => 'ItemsPolled' in line)).toMatchObject({
      ItemsPolled: 7,
      FailingFeeds: 1,
    });
    expect(lines.filter((line) => 'AlertsSent' in line)).toEqual([
      expect.objectContaining({ channel: 'slack', AlertsSent: 2 }),
      expect.objectContaining({ channel: 'email', AlertsSent: 1 }),
    ]);
  });

  it('writes nothing for an invocation that recorded nothing', () => {
    new PipelineMetrics('notifier').publish();

    expect(emfLines()).toEqual([]);
  });

  it('counts the records a classifier batch reported failed', () => {
    const classifier = new PipelineMetrics('classifier');

    classifier.recordFailedRecords(3);
    classifier.publish();

    expect(emfLines()).toEqual([
      expect.objectContaining({ service: 'classifier', RecordsFailed: 3 }),
    ]);
  });

  it('writes no failed-records metric for a batch with no failure, so a healthy hour is not billed', () => {
    const classifier = new PipelineMetrics('classifier');

    classifier.recordFailedRecords(0);
    classifier.publish();

    expect(emfLines()).toEqual([]);
  });
});
