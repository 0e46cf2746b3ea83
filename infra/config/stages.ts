/**
 * Everything that differs between deployments of wirewatch, one typed record
 * per stage. `cdk deploy --all -c stage=prod` picks the record; nothing else
 * in the stacks branches on the stage name.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export type StageName = 'dev' | 'prod' | 'rehearsal';

export interface StageConfig {
  name: StageName;
  /**
   * The config file the functions run with (feeds, subscribers, email), as a
   * path from the repository root. It is copied into every function's bundle
   * with the watch file it names; its `env:NAME` secrets are the keys of the
   * Secrets Manager secret `wirewatch/<stage>/secrets`.
   */
  configFile: string;
  /** How often the poller runs; each run polls only the feeds that are due. */
  pollEvery: Duration;
  /** Longest poller run: fetches run 8 at a time, each limited by the fetcher's timeout. */
  pollerTimeout: Duration;
  /**
   * What happens to the stateful resources (tables, secrets) when the data
   * stack is deleted: `RETAIN` keeps them (and protects tables from deletion).
   */
  dataRemovalPolicy: RemovalPolicy;
  logRetention: RetentionDays;
  /**
   * Concurrent notifier invocations (2 is the least an SQS event source
   * allows). Slack takes about one message per second per webhook, and each
   * invocation sends one alert at a time.
   */
  notifierMaxConcurrency: number;
  /** Verified SES identity (domain or address) the notifier may send email from. */
  sesIdentity: string;
  alarms: {
    /** Raise the failing-feeds alarm when at least this many feeds fail in a poll. */
    failingFeeds: number;
    /** Consecutive poller runs over `failingFeeds` before the alarm goes off. */
    failingFeedsRuns: number;
    /** Raise the no-items alarm when no new item arrived for this long (a whole number of hours). */
    noItemsFor: Duration;
    /** Also mail alarm notifications here; others subscribe to the topic themselves. */
    email?: string;
  };
}

const DEV: StageConfig = {
  name: 'dev',
  configFile: 'infra/config/wirewatch.dev.yaml',
  pollEvery: Duration.minutes(5),
  pollerTimeout: Duration.minutes(5),
  dataRemovalPolicy: RemovalPolicy.DESTROY,
  logRetention: RetentionDays.ONE_WEEK,
  notifierMaxConcurrency: 2,
  sesIdentity: 'wirewatch.example',
  alarms: { failingFeeds: 1, failingFeedsRuns: 3, noItemsFor: Duration.hours(6) },
};

export const STAGES: Readonly<Record<StageName, StageConfig>> = {
  dev: DEV,
  prod: {
    name: 'prod',
    configFile: 'infra/config/wirewatch.prod.yaml',
    pollEvery: Duration.minutes(5),
    pollerTimeout: Duration.minutes(5),
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    logRetention: RetentionDays.THREE_MONTHS,
    notifierMaxConcurrency: 2,
    sesIdentity: 'wirewatch.example',
    alarms: { failingFeeds: 3, failingFeedsRuns: 3, noItemsFor: Duration.hours(3) },
  },
  /**
   * Never deployed: `npm run rehearse` synthesises it and runs the cloud
   * assembly offline (feeds on loopback, see its config file). Otherwise
   * like dev, so that what it proves holds for the stages that deploy.
   */
  rehearsal: {
    ...DEV,
    name: 'rehearsal',
    configFile: 'infra/config/wirewatch.rehearsal.yaml',
  },
};

/** Thrown for a missing or unknown `-c stage=...`; lists the stages there are. */
export class UnknownStageError extends Error {
  constructor(given: unknown) {
    super(
      `${given === undefined ? 'no stage given' : `unknown stage "${String(given)}"`}: ` +
        `run cdk with -c stage=<${Object.keys(STAGES).join('|')}>`,
    );
    this.name = 'UnknownStageError';
  }
}

/** The config of the stage named by the `stage` context value. */
export function stageConfig(name: unknown): StageConfig {
  if (typeof name === 'string' && Object.hasOwn(STAGES, name)) return STAGES[name as StageName];
  throw new UnknownStageError(name);
}
