/**
 * Real parts for the integration tests of the embedded stack: an HTTP feed
 * server whose answers each test controls (RSS with ETags, error statuses,
 * garbage, reset connections), an SMTP server that parses what it receives,
 * an HTTP endpoint standing in for a Slack incoming webhook, a clock the test
 * moves, and config files written to a temporary directory.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { stringify } from 'yaml';
import type { LocalStack } from '../../cli/local/local-stack.ts';
import { DynamoFeedStateStore, DynamoSeenItemsStore } from '../../shared/adapters/dynamodb.ts';
import { type Config, parseConfig } from '../../shared/config/config.ts';
import { VISIBILITY_TIMEOUT_MS } from '../../shared/pipeline/delivery-timing.ts';
import { pollFeeds } from '../../shared/pipeline/poll.ts';
import { type Clock, silentLogger } from '../../shared/ports.ts';

/** The repository, where `bin/wirewatch.js` is run from. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Only what node needs to run the CLI: no SLACK_WEBHOOK_URL or SMTP_HOST of the developer's shell leaks in. */
export const CLI_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NO_COLOR: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** Cleanups registered while a test runs, released (awaited, newest first) after it. */
export class Cleanups {
  private readonly pending: (() => Promise<void>)[] = [];

  defer(cleanup: () => Promise<void>): void {
    this.pending.push(cleanup);
  }

  async release(): Promise<void> {
    const errors: unknown[] = [];
    for (let cleanup = this.pending.pop(); cleanup; cleanup = this.pending.pop()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** A directory under the OS temp dir, removed by `cleanups`. */
export async function tempDir(cleanups: Cleanups): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wirewatch-it-'));
  cleanups.defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock that stands still until the test moves it. */
export class TestClock implements Clock {
  private ms: number;

  constructor(start = '2026-03-05T15:00:00.000Z') {
    this.ms = Date.parse(start);
  }

  now(): Date {
    return new Date(this.ms);
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Past the local queues' visibility timeout, so failed messages are received again. */
export const PAST_VISIBILITY_TIMEOUT_MS = VISIBILITY_TIMEOUT_MS + 1_000;

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // fetch keeps connections alive; close them so close() does not wait for their timeout.
    server.closeAllConnections();
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** One entry of a generated RSS feed. */
export interface FeedEntry {
  guid: string;
  title: string;
  description: string;
  link: string;
  pubDate: string;
}

function xmlText(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** An RSS 2.0 document holding `entries`. */
export function rssDocument(title: string, entries: readonly FeedEntry[]): string {
  const items = entries.map(
    (e) =>
      `    <item>\n      <guid isPermaLink="false">${xmlText(e.guid)}</guid>\n` +
      `      <title>${xmlText(e.title)}</title>\n      <link>${xmlText(e.link)}</link>\n` +
      `      <description>${xmlText(e.description)}</description>\n` +
      `      <pubDate>${e.pubDate}</pubDate>\n    </item>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0">',
    '  <channel>',
    `    <title>${xmlText(title)}</title>`,
    '    <link>https://wire.example/</link>',
    '    <description>Integration test feed</description>',
    ...items,
    '  </channel>',
    '</rss>',
  ].join('\n');
}

/** What a path of the feed server answers. */
export type FeedRoute =
  /** RSS with a strong ETag over the body; a matching `If-None-Match` gets 304. */
  | { kind: 'rss'; entries: FeedEntry[] }
  | { kind: 'status'; status: number }
  /** 200 with this body, as `application/rss+xml`. */
  | { kind: 'body'; body: string }
  /** The connection is destroyed before any answer. */
  | { kind: 'reset' };

export interface FeedRequest {
  path: string;
  ifNoneMatch: string | undefined;
  /** The status answered, or `reset`. */
  answer: number | 'reset';
}

/** A local HTTP feed server whose routes the test sets. */
export class TestFeedServer {
  readonly requests: FeedRequest[] = [];
  private readonly routes = new Map<string, FeedRoute>();

  private constructor(readonly port: number) {}

  static async start(cleanups: Cleanups): Promise<TestFeedServer> {
    let feeds: TestFeedServer | undefined;
    const server = createServer((req, res) => feeds?.answer(req, res));
    const port = await listen(server);
    feeds = new TestFeedServer(port);
    cleanups.defer(() => closeHttp(server));
    return feeds;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  route(path: string, route: FeedRoute): void {
    this.routes.set(path, route);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const ifNoneMatch = req.headers['if-none-match'];
    const record = (answer: number | 'reset'): void => {
      this.requests.push({ path, ifNoneMatch, answer });
    };
    const route = this.routes.get(path);
    if (!route) {
      record(404);
      res.writeHead(404).end('no such feed');
      return;
    }
    if (route.kind === 'reset') {
      record('reset');
      req.socket.destroy();
      return;
    }
    if (route.kind === 'status') {
      record(route.status);
      res.writeHead(route.status, { 'content-type': 'text/plain' }).end('feed server failure');
      return;
    }
    const body = route.kind === 'rss' ? rssDocument(`Feed ${path}`, route.entries) : route.body;
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    if (ifNoneMatch === etag) {
      record(304);
      res.writeHead(304, { etag }).end();
      return;
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', etag }).end(body);
  }
}

/** One request to the stand-in Slack webhook. */
export interface SlackPost {
  path: string;
  status: number;
  payload: { text?: string; blocks?: unknown[] };
}

/** An HTTP endpoint standing in for a Slack incoming webhook; answers 200 `ok` unless told otherwise. */
export class TestSlackEndpoint {
  readonly posts: SlackPost[] = [];
  private readonly replies: { status: number; body: string }[] = [];

  private constructor(readonly port: number) {}

  static async start(cleanups: Cleanups): Promise<TestSlackEndpoint> {
    let slack: TestSlackEndpoint | undefined;
    const server = createServer((req, res) => {
      void slack?.answer(req, res);
    });
    const port = await listen(server);
    slack = new TestSlackEndpoint(port);
    cleanups.defer(() => closeHttp(server));
    return slack;
  }

  /** The webhook URL of one channel; the path tells channels apart. */
  url(channel = 'ops'): string {
    return `http://127.0.0.1:${this.port}/services/T000/B000/${channel}`;
  }

  /** Answers the next requests with these, in order; then 200 `ok` again. */
  replyNext(...replies: { status: number; body: string }[]): void {
    this.replies.push(...replies);
  }

  /** Payloads that were answered with 2xx, i.e. delivered. */
  delivered(): SlackPost[] {
    return this.posts.filter((p) => p.status >= 200 && p.status < 300);
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const reply = this.replies.shift() ?? { status: 200, body: 'ok' };
    this.posts.push({
      path: req.url ?? '/',
      status: reply.status,
      payload: JSON.parse(body) as SlackPost['payload'],
    });
    res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body);
  }
}

/** A real SMTP server on 127.0.0.1 that keeps every message it accepts, parsed. */
export class TestSmtpServer {
  private constructor(
    /** Filled by the server as messages arrive. */
    readonly mails: ParsedMail[],
    readonly port: number,
  ) {}

  static async start(cleanups: Cleanups): Promise<TestSmtpServer> {
    const mails: ParsedMail[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            mails.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.server.address() as AddressInfo;
    cleanups.defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return new TestSmtpServer(mails, port);
  }

  /** `recipient: subject` of every message received, sorted. */
  received(): string[] {
    return this.mails
      .map((m) => {
        const to = [m.to ?? []].flat().map((address) => address.text);
        return `${to.join(', ')}: ${m.subject ?? ''}`;
      })
      .sort();
  }
}

/** Two watches an item about North Korean troops matches both of. */
export const WATCH_FILE = stringify({
  watches: [
    { id: 'troop-movements', name: 'Troop movements', severity: 'high', query: 'troop*' },
    { id: 'korea', name: 'Korea news', severity: 'normal', query: '"north korea"' },
  ],
});

/** Matches both watches. */
export const TROOPS_ENTRY: FeedEntry = {
  guid: 'wire-1001',
  title: 'North Korea sends more troops to Russia',
  description: 'Seoul says thousands of soldiers have crossed the border in the past month.',
  link: 'https://wire.example/world/1001',
  pubDate: 'Thu, 05 Mar 2026 09:00:00 GMT',
};

/** Matches `korea` only. */
export const SUMMIT_ENTRY: FeedEntry = {
  guid: 'wire-1002',
  title: 'North Korea and China hold trade talks',
  description: 'Delegations met in Beijing to discuss rail freight.',
  link: 'https://wire.example/world/1002',
  pubDate: 'Thu, 05 Mar 2026 10:00:00 GMT',
};

/** Matches nothing. */
export const WEATHER_ENTRY: FeedEntry = {
  guid: 'wire-1003',
  title: 'Spring arrives early in Lisbon',
  description: 'Temperatures reached 24 degrees on Wednesday.',
  link: 'https://wire.example/world/1003',
  pubDate: 'Thu, 05 Mar 2026 11:00:00 GMT',
};

export interface ConfigInput {
  feeds: { id: string; url: string; interval?: string }[];
  subscribers: unknown[];
  /** Port of the SMTP server; without it email goes to the outbox as .eml files. */
  smtpPort?: number;
}

/** The YAML text of a config with the watch file next to it. */
function configYaml(input: ConfigInput): string {
  return stringify({
    watches: 'watches.yaml',
    // The test feed server listens on 127.0.0.1, which the SSRF guard refuses by default.
    allowPrivateNetworks: true,
    defaultInterval: '5m',
    feeds: input.feeds,
    subscribers: input.subscribers,
    email: {
      from: 'wirewatch <alerts@wirewatch.example>',
      ...(input.smtpPort !== undefined
        ? { smtp: { host: '127.0.0.1', port: input.smtpPort, secure: false } }
        : {}),
    },
  });
}

/** Writes the watch file and the config to `dir`; resolves to the config's path and text. */
export async function writeConfigFiles(
  dir: string,
  input: ConfigInput,
): Promise<{ path: string; text: string }> {
  await writeFile(join(dir, 'watches.yaml'), WATCH_FILE);
  const path = join(dir, 'wirewatch.yaml');
  const text = configYaml(input);
  await writeFile(path, text);
  return { path, text };
}

/** Writes the watch file and the config to `dir` and parses the config as the CLI would. */
export async function writeConfig(
  dir: string,
  input: ConfigInput,
  env: NodeJS.ProcessEnv = {},
): Promise<Config> {
  const { path, text } = await writeConfigFiles(dir, input);
  return parseConfig(text, path, env);
}

/** The stores of the stack's embedded DynamoDB, on the stack's own client. */
export function openStores(
  stack: LocalStack,
  clock: Clock,
): { feedStates: DynamoFeedStateStore; seenItems: DynamoSeenItemsStore } {
  const { documentClient, tableNames } = stack.dynamo;
  return {
    feedStates: new DynamoFeedStateStore(documentClient, tableNames.feedState),
    seenItems: new DynamoSeenItemsStore(documentClient, tableNames.seenItems, clock),
  };
}

/**
 * The first two steps of a cycle without the third: polls every feed onto the
 * stack's items queue and classifies onto its alerts queue, leaving the alerts
 * queued for the test to deliver.
 */
export async function pollAndClassify(stack: LocalStack, clock: Clock): Promise<void> {
  const stores = openStores(stack, clock);
  await pollFeeds(
    stack.feedList,
    {
      ...stores,
      itemsQueue: stack.itemsQueue,
      clock,
      logger: silentLogger,
      resolveUrl: (url) => stack.resolveUrl(url),
      fetchOptions: stack.config.feedFetch,
    },
    { all: true },
  );
  await stack.itemsQueue.drain(stack.classifierHandler());
}

/** Every file under `dir` (relative path → content); empty when `dir` does not exist. */
export async function filesUnder(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return files;
    throw error;
  }
  for (const entry of entries.sort()) {
    try {
      files.set(entry, await readFile(join(dir, entry), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
    }
  }
  return files;
}
