/**
 * The config file (`wirewatch.yaml`): feeds, the watch file, subscribers and
 * delivery settings. Parsed once with a schema; every problem names the key
 * and its line. Secrets are never in the file: a secret setting is written
 * `env:NAME` and read from the environment.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Cron } from 'croner';
import ipaddr from 'ipaddr.js';
import {
  type Alias,
  type Document,
  isMap,
  isNode,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
} from 'yaml';
import { z } from 'zod';
import type { ChannelConfig, DeliveryMode, QuietHours } from '../ports.ts';
import { SEVERITIES, type WatchSeverity } from '../rules/watch.ts';

const ID = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;
const ENV_REF = /^env:([A-Z_][A-Z0-9_]*)$/;
const DURATION = /^(\d+)\s*(s|m|h|d)$/;

const id = (what: string) =>
  z.string().regex(ID, `${what} must be lower-case letters, digits and dashes (kebab-case)`);

/** `90s`, `5m`, `2h`, `1d` or a number of seconds. */
const Duration = z.union([
  z.number().int().positive(),
  z.string().regex(DURATION, 'a duration is a number with s, m, h or d, e.g. 5m'),
]);

const SecretRef = z
  .string()
  .regex(
    ENV_REF,
    'secrets are not written in the config file: write env:VARIABLE_NAME and set the variable',
  );

const Channel = z.discriminatedUnion('type', [
  z.object({ type: z.literal('console') }).strict(),
  z.object({ type: z.literal('outbox') }).strict(),
  z.object({ type: z.literal('email'), to: z.email('to: must be an email address') }).strict(),
  z
    .object({
      type: z.literal('slack'),
      /** An incoming webhook URL (a secret). */
      webhookUrl: SecretRef.optional(),
      /** Or a bot token (a secret) and the channel id it posts to: follow-ups reply in threads. */
      botToken: SecretRef.optional(),
      channel: z
        .string()
        .regex(/^[CGD][A-Z0-9]{6,}$/, 'channel: a Slack channel id such as C0123456789')
        .optional(),
    })
    .strict(),
]);

const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A five-field cron expression croner accepts. */
function isCron(expression: string): boolean {
  if (expression.trim().split(/\s+/).length !== 5) return false;
  try {
    new Cron(expression, { paused: true });
    return true;
  } catch {
    return false;
  }
}

/** An IANA time zone name this runtime knows. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const Feed = z
  .object({
    id: id('feed id'),
    url: z
      .string()
      .refine(
        (u) => u.startsWith('local:') || /^https?:\/\/[^\s]+$/i.test(u),
        'url must be an http(s) URL, or local:<file> for a file served by the local runner',
      ),
    interval: Duration.optional(),
    /** The longest a quiet feed is left unpolled; at least `interval`. */
    maxInterval: Duration.optional(),
    tags: z.array(z.string()).optional(),
  })
  .strict();

const Subscriber = z
  .object({
    id: id('subscriber id'),
    name: z.string().optional(),
    watches: z.array(z.string()).min(1, 'a subscriber follows at least one watch'),
    channels: z.array(Channel).min(1, 'a subscriber needs at least one channel'),
    timezone: z
      .string()
      .refine(isTimeZone, 'timezone must be an IANA time zone such as Europe/Warsaw or UTC')
      .default('UTC'),
    mode: z.enum(['immediate', 'digest']).default('immediate'),
    digestSchedule: z
      .string()
      .refine(isCron, 'digestSchedule must be a five-field cron expression, e.g. "0 8 * * 1-5"')
      .default('0 8 * * *'),
    quietHours: z
      .object({
        start: z.string().regex(CLOCK_TIME, 'start must be a time of day such as 22:00'),
        end: z.string().regex(CLOCK_TIME, 'end must be a time of day such as 07:00'),
      })
      .strict()
      .optional(),
    minSeverity: z.enum(SEVERITIES).default('low'),
  })
  .strict();

/** `10MiB`, `512KiB`, `2MB` or a number of bytes. */
const Size = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+\s*(B|KB|KiB|MB|MiB)$/, 'a size is a number with B, KiB or MiB, e.g. 10MiB'),
]);

const Cidr = z.string().refine((value) => {
  try {
    ipaddr.parseCIDR(value);
    return true;
  } catch {
    return false;
  }
}, 'a network is an address and a prefix length, e.g. 10.20.0.0/16 or fd12::/16');

const FetchLimits = z
  .object({
    timeout: Duration.optional(),
    maxSize: Size.optional(),
    maxRedirects: z.number().int().min(0).max(10).optional(),
  })
  .strict();

const ConfigSchema = z
  .object({
    watches: z.string().default('watches.yaml'),
    /**
     * Let the poller connect to loopback, private, link-local and other
     * internal addresses. Off by default: feed URLs and their redirects must
     * not reach internal services or the cloud metadata endpoint.
     */
    allowPrivateNetworks: z.boolean().default(false),
    /** Internal networks allowed even with allowPrivateNetworks off (one known feed host). */
    allowedNetworks: z.array(Cidr).default([]),
    fetch: FetchLimits.default({}),
    localFeeds: z.object({ dir: z.string() }).strict().optional(),
    defaultInterval: Duration.default('5m'),
    feeds: z.array(Feed).min(1, 'configure at least one feed'),
    subscribers: z.array(Subscriber).default([]),
    /** Where the one-click unsubscribe links of emails point, and the key that signs them. */
    unsubscribe: z
      .object({
        /** The page the runner (locally) or the function URL (on AWS) serves. */
        baseUrl: z
          .url({ protocol: /^https?$/, error: 'baseUrl must be an http(s) URL' })
          .optional(),
        secret: SecretRef.optional(),
        mailto: z.email('mailto: must be an email address').optional(),
      })
      .strict()
      .default({}),
    email: z
      .object({
        from: z.string().default('wirewatch <wirewatch@localhost>'),
        smtp: z
          .object({
            host: z.union([z.string(), SecretRef]),
            port: z.number().int().positive().default(587),
            secure: z.boolean().default(false),
            user: SecretRef.optional(),
            password: SecretRef.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ from: 'wirewatch <wirewatch@localhost>' }),
  })
  .strict();

export type RawConfig = z.infer<typeof ConfigSchema>;

export interface FeedConfig {
  id: string;
  url: string;
  intervalSeconds: number;
  /** The longest interval between two polls; absent: the default bounds of `health.ts`. */
  maxIntervalSeconds?: number;
  tags: string[];
}

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
}

/** Channels with secrets resolved; a Slack channel whose secret is not set has none. */
export type ResolvedChannel =
  | { type: 'console' }
  | { type: 'outbox' }
  | { type: 'email'; to: string }
  | { type: 'slack'; webhookUrl?: string; secretName: string }
  | { type: 'slack'; botToken?: string; channelId: string; secretName: string };

/** The channel a resolved channel sends to, or `undefined` when its secret is not set. */
export function channelOf(channel: ResolvedChannel): ChannelConfig | undefined {
  if (channel.type !== 'slack') return channel;
  if ('channelId' in channel) {
    return channel.botToken
      ? { type: 'slack', botToken: channel.botToken, channelId: channel.channelId }
      : undefined;
  }
  return channel.webhookUrl ? { type: 'slack', webhookUrl: channel.webhookUrl } : undefined;
}

export interface SubscriberConfig {
  id: string;
  name?: string;
  watches: string[];
  channels: ResolvedChannel[];
  timezone: string;
  mode: DeliveryMode;
  digestSchedule: string;
  minSeverity: WatchSeverity;
  quietHours?: QuietHours;
}

/** One-click unsubscribe settings; without a secret, links are not put in emails. */
export interface UnsubscribeConfig {
  baseUrl?: string;
  secret?: string;
  mailto?: string;
}

/** Limits and the SSRF policy of every feed fetch, as `fetchFeed` takes them. */
export interface FeedFetchConfig {
  allowPrivateNetworks: boolean;
  allowedNetworks: string[];
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
}

export interface Config {
  /** Absolute path of the config file. */
  path: string;
  /** Limits and the SSRF policy of every feed fetch. */
  feedFetch: FeedFetchConfig;
  /** Absolute path of the watch file. */
  watchFile: string;
  /** Absolute directory served over local HTTP for `local:` feed URLs. */
  localFeedsDir?: string;
  feeds: FeedConfig[];
  subscribers: SubscriberConfig[];
  email: { from: string; smtp?: SmtpConfig };
  unsubscribe: UnsubscribeConfig;
  /** Things worth telling the user (a secret variable not set, so the outbox is used). */
  notices: string[];
}

/** A config file problem: `path:line:column: key: message`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

export async function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError([
      `${path}: cannot read config file (${(error as NodeJS.ErrnoException).code ?? error})`,
    ]);
  }
  return parseConfig(text, absolute, env);
}

/**
 * The document as plain values. The yaml library throws a `ReferenceError`
 * with no position for an alias it will not expand (an alias bomb beyond its
 * `maxAliasCount`, an alias before its anchor); the aliases being expanded are
 * tracked so that the error names the one it stopped at.
 */
function documentValue(doc: Document, where: (offset: number) => string, path: string): unknown {
  const expanding: Alias[] = [];
  visit(doc, {
    Alias(_key, alias) {
      const toJSON = alias.toJSON.bind(alias);
      alias.toJSON = (arg, ctx) => {
        expanding.push(alias);
        const value = toJSON(arg, ctx);
        expanding.pop();
        return value;
      };
    },
  });
  try {
    return doc.toJS();
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    // Not popped when it threw: the last alias entered is the one refused.
    const offset = expanding.at(-1)?.range?.[0];
    const at = offset === undefined ? `${path}:1:1` : where(offset);
    throw new ConfigError([`${at}: ${error.message}`]);
  }
}

/** Parses config text; `path` is used for messages and to resolve relative paths. */
export function parseConfig(
  text: string,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${where(e.pos[0])}: ${e.message.split('\n')[0]}`));
  }
  const result = ConfigSchema.safeParse(documentValue(doc, where, path));
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const keyPath = issue.path.map(String);
        const keys = issue.path as (string | number)[];
        const node =
          issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined
            ? keyNode(doc, keys, issue.keys[0])
            : locate(doc, keys);
        const at = node?.range ? where(node.range[0]) : `${path}:1:1`;
        return `${at}: ${keyPath.join('.') || '(top level)'}: ${issueMessage(issue)}`;
      }),
    );
  }
  const raw = result.data;
  const problems: string[] = [];
  const keyAt = (keys: (string | number)[]): string => {
    const node = locate(doc, keys);
    return node?.range ? where(node.range[0]) : path;
  };
  duplicates(raw.feeds.map((f) => f.id)).forEach((i) => {
    problems.push(
      `${keyAt(['feeds', i, 'id'])}: feeds.${i}.id: duplicate feed id "${raw.feeds[i]?.id}"`,
    );
  });
  duplicates(raw.subscribers.map((s) => s.id)).forEach((i) => {
    problems.push(
      `${keyAt(['subscribers', i, 'id'])}: subscribers.${i}.id: duplicate subscriber id "${raw.subscribers[i]?.id}"`,
    );
  });
  raw.subscribers.forEach((s, i) => {
    s.channels.forEach((c, j) => {
      if (c.type !== 'slack') return;
      const at = `${keyAt(['subscribers', i, 'channels', j])}: subscribers.${i}.channels.${j}`;
      if (c.webhookUrl !== undefined && (c.botToken !== undefined || c.channel !== undefined)) {
        problems.push(
          `${at}: a Slack channel has either webhookUrl or botToken and channel, not both`,
        );
      } else if (
        c.webhookUrl === undefined &&
        (c.botToken === undefined || c.channel === undefined)
      ) {
        problems.push(
          `${at}: a Slack channel needs webhookUrl: env:NAME, or botToken: env:NAME and channel: <channel id>`,
        );
      }
    });
    if (s.quietHours && s.quietHours.start === s.quietHours.end) {
      problems.push(
        `${keyAt(['subscribers', i, 'quietHours'])}: subscribers.${i}.quietHours: start and end are the same time`,
      );
    }
  });
  if (raw.feeds.some((f) => f.url.startsWith('local:')) && !raw.localFeeds) {
    const i = raw.feeds.findIndex((f) => f.url.startsWith('local:'));
    problems.push(`${keyAt(['feeds', i, 'url'])}: feeds.${i}.url: local: URLs need localFeeds.dir`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const base = dirname(path);
  const notices: string[] = [];
  const subscribers = raw.subscribers.map(
    (s): SubscriberConfig => ({
      id: s.id,
      ...(s.name !== undefined ? { name: s.name } : {}),
      watches: s.watches,
      timezone: s.timezone,
      mode: s.mode,
      digestSchedule: s.digestSchedule,
      minSeverity: s.minSeverity,
      ...(s.quietHours ? { quietHours: s.quietHours } : {}),
      channels: s.channels.map((c): ResolvedChannel => {
        if (c.type !== 'slack') return c;
        const secretName = envName(c.webhookUrl ?? c.botToken ?? '');
        const secret = env[secretName];
        if (!secret) {
          notices.push(`${secretName} is not set: Slack alerts for ${s.id} go to the outbox`);
        }
        if (c.channel !== undefined) {
          return {
            type: 'slack',
            channelId: c.channel,
            secretName,
            ...(secret ? { botToken: secret } : {}),
          };
        }
        return { type: 'slack', secretName, ...(secret ? { webhookUrl: secret } : {}) };
      }),
    }),
  );
  const unsubscribeSecret = raw.unsubscribe.secret
    ? env[envName(raw.unsubscribe.secret)]
    : undefined;
  if (raw.unsubscribe.secret && !unsubscribeSecret) {
    notices.push(
      `${envName(raw.unsubscribe.secret)} is not set: a local key signs unsubscribe links`,
    );
  }

  let smtp: SmtpConfig | undefined;
  if (raw.email.smtp) {
    const s = raw.email.smtp;
    const host = ENV_REF.test(s.host) ? env[envName(s.host)] : s.host;
    const user = s.user ? env[envName(s.user)] : undefined;
    const pass = s.password ? env[envName(s.password)] : undefined;
    if (!host) {
      notices.push(`${envName(s.host)} is not set: email alerts go to the outbox as .eml files`);
    } else {
      smtp = {
        host,
        port: s.port,
        secure: s.secure,
        ...(user !== undefined && pass !== undefined ? { auth: { user, pass } } : {}),
      };
    }
  }

  const feeds = raw.feeds.map((f): FeedConfig => {
    const intervalSeconds = seconds(f.interval ?? raw.defaultInterval);
    const maxIntervalSeconds = f.maxInterval === undefined ? undefined : seconds(f.maxInterval);
    return {
      id: f.id,
      url: f.url,
      intervalSeconds,
      ...(maxIntervalSeconds !== undefined ? { maxIntervalSeconds } : {}),
      tags: f.tags ?? [],
    };
  });
  const shortMaxIntervals = feeds.flatMap((f, i) =>
    f.maxIntervalSeconds !== undefined && f.maxIntervalSeconds < f.intervalSeconds
      ? [
          `${keyAt(['feeds', i, 'maxInterval'])}: feeds.${i}.maxInterval: must be at least the interval (${raw.feeds[i]?.interval ?? `defaultInterval ${raw.defaultInterval}`})`,
        ]
      : [],
  );
  if (shortMaxIntervals.length > 0) throw new ConfigError(shortMaxIntervals);

  return {
    path,
    feedFetch: {
      allowPrivateNetworks: raw.allowPrivateNetworks,
      allowedNetworks: raw.allowedNetworks,
      ...(raw.fetch.timeout !== undefined ? { timeoutMs: seconds(raw.fetch.timeout) * 1000 } : {}),
      ...(raw.fetch.maxSize !== undefined ? { maxBytes: bytes(raw.fetch.maxSize) } : {}),
      ...(raw.fetch.maxRedirects !== undefined ? { maxRedirects: raw.fetch.maxRedirects } : {}),
    },
    watchFile: resolve(base, raw.watches),
    ...(raw.localFeeds ? { localFeedsDir: resolve(base, raw.localFeeds.dir) } : {}),
    feeds,
    subscribers,
    email: { from: raw.email.from, ...(smtp ? { smtp } : {}) },
    unsubscribe: {
      ...(raw.unsubscribe.baseUrl !== undefined ? { baseUrl: raw.unsubscribe.baseUrl } : {}),
      ...(unsubscribeSecret ? { secret: unsubscribeSecret } : {}),
      ...(raw.unsubscribe.mailto !== undefined ? { mailto: raw.unsubscribe.mailto } : {}),
    },
    notices,
  };
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (
    issue.code === 'invalid_union' &&
    'note' in issue &&
    issue.note === 'No matching discriminator'
  ) {
    return 'type must be one of console, outbox, email, slack';
  }
  return issue.message;
}

function locate(doc: ReturnType<typeof parseDocument>, path: (string | number)[]) {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node)) return node;
  }
  return undefined;
}

/** The node of `key` itself inside the map at `path`, for unknown-key errors. */
function keyNode(doc: ReturnType<typeof parseDocument>, path: (string | number)[], key: string) {
  const map = doc.getIn(path, true);
  if (!isMap(map)) return locate(doc, path);
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return isNode(pair?.key) ? pair.key : map;
}

function duplicates(ids: string[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  ids.forEach((v, i) => {
    if (seen.has(v)) out.push(i);
    seen.add(v);
  });
  return out;
}

function envName(ref: string): string {
  return ENV_REF.exec(ref)?.[1] ?? ref;
}

/** Seconds in a duration setting. */
export function seconds(duration: number | string): number {
  if (typeof duration === 'number') return duration;
  const m = DURATION.exec(duration);
  const n = Number(m?.[1] ?? 0);
  const unit = m?.[2] ?? 's';
  return n * ({ s: 1, m: 60, h: 3600, d: 86400 }[unit] ?? 1);
}

/** Bytes in a size setting. */
export function bytes(size: number | string): number {
  if (typeof size === 'number') return size;
  const m = /^(\d+)\s*(B|KB|KiB|MB|MiB)$/.exec(size);
  const n = Number(m?.[1] ?? 0);
  const unit = m?.[2] ?? 'B';
  return n * ({ B: 1, KB: 1000, KiB: 1024, MB: 1_000_000, MiB: 2 ** 20 }[unit] ?? 1);
}
