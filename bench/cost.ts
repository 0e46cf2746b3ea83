/**
 * `npm run bench -- cost [--feeds 500] [--poll-minutes 5] [--items-per-day 5000]
 *   [--watches 50] [--subscribers 100] [--match-rate 0.02] [--fetch-ms 150]`
 *
 * Monthly AWS cost estimate for a deployment at a given scale. The request
 * counts per operation (DynamoDB write/read units per new item, per unchanged
 * poll and per alert; queue messages per item; CPU time per poll and per item)
 * are measured by running the embedded pipeline on a small sample; the day is
 * then scaled up and priced with the public AWS prices below. Prints one JSON
 * line on stdout and a table on stderr.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalStack } from '../cli/local/local-stack.ts';
import { countDynamoRequests } from '../shared/adapters/dynamodb.ts';
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

/** What the stacks deploy that costs by the month, whatever the traffic (see infra/). */
const FIXED = {
  /** Dead letters ×2, errors and throttles ×3 functions, failing feeds, no new items. */
  alarms: 10,
  /** FeedsPolled, FailingFeeds, ItemsPolled, ItemsNew, ItemsMatched, AlertsSent and AlertsFailed for email and Slack; each failing feed adds one. */
  customMetrics: 9,
  dashboards: 1,
  /** One per stage, holding every `env:NAME` of the config as JSON. */
  secrets: 1,
};

/** Lambda memory (MB) per function, as the service stack configures them. */
const MEMORY_MB = { poller: 512, classifier: 512, notifier: 256 };

const DAYS_PER_MONTH = 30;
/** Lambda's SQS event source keeps about 5 long polls (20 s) open per queue, billed as requests. */
const IDLE_SQS_RECEIVES_PER_MONTH = 5 * 3 * 60 * 24 * DAYS_PER_MONTH;

interface Sample {
  newItems: number;
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
      'fetch-ms': { type: 'string', default: '150' },
      'watches-per-subscriber': { type: 'string', default: '5' },
    },
  });
  const feeds = Number(values.feeds);
  const pollsPerDay = (24 * 60) / Number(values['poll-minutes']);
  const itemsPerDay = Number(values['items-per-day']);
  const subscribersPerWatch =
    (Number(values.subscribers) * Number(values['watches-per-subscriber'])) /
    Number(values.watches);
  const alertsPerDay = itemsPerDay * Number(values['match-rate']) * subscribersPerWatch;
  const fetchMs = Number(values['fetch-ms']);

  const sample = await measure();
  process.stderr.write(
    `measured on ${sample.newItems} new items: ${sample.writeUnitsPerItem.toFixed(2)} WRU and ` +
      `${sample.readUnitsPerItem.toFixed(3)} RRU per item, ${sample.writeUnitsPerUnchangedPoll.toFixed(2)} WRU and ` +
      `${sample.readUnitsPerUnchangedPoll.toFixed(3)} RRU per unchanged poll, ` +
      `${sample.cpuMsPerUnchangedPoll.toFixed(2)} ms CPU per unchanged poll, ${sample.cpuMsPerItem.toFixed(2)} ms CPU per item\n`,
  );

  const polls = pollsPerDay * feeds * DAYS_PER_MONTH;
  const items = itemsPerDay * DAYS_PER_MONTH;
  const alerts = alertsPerDay * DAYS_PER_MONTH;
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

  const breakdown = {
    lambda: gbSeconds * PRICES.lambdaArmGbSecond + invocations * PRICES.lambdaRequest,
    dynamodb:
      writeUnits * PRICES.dynamoWriteUnit +
      readUnits * PRICES.dynamoReadUnit +
      storageGb * (PRICES.dynamoStorageGbMonth + PRICES.dynamoPitrGbMonth),
    sqs: sqsRequests * PRICES.sqsRequest,
    scheduler: runs * PRICES.schedulerInvocation,
    cloudwatch:
      FIXED.alarms * PRICES.cloudwatchAlarm +
      FIXED.customMetrics * PRICES.cloudwatchCustomMetric +
      FIXED.dashboards * PRICES.cloudwatchDashboard +
      logGb * PRICES.logsIngestGb,
    secrets: FIXED.secrets * PRICES.secretMonth + (invocations / 100) * PRICES.secretsApiCall,
    ses: alerts * 0.5 * PRICES.sesEmail,
  };
  // AWS's always-free allowances (not the 12-month trial): Lambda 1M requests and
  // 400,000 GB-s, SQS 1M requests, CloudWatch 10 alarms, 10 metrics, 3 dashboards.
  const freeTier = {
    lambda: Math.min(
      breakdown.lambda,
      400_000 * PRICES.lambdaArmGbSecond + 1e6 * PRICES.lambdaRequest,
    ),
    sqs: Math.min(breakdown.sqs, 1e6 * PRICES.sqsRequest),
    cloudwatch:
      Math.min(FIXED.alarms, 10) * PRICES.cloudwatchAlarm +
      Math.min(FIXED.customMetrics, 10) * PRICES.cloudwatchCustomMetric +
      Math.min(FIXED.dashboards, 3) * PRICES.cloudwatchDashboard,
  };
  const total = Object.values(breakdown).reduce((a, b) => a + b, 0);
  const afterFreeTier = total - freeTier.lambda - freeTier.sqs - freeTier.cloudwatch;
  const round = (n: number): number => Math.round(n * 100) / 100;

  process.stderr.write(
    `scale: ${feeds} feeds every ${values['poll-minutes']} min (${Math.round(polls).toLocaleString()} polls/month), ` +
      `${itemsPerDay} new items/day, ${Math.round(alertsPerDay)} alerts/day; prices: ${PRICES.date}\n`,
  );
  for (const [part, usd] of Object.entries(breakdown))
    process.stderr.write(`  ${part.padEnd(11)} $${usd.toFixed(3)}\n`);
  process.stderr.write(
    `  total       $${total.toFixed(2)} list, $${afterFreeTier.toFixed(2)} after the always-free tier\n`,
  );
  console.log(
    JSON.stringify({
      usd_per_month: round(total),
      usd_per_month_after_free_tier: round(afterFreeTier),
      breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, round(v)])),
      polls_per_month: Math.round(polls),
      dynamodb_write_units_per_month: Math.round(writeUnits),
      lambda_gb_seconds_per_month: Math.round(gbSeconds),
      sqs_requests_per_month: Math.round(sqsRequests),
    }),
  );
}
