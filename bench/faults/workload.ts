/**
 * The generated workload of the fault bench: stories told by several outlets,
 * two watches, and subscribers on every kind of delivery (email over SMTP,
 * Slack, outbox; immediate and digest). Everything is invented from a seed:
 * names are made of syllables, so that no two stories share a name or a
 * figure, and every outlet carries a story word for word (its own guid and
 * link), so that story grouping is the same in every order the faults deliver
 * the items in. The bench measures delivery, not grouping.
 */
import { stringify } from 'yaml';
import type { Random } from '../synthetic/random.ts';

/** One report as an outlet's feed carries it. */
export interface WorkloadItem {
  feedId: string;
  guid: string;
  /** `https://news.example/<storyId>/<feedId>/<n>`: the bench reads the story back from it. */
  link: string;
  title: string;
  description: string;
  pubDate: string;
}

/** A generated story and the outlets that tell it. */
export interface WorkloadStory {
  id: string;
  /** The watch it matches, or none. */
  topic: 'armour' | 'sanctions' | 'none';
  items: WorkloadItem[];
}

/** A subscriber of the workload: one watch, one way of delivery. */
export interface WorkloadSubscriber {
  id: string;
  watch: 'armour' | 'sanctions';
  mode: 'immediate' | 'digest';
  channels: ('email' | 'slack' | 'outbox')[];
}

export interface Workload {
  feeds: string[];
  stories: WorkloadStory[];
  subscribers: WorkloadSubscriber[];
}

const SYLLABLES = [
  'ba',
  'do',
  'ka',
  'li',
  'mo',
  'nu',
  'ra',
  've',
  'zi',
  'to',
  'su',
  'pe',
  'ga',
  'fo',
  'hu',
  'je',
  'wa',
  'xi',
  'ty',
  'qo',
  'ri',
  'sa',
  'me',
  'lo',
];

export const SUBSCRIBERS: readonly WorkloadSubscriber[] = [
  { id: 'desk-email', watch: 'armour', mode: 'immediate', channels: ['email'] },
  { id: 'ops-slack', watch: 'armour', mode: 'immediate', channels: ['slack'] },
  { id: 'log-outbox', watch: 'sanctions', mode: 'immediate', channels: ['outbox'] },
  { id: 'team-both', watch: 'sanctions', mode: 'immediate', channels: ['email', 'slack'] },
  { id: 'brief-digest', watch: 'armour', mode: 'digest', channels: ['email'] },
];

/** Generates `stories` stories over `feeds` outlets, published in the hour before `now`. */
export function generateWorkload(
  random: Random,
  options: { stories: number; feeds: number; now: Date },
): Workload {
  const feeds = Array.from({ length: options.feeds }, (_, i) => `outlet-${i + 1}`);
  const used = new Set<string>();
  const name = (): string => {
    for (;;) {
      const word = Array.from({ length: 3 }, () => random.pick(SYLLABLES)).join('');
      if (!used.has(word)) {
        used.add(word);
        return word.charAt(0).toUpperCase() + word.slice(1);
      }
    }
  };
  const figure = (): number => random.int(2, 9) * 1000 + random.int(1, 99) * 10 + used.size;
  const stories: WorkloadStory[] = [];
  for (let s = 0; s < options.stories; s++) {
    const id = `s${s + 1}`;
    const topic = random.pick(['armour', 'armour', 'sanctions', 'sanctions', 'none'] as const);
    const [country, city, minister, agency, river] = [name(), name(), name(), name(), name()];
    const count = figure();
    const title =
      topic === 'armour'
        ? `${country} moves ${count} tanks and artillery toward ${city}`
        : topic === 'sanctions'
          ? `${country} faces new sanctions over ${city} shipping network`
          : `${country} opens ${count}-metre bridge across the ${river} at ${city}`;
    const description =
      topic === 'armour'
        ? `Minister ${minister} said the ${agency} brigade crossed the ${river} overnight with ${count} vehicles.`
        : topic === 'sanctions'
          ? `The ${agency} froze ${count} accounts linked to ${minister}, officials in ${city} said.`
          : `Minister ${minister} of ${country} said the ${agency} finished the work ahead of time.`;
    const outlets = random.shuffle([...feeds]).slice(0, random.int(1, Math.min(3, feeds.length)));
    const published = options.now.getTime() - random.int(5, 60) * 60_000;
    stories.push({
      id,
      topic,
      items: outlets.map((feedId, n) => ({
        feedId,
        guid: `${feedId}-${id}`,
        link: `https://news.example/${id}/${feedId}/${n + 1}`,
        title,
        description,
        pubDate: new Date(published + n * 60_000).toUTCString(),
      })),
    });
  }
  return { feeds, stories, subscribers: [...SUBSCRIBERS] };
}

/** The story a link of the workload belongs to, or `undefined` for any other URL. */
export function storyOfLink(link: string): string | undefined {
  return /^https:\/\/news\.example\/(s\d+)\//.exec(link)?.[1];
}

/** The story links found in a text (email bodies, Slack blocks). */
export function storyLinksIn(text: string): string[] {
  return [...text.matchAll(/https:\/\/news\.example\/s\d+\/[a-z0-9-]+\/\d+/g)].map((m) => m[0]);
}

function xml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** The RSS document of one outlet. */
export function feedDocument(workload: Workload, feedId: string): string {
  const items = workload.stories
    .flatMap((story) => story.items)
    .filter((item) => item.feedId === feedId)
    .map(
      (item) =>
        `<item><guid isPermaLink="false">${xml(item.guid)}</guid><title>${xml(item.title)}</title>` +
        `<link>${xml(item.link)}</link><description>${xml(item.description)}</description>` +
        `<pubDate>${item.pubDate}</pubDate></item>`,
    );
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>' +
    `<title>${feedId}</title><link>https://news.example/${feedId}</link>` +
    `<description>${feedId} wire</description>${items.join('')}</channel></rss>\n`
  );
}

/** Where the bench's servers listen: written into the config. */
export interface Endpoints {
  feedBaseUrl: string;
  smtpPort: number;
  /** The Slack webhook URL of a subscriber. */
  slackUrl(subscriberId: string): string;
}

/** The environment variable that holds a subscriber's Slack webhook URL. */
export function slackSecretName(subscriberId: string): string {
  return `SLACK_${subscriberId.replace(/-/g, '_').toUpperCase()}`;
}

/** The config file and the watch file of the workload. */
export function workloadFiles(
  workload: Workload,
  endpoints: Endpoints,
): { config: string; watches: string; env: Record<string, string> } {
  const watches = stringify({
    watches: [
      { id: 'armour', name: 'Armour movements', severity: 'high', query: 'tanks AND artillery' },
      { id: 'sanctions', name: 'Sanctions', severity: 'normal', query: 'sanctions' },
    ],
  });
  const env: Record<string, string> = {};
  const subscribers = workload.subscribers.map((s) => ({
    id: s.id,
    watches: [s.watch],
    mode: s.mode,
    timezone: 'UTC',
    ...(s.mode === 'digest' ? { digestSchedule: '0 8 * * *' } : {}),
    channels: s.channels.map((type) => {
      if (type === 'email') return { type, to: `${s.id}@example.org` };
      if (type === 'slack') {
        env[slackSecretName(s.id)] = endpoints.slackUrl(s.id);
        return { type, webhookUrl: `env:${slackSecretName(s.id)}` };
      }
      return { type };
    }),
  }));
  const config = stringify({
    watches: 'watches.yaml',
    // The bench's feed server listens on 127.0.0.1, which the SSRF guard refuses by default.
    allowPrivateNetworks: true,
    fetch: { timeout: '1s' },
    defaultInterval: '5m',
    feeds: workload.feeds.map((id) => ({ id, url: `${endpoints.feedBaseUrl}/${id}.xml` })),
    subscribers,
    email: {
      from: 'wirewatch <alerts@wirewatch.example>',
      smtp: { host: '127.0.0.1', port: endpoints.smtpPort, secure: false },
    },
  });
  return { config, watches, env };
}
