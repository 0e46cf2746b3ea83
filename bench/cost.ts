/**
 * `npm run bench -- cost [--feeds 500] [--poll-minutes 5] [--items-per-day 5000]
 *   [--watches 50] [--subscribers 100] [--watches-per-subscriber 5]
 *   [--match-rate 0.02] [--alerts-per-match 1|measured] [--email-share 0.5]
 *   [--digest-share 0] [--fetch-ms 150]`
 *
 * Monthly AWS cost estimate for a deployment at a given scale. The request
 * counts per operation (DynamoDB write/read units per new item, per unchanged
 * poll and per alert; queue messages per item; CPU time per poll and per item)
 * are measured by running the embedded pipeline on a small sample; the day is
 * then scaled up and priced with the public AWS prices below. Prints one JSON
 * line on stdout and a table on stderr: `usd_per_month` at list prices with no
 * free tier, and `usd_per_month_after_free_tier` less AWS's always-free
 * allowances (`ALWAYS_FREE`), assuming this deployment is the only user of
 * them in the account.
 *
 * Traffic assumptions, all options: `--match-rate` is the (item, watch)
 * matches per new item; each match goes to `subscribers ×
 * watches-per-subscriber / watches` subscribers; `--alerts-per-match` is the
 * share of matches that are a new story to alert (story dedup folds the rest
 * into "also reported by"): 1 by default, i.e. no saving from dedup assumed;
 * `measured` takes the embedded run's alerts queued per match, but the bench's
 * synthetic feeds repeat five headlines across outlets, so dedup folds more of
 * them than of real news: a lower bound, not an estimate.
 * `--email-share` of subscribers read alerts by email (the rest in Slack, which
 * costs nothing per message); `--digest-share` of those get one digest email a
 * day instead of one email per alert. Both defaults (0.5 and 0) are
 * assumptions, not measurements: 0 digests means no saving from digests.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalStack } from '../cli/local/local-stack.ts';
import { countDynamoRequests } from '../shared/adapters/dynamodb.ts';
import { CUSTOM_METRIC_COUNT } from '../shared/adapters/pipeline-metrics.ts';
import { parseConfig } from '../shared/config/config.ts';
import { silentLogger } from '../shared/ports.ts';
import { feedXml, prng } from './pipeline.ts';

/**
 * AWS list prices, us-east-1, USD, as published on aws.amazon.com/pricing in
 * 2025 (written down on 2026-11-27 from those pages; re-check before quoting).
 */
const PRICES = {
  date: '2025 list prices, us-east-1 (recorded 2026-11-27)',
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  dynamoStorageGbMonth: 0.25,
  dynamoPitrGbMonth: 0.2,
  sqsRequest: 0.4 / 1e6,
  schedulerInvocation: 1.0 / 1e6,
  cloudwatchAlarm: 0.1,
  cloudwatchCustomMetric: 0.3,
  cloudwatchDashboard: 3.0,
  logsIngestGb: 0.5,
  secretMonth: 0.4,
  secretsApiCall: 0.05 / 10_000,
  sesEmail: 0.1 / 1000,
};

/**
 * AWS's always-free allowances, per account and month: the offers that do not
 * expire after 12 months, as listed on aws.amazon.com/free and each service's
 * pricing page in 2025 (recorded 2026-11-27; re-check before quoting). Not
 * free: SES (only a 12-month offer for new accounts), Secrets Manager (a
 * 30-day trial), DynamoDB on-demand requests (the 25 WCU/RCU are provisioned
 * capacity) and point-in-time recovery, EventBridge Scheduler (not counted,
 * to stay conservative).
 */
const ALWAYS_FREE = {
  date: 'always-free offers, aws.amazon.com/free, 2025 (recorded 2026-11-27)',
  /** Lambda: 1M requests and 400,000 GB-s a month, x86 and Arm alike. */
  lambdaRequests: 1_000_000,
  lambdaGbSeconds: 400_000,
  /** SQS: 1M requests a month (standard and FIFO together). */
  sqsRequests: 1_000_000,
  /** CloudWatch: 10 custom metrics, 10 standard-resolution alarm metrics, 3 dashboards of up to 50 metrics. */
  customMetrics: 10,
  alarmMetrics: 10,
  dashboards: 3,
  dashboardMetrics: 50,
  /** CloudWatch Logs: 5 GB a month of ingestion, storage and Logs Insights scans together. */
  logsGb: 5,
  /** DynamoDB: 25 GB of table storage (not backups or PITR). */
  dynamoStorageGb: 25,
};

/** What the stacks deploy that costs by the month, whatever the traffic (see infra/stacks/service-stack.ts). */
const FIXED = {
  /**
   * One metric each, no metric math (an alarm is billed per metric in it):
   * dead letters of the items and of the alerts queue (2), Errors of the
   * poller, classifier and notifier (3), their Throttles (3), failing feeds
   * (1), no new item on the items queue for the stage's period (1).
   */
  alarms: 10,
  /**
   * `CUSTOM_METRIC_COUNT` of shared/adapters/pipeline-metrics.ts, whatever the
   * number of feeds: FailingFeeds and ItemsPolled (poller), AlertsSent for
   * slack and for email (notifier). New items, matches (alerts queued), failed
   * deliveries, dead letters, errors and throttles are AWS's free SQS and
   * Lambda metrics; there is no log metric filter.
   */
  customMetrics: CUSTOM_METRIC_COUNT,
  /**
   * One dashboard of 21 metrics and expressions (test/infra checks it stays
   * within 50): $3 at list, free as one of the account's first three. Its
   * Logs Insights widget scans the poller log when viewed ($0.005/GB, within
   * the 5 GB free; not modelled).
   */
  dashboards: 1,
  /** One per stage, holding every `env:NAME` of the config as JSON. */
  secrets: 1,
};

/** Lambda memory (MB) per function, as the service stack configures them. */
const MEMORY_MB = { poller: 512, classifier: 1024, notifier: 256 };

const DAYS_PER_MONTH = 30;
/** Lambda's SQS event source keeps about 5 long polls (20 s) open per queue, billed as requests. */
const IDLE_SQS_RECEIVES_PER_MONTH = 5 * 3 * 60 * 24 * DAYS_PER_MONTH;

interface Sample {
  newItems: number;
  /** (item, watch) matches of the backfill. */
  matches: number;
  /** Alerts the classifier queued for them, after story dedup. */
  alertsQueued: number;
  /** Deliveries the notifier sent. */
  alerts: number;
  /** Per new item, including its alerts' ledger writes. */
  writeUnitsPerItem: number;
  readUnitsPerItem: number;
  writeUnitsPerAlert: number;
  writeUnitsPerUnchangedPoll: number;
  readUnitsPerUnchangedPoll: number;
  cpuMsPerUnchangedPoll: number;
  cpuMsPerItem: number;
}

async function measure(): Promise<Sample> {
  const feedCount = 40;
  const itemsPerFeed = 25;
  const dir = await mkdtemp(join(tmpdir(), 'wirewatch-cost-'));
  try {
    const feedsDir = join(dir, 'feeds');
    await mkdir(feedsDir);
    const random = prng(7);
    // Busy wire feeds: an item every few minutes, so each is due every run, as at the modelled scale.
    const now = Date.now();
    const recent = (i: number): string => new Date(now - i * 180_000).toUTCString();
    for (let f = 0; f < feedCount; f++) {
      await writeFile(join(feedsDir, `feed-${f}.xml`), feedXml(f, itemsPerFeed, random, recent));
    }
    const configPath = join(dir, 'wirewatch.yaml');
    const text = [
      `watches: ${JSON.stringify(join(process.cwd(), 'samples/watches.yaml'))}`,
      'localFeeds: { dir: feeds }',
      'allowPrivateNetworks: true',
      'feeds:',
      ...Array.from(
        { length: feedCount },
        (_, f) => `  - { id: feed-${f}, url: "local:feed-${f}.xml" }`,
      ),
      'subscribers:',
      '  - id: analyst',
      '    watches: [dprk-deployment, patriot-transfer, russia-dprk-diplomacy, sanctions-evasion, taiwan-arms]',
      '    channels: [{ type: outbox }]',
    ].join('\n');
    await writeFile(configPath, text);
    const stack = await LocalStack.start(parseConfig(text, configPath, {}), {
      dataDir: join(dir, 'data'),
      logger: silentLogger,
    });
    try {
      const counter = countDynamoRequests(stack.dynamo.documentClient);
      let cpu = process.cpuUsage();
      const backfill = await stack.runCycle({ all: true, scheduleSeconds: 300 });
      const backfillCpu = process.cpuUsage(cpu);
      const backfillWrites = counter.writeUnits;
      const backfillReads = counter.readUnits;
      const alerts = Object.values(backfill.sent).reduce((a, b) => a + (b ?? 0), 0);

      counter.reset();
      cpu = process.cpuUsage();
      // The deployed poller runs every 5 minutes, the feeds' interval: as there.
      await stack.runCycle({ all: true, scheduleSeconds: 300 });
      const unchangedCpu = process.cpuUsage(cpu);
      const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
      return {
        newItems: backfill.itemsNew,
        matches: backfill.matches,
        alertsQueued: backfill.alertsQueued,
        alerts,
        writeUnitsPerItem: (backfillWrites - alerts * 2) / backfill.itemsNew,
        readUnitsPerItem: backfillReads / backfill.itemsNew,
        writeUnitsPerAlert: 2,
        writeUnitsPerUnchangedPoll: counter.writeUnits / feedCount,
        readUnitsPerUnchangedPoll: counter.readUnits / feedCount,
        cpuMsPerUnchangedPoll: cpuMs(unchangedCpu) / feedCount,
        cpuMsPerItem: cpuMs(backfillCpu) / backfill.itemsNew,
      };
    } finally {
      await stack.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      feeds: { type: 'string', default: '500' },
      'poll-minutes': { type: 'string', default: '5' },
      'items-per-day': { type: 'string', default: '5000' },
      watches: { type: 'string', default: '50' },
      subscribers: { type: 'string', default: '100' },
      'match-rate': { type: 'string', default: '0.02' },
      'alerts-per-match': { type: 'string', default: '1' },
      'email-share': { type: 'string', default: '0.5' },
      'digest-share': { type: 'string', default: '0' },
      'fetch-ms': { type: 'string', default: '150' },
      'watches-per-subscriber': { type: 'string', default: '5' },
    },
  });
  const share = (name: 'email-share' | 'digest-share'): number => {
    const value = Number(values[name]);
    if (!(value >= 0 && value <= 1)) throw new Error(`--${name} must be between 0 and 1`);
    return value;
  };
  const feeds = Number(values.feeds);
  const subscribers = Number(values.subscribers);
  const pollsPerDay = (24 * 60) / Number(values['poll-minutes']);
  const itemsPerDay = Number(values['items-per-day']);
  const subscribersPerWatch =
    (subscribers * Number(values['watches-per-subscriber'])) / Number(values.watches);
  const emailShare = share('email-share');
  const digestShare = share('digest-share');
  const fetchMs = Number(values['fetch-ms']);

  const sample = await measure();
  const measuredAlertsPerMatch =
    sample.matches > 0 ? sample.alertsQueued / sample.matches : undefined;
  if (values['alerts-per-match'] === 'measured' && measuredAlertsPerMatch === undefined) {
    throw new Error('--alerts-per-match measured: the embedded run matched no item');
  }
  const alertsPerMatch =
    values['alerts-per-match'] === 'measured'
      ? (measuredAlertsPerMatch ?? 1)
      : Number(values['alerts-per-match']);
  process.stderr.write(
    `measured on ${sample.newItems} new items: ${sample.writeUnitsPerItem.toFixed(2)} WRU and ` +
      `${sample.readUnitsPerItem.toFixed(3)} RRU per item, ${sample.writeUnitsPerUnchangedPoll.toFixed(2)} WRU and ` +
      `${sample.readUnitsPerUnchangedPoll.toFixed(3)} RRU per unchanged poll, ` +
      `${sample.cpuMsPerUnchangedPoll.toFixed(2)} ms CPU per unchanged poll, ${sample.cpuMsPerItem.toFixed(2)} ms CPU per item, ` +
      `${sample.alertsQueued} alerts queued for ${sample.matches} matches ` +
      `(${measuredAlertsPerMatch?.toFixed(2) ?? 'n/a'} per match on synthetic feeds; used only with --alerts-per-match measured)\n`,
  );

  // Alerts are (subscriber, story) pairs; each subscriber reads them on one channel.
  const alertsPerDay =
    itemsPerDay * Number(values['match-rate']) * subscribersPerWatch * alertsPerMatch;
  const emailAlertsPerDay = alertsPerDay * emailShare;
  // Immediate email subscribers get one email per alert, digest ones one email a day.
  const emailsPerDay =
    emailAlertsPerDay * (1 - digestShare) + subscribers * emailShare * digestShare;

  const polls = pollsPerDay * feeds * DAYS_PER_MONTH;
  const items = itemsPerDay * DAYS_PER_MONTH;
  const alerts = alertsPerDay * DAYS_PER_MONTH;
  const emails = emailsPerDay * DAYS_PER_MONTH;
  const runs = pollsPerDay * DAYS_PER_MONTH;

  // The poller waits on the network most of the time: 16 fetches in flight.
  const pollerSeconds =
    (runs * (feeds * fetchMs)) / 16 / 1000 + (polls * sample.cpuMsPerUnchangedPoll) / 1000;
  const classifierSeconds = (items * sample.cpuMsPerItem) / 2 / 1000 + (items / 10) * 0.05;
  const notifierSeconds = alerts * 0.3;
  const gbSeconds =
    (pollerSeconds * MEMORY_MB.poller +
      classifierSeconds * MEMORY_MB.classifier +
      notifierSeconds * MEMORY_MB.notifier) /
    1024;
  const invocations = runs + items / 10 + alerts / 10;

  const writeUnits =
    polls * sample.writeUnitsPerUnchangedPoll +
    items * sample.writeUnitsPerItem +
    alerts * sample.writeUnitsPerAlert;
  const readUnits = polls * sample.readUnitsPerUnchangedPoll + items * sample.readUnitsPerItem;
  // Seen items kept 30 days, ledger records 90 days, ~300 bytes each.
  const storageGb = (items * 300 + alerts * 3 * 300) / 1e9;

  const messages = items + alerts;
  const sqsRequests = messages * 0.3 + 2 * IDLE_SQS_RECEIVES_PER_MONTH;
  const logGb = (runs * 2_000 + items * 300 + alerts * 300) / 1e9;

  const beyond = (used: number, free: number): number => Math.max(0, used - free);
  /** Each line at list price, and what is left of it after the always-free allowance. */
  const lines = {
    lambda: [
      gbSeconds * PRICES.lambdaArmGbSecond + invocations * PRICES.lambdaRequest,
      beyond(gbSeconds, ALWAYS_FREE.lambdaGbSeconds) * PRICES.lambdaArmGbSecond +
        beyond(invocations, ALWAYS_FREE.lambdaRequests) * PRICES.lambdaRequest,
    ],
    dynamodb: [
      writeUnits * PRICES.dynamoWriteUnit +
        readUnits * PRICES.dynamoReadUnit +
        storageGb * (PRICES.dynamoStorageGbMonth + PRICES.dynamoPitrGbMonth),
      writeUnits * PRICES.dynamoWriteUnit +
        readUnits * PRICES.dynamoReadUnit +
        beyond(storageGb, ALWAYS_FREE.dynamoStorageGb) * PRICES.dynamoStorageGbMonth +
        storageGb * PRICES.dynamoPitrGbMonth,
    ],
    sqs: [
      sqsRequests * PRICES.sqsRequest,
      beyond(sqsRequests, ALWAYS_FREE.sqsRequests) * PRICES.sqsRequest,
    ],
    scheduler: [runs * PRICES.schedulerInvocation, runs * PRICES.schedulerInvocation],
    cloudwatch: [
      FIXED.alarms * PRICES.cloudwatchAlarm +
        FIXED.customMetrics * PRICES.cloudwatchCustomMetric +
        FIXED.dashboards * PRICES.cloudwatchDashboard +
        logGb * PRICES.logsIngestGb,
      beyond(FIXED.alarms, ALWAYS_FREE.alarmMetrics) * PRICES.cloudwatchAlarm +
        beyond(FIXED.customMetrics, ALWAYS_FREE.customMetrics) * PRICES.cloudwatchCustomMetric +
        beyond(FIXED.dashboards, ALWAYS_FREE.dashboards) * PRICES.cloudwatchDashboard +
        beyond(logGb, ALWAYS_FREE.logsGb) * PRICES.logsIngestGb,
    ],
    secrets: [
      FIXED.secrets * PRICES.secretMonth + (invocations / 100) * PRICES.secretsApiCall,
      FIXED.secrets * PRICES.secretMonth + (invocations / 100) * PRICES.secretsApiCall,
    ],
    ses: [emails * PRICES.sesEmail, emails * PRICES.sesEmail],
  } satisfies Record<string, [number, number]>;
  const breakdown = Object.fromEntries(Object.entries(lines).map(([k, [list]]) => [k, list]));
  const breakdownAfterFreeTier = Object.fromEntries(
    Object.entries(lines).map(([k, [, afterFree]]) => [k, afterFree]),
  );
  const sum = (record: Record<string, number>): number =>
    Object.values(record).reduce((a, b) => a + b, 0);
  const total = sum(breakdown);
  const afterFreeTier = sum(breakdownAfterFreeTier);
  const round = (n: number): number => Math.round(n * 100) / 100;
  const rounded = (record: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, round(v)]));

  process.stderr.write(
    `scale: ${feeds} feeds every ${values['poll-minutes']} min (${Math.round(polls).toLocaleString()} polls/month), ` +
      `${itemsPerDay} new items/day, ${Math.round(alertsPerDay)} alerts/day, ${Math.round(emailsPerDay)} emails/day ` +
      `(email share ${emailShare}, digest share ${digestShare}); prices: ${PRICES.date}; free tier: ${ALWAYS_FREE.date}\n` +
      `fixed: ${FIXED.alarms} alarms, ${FIXED.customMetrics} custom metrics, ${FIXED.dashboards} dashboard, ${FIXED.secrets} secret\n` +
      `  ${''.padEnd(11)} ${'list'.padStart(8)} ${'free tier'.padStart(10)}\n`,
  );
  for (const [part, [list, afterFree]] of Object.entries(lines))
    process.stderr.write(
      `  ${part.padEnd(11)} ${`$${list.toFixed(3)}`.padStart(8)} ${`$${afterFree.toFixed(3)}`.padStart(10)}\n`,
    );
  process.stderr.write(
    `  total       $${total.toFixed(2)} list, $${afterFreeTier.toFixed(2)} after the always-free tier\n`,
  );
  console.log(
    JSON.stringify({
      usd_per_month: round(total),
      usd_per_month_after_free_tier: round(afterFreeTier),
      breakdown: rounded(breakdown),
      breakdown_after_free_tier: rounded(breakdownAfterFreeTier),
      fixed: {
        alarms: FIXED.alarms,
        custom_metrics: FIXED.customMetrics,
        dashboards: FIXED.dashboards,
        secrets: FIXED.secrets,
      },
      polls_per_month: Math.round(polls),
      alerts_per_match: alertsPerMatch,
      alerts_per_month: Math.round(alerts),
      emails_per_month: Math.round(emails),
      dynamodb_write_units_per_month: Math.round(writeUnits),
      lambda_gb_seconds_per_month: Math.round(gbSeconds),
      lambda_requests_per_month: Math.round(invocations),
      sqs_requests_per_month: Math.round(sqsRequests),
      log_gb_per_month: round(logGb),
    }),
  );
}
