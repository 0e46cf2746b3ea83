/**
 * `npm run bench -- pipeline [feeds] [itemsPerFeed]`: backfills 100 local
 * feeds × 100 items through the embedded stack to the outbox, then polls them
 * all again unchanged. Prints one JSON line:
 * {"items", "seconds", "items_per_sec", "peak_rss_mb",
 *  "dynamodb_requests_per_new_item", "dynamodb_requests_per_unchanged_poll"}.
 * DynamoDB requests are counted with SDK middleware on the stack's client.
 *
 * One item in eight is a copy of one of 60 topical stories that the sample
 * watches match (several feeds carry each story, as wires are redistributed),
 * so the run exercises story grouping, follow-ups and the ledger as a real
 * day would; the rest match nothing.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack } from '../cli/local/local-stack.ts';
import { countDynamoRequests } from '../shared/adapters/dynamodb.ts';
import { parseConfig } from '../shared/config/config.ts';
import { silentLogger } from '../shared/ports.ts';

// Deterministic pseudo-random numbers, so every run polls the same feeds.
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = [
  'Central bank',
  'Ministry of health',
  'Port authority',
  'Stock exchange',
  'City council',
  'Weather service',
  'Football club',
  'Energy regulator',
];
const VERBS = [
  'announces',
  'delays',
  'reviews',
  'expands',
  'cuts',
  'approves',
  'rejects',
  'extends',
];
const OBJECTS = [
  'new budget',
  'rail project',
  'fuel subsidy',
  'harbour upgrade',
  'stadium plan',
  'wage deal',
  'tariff change',
  'water rules',
];
// About one item in eight is about a watched topic: a copy, in this feed, of
// one of the topical stories the wires carry that day (below).
const TOPICAL = [
  'North Korea sends more troops to Russia, Seoul says',
  'Germany pledges additional Patriot air-defence battery to Ukraine',
  'Tanker suspected of ship-to-ship oil transfer to North Korea detained',
  'US approves arms sale to Taiwan including missiles',
  'Russian foreign minister holds talks in Pyongyang',
];

const PLACES = ['Kursk', 'Rzeszow', 'Busan', 'Vladivostok', 'Kaohsiung', 'Constanta', 'Gdansk'];
const UNITS = ['soldiers', 'launchers', 'barrels', 'missiles', 'officials'];
/** How many distinct topical stories the feeds carry between them. */
const TOPICAL_STORIES = 60;

/**
 * Topical story `story`: one of the watched headlines with details of its own
 * (a number and a place in the lede), so that two stories under the same
 * headline are two events, as a templated wire report about another country
 * or figure is, and every feed's copy of one story is the same event.
 */
function topicalStory(story: number): { title: string; lede: string } {
  const title = TOPICAL[story % TOPICAL.length] as string;
  const count = 1000 + story * 37;
  const place = PLACES[story % PLACES.length];
  const unit = UNITS[story % UNITS.length];
  return {
    title,
    lede: `${title}. About ${count} ${unit} were involved near ${place}, officials said, in the latest such move this year.`,
  };
}

/** An RSS document of `items` news-like items; `pubDate(i)` dates item i (hourly in March 2026 by default). */
export function feedXml(
  feed: number,
  items: number,
  random: () => number,
  pubDate: (i: number) => string = (i) =>
    `Mon, 02 Mar 2026 ${String(i % 24).padStart(2, '0')}:00:00 GMT`,
): string {
  const entries: string[] = [];
  for (let i = 0; i < items; i++) {
    const topical = random() < 0.125;
    const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)] as T;
    let title: string;
    let summary: string;
    if (topical) {
      const story = topicalStory(Math.floor(random() * TOPICAL_STORIES));
      title = story.title;
      summary = `${story.lede} (Reporting by Feed ${feed} staff)`;
    } else {
      title = `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} (${feed}-${i})`;
      summary = `${title} on ${['Monday', 'Tuesday', 'Wednesday'][i % 3]}, officials said. ${pick(SUBJECTS)} ${pick(VERBS)} the ${pick(OBJECTS)} after weeks of talks, according to a statement seen by reporters.`;
    }
    entries.push(
      `<item><title>${title}</title><link>https://feed-${feed}.example/story/${i}</link><guid isPermaLink="false">feed-${feed}-item-${i}</guid><pubDate>${pubDate(i)}</pubDate><description>${summary}</description></item>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed ${feed}</title><link>https://feed-${feed}.example/</link><description>bench</description>${entries.join('')}</channel></rss>`;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) n++;
  }
  return n;
}

export async function run(args: string[]): Promise<void> {
  const feedCount = Number(args[0] ?? 100);
  const itemsPerFeed = Number(args[1] ?? 100);
  const dir = await mkdtemp(join(tmpdir(), 'wirewatch-bench-'));
  try {
    const feedsDir = join(dir, 'feeds');
    await mkdir(feedsDir);
    const random = prng(42);
    const feedIds: string[] = [];
    for (let f = 0; f < feedCount; f++) {
      feedIds.push(`feed-${f}`);
      await writeFile(join(feedsDir, `feed-${f}.xml`), feedXml(f, itemsPerFeed, random));
    }
    const configPath = join(dir, 'wirewatch.yaml');
    const configText = [
      `watches: ${JSON.stringify(join(process.cwd(), 'samples/watches.yaml'))}`,
      'allowPrivateNetworks: true',
      'localFeeds: { dir: feeds }',
      'feeds:',
      ...feedIds.map((id) => `  - { id: ${id}, url: "local:${id}.xml" }`),
      'subscribers:',
      '  - id: analyst',
      '    watches: [dprk-deployment, patriot-transfer, russia-dprk-diplomacy, sanctions-evasion, taiwan-arms]',
      '    channels: [{ type: outbox }]',
    ].join('\n');
    await writeFile(configPath, configText);
    const config = parseConfig(configText, configPath, {});
    const dataDir = join(dir, 'data');
    const stack = await LocalStack.start(config, { dataDir, logger: silentLogger });
    try {
      const requests = countDynamoRequests(stack.dynamo.documentClient);
      let peakRss = process.memoryUsage().rss;
      let atPeak = process.memoryUsage();
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        if (usage.rss > peakRss) {
          peakRss = usage.rss;
          atPeak = usage;
        }
      }, 25);

      const started = performance.now();
      const backfill = await stack.runCycle({ all: true });
      const seconds = (performance.now() - started) / 1000;
      const backfillRequests = requests.total;
      process.stderr.write(
        `backfill requests by operation: ${JSON.stringify(requests.byOperation)}\n`,
      );

      requests.reset();
      const unchanged = await stack.runCycle({ all: true });
      const unchangedRequests = requests.total;
      clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);

      const outboxFiles = await countFiles(join(dataDir, 'outbox'));
      const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
      process.stderr.write(
        `at peak RSS: heap ${mb(atPeak.heapUsed)} of ${mb(atPeak.heapTotal)} MB, external ${mb(atPeak.external)} MB\n`,
      );
      process.stderr.write(
        `backfill: ${backfill.itemsNew} new items, ${backfill.matches} matches, ${outboxFiles} outbox files, ` +
          `${backfill.feedsFailed.length} failed feeds; second poll: ${unchanged.feedsNotModified} not modified\n`,
      );
      console.log(
        JSON.stringify({
          items: backfill.itemsNew,
          seconds: Number(seconds.toFixed(2)),
          items_per_sec: Math.round(backfill.itemsNew / seconds),
          peak_rss_mb: Math.round(peakRss / 2 ** 20),
          dynamodb_requests_per_new_item: Number((backfillRequests / backfill.itemsNew).toFixed(2)),
          dynamodb_requests_per_unchanged_poll: Number((unchangedRequests / feedCount).toFixed(2)),
        }),
      );
    } finally {
      await stack.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
