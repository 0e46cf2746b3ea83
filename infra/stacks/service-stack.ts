/**
 * The compute of a wirewatch stage: the poller and the digest function on
 * EventBridge Scheduler schedules (a failed scheduled run kept in the
 * schedule dead-letter queue), the items and alerts queues (each with a
 * dead-letter queue), the classifier and notifier fed by them with partial
 * batch responses, the unsubscribe function URL, the alarms on an SNS topic,
 * and a dashboard. Tables and secrets come from the data stack as typed props.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Arn,
  CfnOutput,
  type CfnResource,
  Duration,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  DEPLOYED_CHANNELS,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
} from '../../shared/adapters/pipeline-metrics.ts';
import { TABLES } from '../../shared/adapters/tables.ts';
import { parseConfig } from '../../shared/config/config.ts';
import {
  CONSUMER_TIMEOUT_MS,
  MAX_RECEIVE_COUNT,
  VISIBILITY_TIMEOUT_MS,
} from '../../shared/pipeline/delivery-timing.ts';
import type { StageConfig } from '../config/stages.ts';
import { REPO_ROOT, WirewatchFunction } from '../constructs/wirewatch-function.ts';
import { secretId, type WirewatchSecrets, type WirewatchTables } from './data-stack.ts';

/** SQS redelivers a message only after its visibility timeout: at least 6x the consumer's timeout. */
const CLASSIFIER_TIMEOUT = Duration.millis(CONSUMER_TIMEOUT_MS);
const NOTIFIER_TIMEOUT = Duration.millis(CONSUMER_TIMEOUT_MS);
/** How often digests and quiet-hours releases are looked at: a digest goes out within this of its time. */
const DIGEST_EVERY = Duration.minutes(15);
/**
 * The queue age alarms go off when the oldest message is this many of its
 * queue's visibility timeouts old: 9 minutes for both queues (6-minute
 * timeouts). A message that failed once is received again one timeout later,
 * so a healthy pipeline with the odd transient failure stays under it; one
 * that failed twice passes it while it waits for its third receive. Later
 * ages cannot be seen: SQS leaves a message received three times or more out
 * of ApproximateAgeOfOldestMessage (its poison-pill rule), so a threshold of
 * two timeouts or more would catch only a consumer that stopped or cannot
 * keep up, never a failing message.
 */
const QUEUE_AGE_ALARM_TIMEOUTS = 1.5;
/** Share of the poller's timeout a run may take before the duration alarm goes off. */
const POLLER_DURATION_ALARM_SHARE = 0.8;

/**
 * Every alarm of the stack, by construct id. Each watches one metric, with no
 * metric math, because CloudWatch bills an alarm per metric in it:
 * `bench/cost.ts` charges this many alarm metrics, and the infra tests check
 * that the stack makes exactly these.
 */
export const ALARM_IDS = [
  'ItemsDeadLettersAlarm',
  'AlertsDeadLettersAlarm',
  'ScheduleDeadLettersAlarm',
  'PollerErrorsAlarm',
  'ClassifierErrorsAlarm',
  'NotifierErrorsAlarm',
  'DigestErrorsAlarm',
  'UnsubscribeErrorsAlarm',
  'PollerThrottlesAlarm',
  'ClassifierThrottlesAlarm',
  'NotifierThrottlesAlarm',
  'ClassifierRecordsFailedAlarm',
  'ItemsQueueAgeAlarm',
  'AlertsQueueAgeAlarm',
  'PollerDurationAlarm',
  'FailingFeedsAlarm',
  'NoItemsAlarm',
] as const;
type AlarmId = (typeof ALARM_IDS)[number];

export interface ServiceStackProps extends StackProps {
  stage: StageConfig;
  tables: WirewatchTables;
  secrets: WirewatchSecrets;
}

export class ServiceStack extends Stack {
  readonly poller: WirewatchFunction;
  readonly classifier: WirewatchFunction;
  readonly notifier: WirewatchFunction;
  /** Releases held alerts and sends digests, every `DIGEST_EVERY`. */
  readonly digest: WirewatchFunction;
  /** Serves the one-click unsubscribe links (a function URL). */
  readonly unsubscribe: WirewatchFunction;
  /**
   * Where a failed scheduled run is kept: the schedules' target dead-letter
   * queue (the invocation could not be made) and the poller's and digest
   * function's asynchronous-invocation dead-letter queue (the handler failed).
   */
  readonly scheduleDeadLetterQueue: Queue;
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { stage, tables } = props;
    const metricsNamespace = `Wirewatch/${stage.name}`;

    const configPath = join(REPO_ROOT, stage.configFile);
    // Validated at synth: a config error fails `cdk synth`, not the first cold start.
    const config = parseConfig(readFileSync(configPath, 'utf8'), configPath, {});
    const localFeed = config.feeds.find((feed) => feed.url.startsWith('local:'));
    if (localFeed) {
      throw new Error(
        `${stage.configFile}: feed ${localFeed.id} has a local: URL, which only the local runner serves`,
      );
    }
    const functionDefaults = {
      metricsNamespace,
      logRetention: stage.logRetention,
      configFile: stage.configFile,
      // Until every stage's rules live in the rules table, the watch file goes along.
      bundledFiles: [relativeToRepo(config.watchFile)],
    };

    const itemsQueues = this.queueWithDeadLetters('Items');
    const alertsQueues = this.queueWithDeadLetters('Alerts');
    // Nothing reads it: a message there is a run that failed, for ops to look at
    // (the next scheduled run does the work again). cdk-nag sees it as the
    // functions' dead-letter queue, so it needs no dead-letter queue of its own.
    this.scheduleDeadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.poller = new WirewatchFunction(this, 'Poller', {
      ...functionDefaults,
      entry: 'functions/poller.ts',
      serviceName: 'poller',
      description: 'Polls the due feeds and queues their new items',
      timeout: stage.pollerTimeout,
      memorySize: 512,
      // A failed run is not retried: the next scheduled run polls the same feeds.
      retryAttempts: 0,
      deadLetterQueue: this.scheduleDeadLetterQueue,
    })
      .bindTable(tables.feedState, TABLES.feedState, ['dynamodb:BatchWriteItem', 'dynamodb:Scan'])
      // It reads which items are new, queues them, then records them: two batched calls.
      .bindTable(tables.seenItems, TABLES.seenItems, [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ])
      .bindQueueSender(itemsQueues.queue, 'ITEMS_QUEUE_URL')
      .addEnvironment('POLL_EVERY_SECONDS', String(stage.pollEvery.toSeconds()));

    this.classifier = new WirewatchFunction(this, 'Classifier', {
      ...functionDefaults,
      entry: 'functions/classifier.ts',
      serviceName: 'classifier',
      description: 'Matches new items against the watches and queues alerts',
      timeout: CLASSIFIER_TIMEOUT,
      memorySize: 1024,
    })
      .bindTable(tables.rules, TABLES.rules, ['dynamodb:GetItem'])
      // Query: look-ups; BatchWriteItem: first reports; PutItem/GetItem: the claim on a story's strongest key.
      .bindTable(tables.storyFingerprints, TABLES.storyFingerprints, [
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
        'dynamodb:PutItem',
        'dynamodb:GetItem',
      ])
      .bindTable(tables.unsubscribes, TABLES.unsubscribes, ['dynamodb:Query'])
      .bindQueueSender(alertsQueues.queue, 'ALERTS_QUEUE_URL')
      .bindQueueSender(itemsQueues.deadLetterQueue, 'ITEMS_DLQ_URL')
      // An item still failing on its last receive is queued again (RequeuePolicy).
      .bindQueueSender(itemsQueues.queue, 'ITEMS_QUEUE_URL')
      .bindQueueConsumer(itemsQueues.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(5),
      });

    this.notifier = new WirewatchFunction(this, 'Notifier', {
      ...functionDefaults,
      entry: 'functions/notifier.ts',
      serviceName: 'notifier',
      description: 'Sends each alert once per channel (Slack, email)',
      timeout: NOTIFIER_TIMEOUT,
      memorySize: 256,
    })
      .bindTable(tables.alertLedger, TABLES.alertLedger, [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ])
      .bindTable(tables.pendingAlerts, TABLES.pendingAlerts, ['dynamodb:PutItem'])
      .bindTable(tables.unsubscribes, TABLES.unsubscribes, ['dynamodb:Query'])
      .bindQueueSender(alertsQueues.deadLetterQueue, 'ALERTS_DLQ_URL')
      // An alert still failing on its last receive (an outage) is queued again (RequeuePolicy).
      .bindQueueSender(alertsQueues.queue, 'ALERTS_QUEUE_URL')
      .addEnvironment('SECRET_ID', secretId(stage.name))
      .addEnvironment('SES_FROM', config.email.from)
      // Few alerts per invocation and few invocations: Slack takes about one message a second.
      .bindQueueConsumer(alertsQueues.queue, {
        batchSize: 5,
        maxConcurrency: stage.notifierMaxConcurrency,
      });

    this.digest = new WirewatchFunction(this, 'Digest', {
      ...functionDefaults,
      entry: 'functions/digest.ts',
      serviceName: 'digest',
      description: 'Releases alerts held by quiet hours and sends the digests that are due',
      timeout: NOTIFIER_TIMEOUT,
      memorySize: 256,
      // A failed run is not retried: the next scheduled run resumes where it stopped.
      retryAttempts: 0,
      deadLetterQueue: this.scheduleDeadLetterQueue,
    })
      .bindTable(tables.alertLedger, TABLES.alertLedger, [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ])
      .bindTable(tables.pendingAlerts, TABLES.pendingAlerts, [
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
      ])
      .bindTable(tables.unsubscribes, TABLES.unsubscribes, ['dynamodb:Query'])
      .bindQueueSender(alertsQueues.queue, 'ALERTS_QUEUE_URL')
      .bindQueueSender(alertsQueues.deadLetterQueue, 'ALERTS_DLQ_URL')
      // An alert still failing on its last receive (an outage) is queued again (RequeuePolicy).
      .bindQueueSender(alertsQueues.queue, 'ALERTS_QUEUE_URL')
      .addEnvironment('SECRET_ID', secretId(stage.name))
      .addEnvironment('SES_FROM', config.email.from);

    this.unsubscribe = new WirewatchFunction(this, 'Unsubscribe', {
      ...functionDefaults,
      entry: 'functions/unsubscribe.ts',
      serviceName: 'unsubscribe',
      description: 'One-click unsubscribe page of the alert emails (RFC 8058)',
      timeout: Duration.seconds(10),
      memorySize: 256,
    })
      .bindTable(tables.unsubscribes, TABLES.unsubscribes, ['dynamodb:PutItem', 'dynamodb:Query'])
      .addEnvironment('SECRET_ID', secretId(stage.name));
    // Mail providers POST to the link without credentials (RFC 8058): the
    // signed token in the URL is the authorisation.
    const unsubscribeUrl = this.unsubscribe.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
    });
    for (const fn of [this.notifier, this.digest]) {
      fn.addEnvironment('UNSUBSCRIBE_URL', unsubscribeUrl.url);
    }
    new CfnOutput(this, 'UnsubscribeUrl', {
      value: unsubscribeUrl.url,
      description: 'Where the one-click unsubscribe links of emails point',
    });

    for (const fn of [this.notifier, this.digest, this.unsubscribe]) {
      if (props.secrets.secret) {
        fn.role.addToPrincipalPolicy(
          new PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [props.secrets.secret.secretArn],
          }),
        );
      }
    }
    for (const fn of [this.notifier, this.digest]) {
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [
            Arn.format(
              { service: 'ses', resource: 'identity', resourceName: stage.sesIdentity },
              this,
            ),
          ],
        }),
      );
    }

    new Schedule(this, 'DigestSchedule', {
      description: `Runs the wirewatch ${stage.name} digests and quiet-hours releases`,
      schedule: ScheduleExpression.rate(DIGEST_EVERY),
      target: new LambdaInvoke(this.digest.function, {
        retryAttempts: 0,
        maxEventAge: DIGEST_EVERY,
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.digest.function.node.defaultChild as CfnResource)}.Arn>:*]`,
      reason:
        'The schedule target role may invoke only the digest function; the :* suffix covers its ' +
        'versions and aliases, as grantInvoke writes it.',
    });

    const schedule = new Schedule(this, 'PollSchedule', {
      description: `Runs the wirewatch ${stage.name} poller`,
      schedule: ScheduleExpression.rate(stage.pollEvery),
      target: new LambdaInvoke(this.poller.function, {
        retryAttempts: 2,
        maxEventAge: stage.pollEvery,
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });

    // The scheduler's role may invoke the poller and its versions (`<arn>:*`), as `grantInvoke` writes it.
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.poller.function.node.defaultChild as CfnResource)}.Arn>:*]`,
      reason:
        'The schedule target role may invoke only the poller; the :* suffix covers its ' +
        'versions and aliases, as grantInvoke writes it.',
    });

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `wirewatch ${stage.name} alarms`,
      enforceSSL: true,
    });
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, ' +
        'a customer-managed key costs more than the whole pipeline at its target scale, and ' +
        'alarm notifications carry no secret or feed content.',
    });
    if (stage.alarms.email) {
      this.alarmTopic.addSubscription(new EmailSubscription(stage.alarms.email));
    }

    const custom = (
      service: string,
      metricName: string,
      statistic: string,
      period: Duration,
      dimensions: Record<string, string> = {},
    ): Metric =>
      new Metric({
        namespace: metricsNamespace,
        metricName,
        statistic,
        period,
        dimensionsMap: { service, ...dimensions },
      });
    // Each new item is one message on the items queue and each alert one on the
    // alerts queue: SQS's free metrics carry those figures, no custom metric needed.
    const itemsNew = (period: Duration): Metric =>
      itemsQueues.queue.metricNumberOfMessagesSent({ period, statistic: 'Sum' });

    // One metric per alarm (see ALARM_IDS); each goes off on its first breaching period.
    const alarms: Alarm[] = [];
    const addAlarm = (
      id: AlarmId,
      alarmProps: Omit<AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number },
    ): void => {
      alarms.push(
        new Alarm(this, id, {
          ...alarmProps,
          evaluationPeriods: alarmProps.evaluationPeriods ?? 1,
        }),
      );
    };
    const atLeast = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const fiveMinutes = Duration.minutes(5);
    /** An alarm on any occurrence in five minutes; no data means none occurred. */
    const alarmOnAny = (id: AlarmId, alarmDescription: string, metric: Metric): void =>
      addAlarm(id, {
        alarmDescription,
        metric,
        threshold: 1,
        comparisonOperator: atLeast,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    for (const [name, deadLetterQueue, description] of [
      [
        'Items',
        itemsQueues.deadLetterQueue,
        'items messages in the dead-letter queue: read their reason, fix, redrive',
      ],
      [
        'Alerts',
        alertsQueues.deadLetterQueue,
        'alerts messages in the dead-letter queue: read their reason, fix, redrive',
      ],
      [
        'Schedule',
        this.scheduleDeadLetterQueue,
        'a scheduled run (poller, digest) failed or could not be invoked: the message holds ' +
          'the event and the error; fix, then purge (the next run does the work again)',
      ],
    ] as const) {
      alarmOnAny(
        `${name}DeadLettersAlarm`,
        description,
        deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
      );
    }
    const throttleWatched = [
      ['Poller', this.poller],
      ['Classifier', this.classifier],
      ['Notifier', this.notifier],
    ] as const;
    for (const [name, fn] of [
      ...throttleWatched,
      ['Digest', this.digest],
      ['Unsubscribe', this.unsubscribe],
    ] as const) {
      alarmOnAny(
        `${name}ErrorsAlarm`,
        `${name} invocations failed as a whole`,
        fn.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      );
    }
    // Throttles where invocations wait behind a limit: the SQS consumers and the poller.
    for (const [name, fn] of throttleWatched) {
      alarmOnAny(
        `${name}ThrottlesAlarm`,
        `${name} invocations throttled`,
        fn.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      );
    }
    addAlarm('ClassifierRecordsFailedAlarm', {
      alarmDescription:
        'classifier reported items failed (partial batch response): they are retried, and end ' +
        "in the dead-letter queue after maxReceiveCount receives; the classifier log's " +
        '"message failed" lines give the reason',
      metric: custom('classifier', METRIC_NAMES.recordsFailed, 'Sum', fiveMinutes),
      threshold: 1,
      comparisonOperator: atLeast,
      // Written only by an invocation with failures: no data is none failed.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    for (const [name, queues] of [
      ['Items', itemsQueues],
      ['Alerts', alertsQueues],
    ] as const) {
      const age = Duration.seconds(
        Math.round(queues.visibilityTimeout.toSeconds() * QUEUE_AGE_ALARM_TIMEOUTS),
      );
      addAlarm(`${name}QueueAgeAlarm`, {
        alarmDescription:
          `the oldest message of the ${name.toLowerCase()} queue waits ${age.toHumanString()} or more: ` +
          'a message that failed twice, or a consumer that stopped or cannot keep up',
        metric: queues.queue.metricApproximateAgeOfOldestMessage({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: age.toSeconds(),
        comparisonOperator: atLeast,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    const pollerDurationLimit = Math.round(
      stage.pollerTimeout.toMilliseconds() * POLLER_DURATION_ALARM_SHARE,
    );
    addAlarm('PollerDurationAlarm', {
      alarmDescription:
        `a poller run took ${POLLER_DURATION_ALARM_SHARE * 100}% of its ` +
        `${stage.pollerTimeout.toHumanString()} timeout or more: slow feeds, or too many for one run`,
      metric: this.poller.function.metricDuration({
        period: stage.pollEvery,
        statistic: 'Maximum',
      }),
      threshold: pollerDurationLimit,
      comparisonOperator: atLeast,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const { failingFeeds, failingFeedsRuns, noItemsFor } = stage.alarms;
    addAlarm('FailingFeedsAlarm', {
      alarmDescription:
        `${failingFeeds} or more feeds failed in ${failingFeedsRuns} polls in a row: ` +
        'the poller log\'s "feed unhealthy" lines name them (see the dashboard)',
      metric: custom('poller', METRIC_NAMES.failingFeeds, 'Minimum', stage.pollEvery),
      threshold: failingFeeds,
      comparisonOperator: atLeast,
      evaluationPeriods: failingFeedsRuns,
      treatMissingData: TreatMissingData.IGNORE,
    });
    addAlarm('NoItemsAlarm', {
      alarmDescription: `no new item for ${noItemsFor.toHumanString()}: feeds down, or the poller not running`,
      metric: itemsNew(noItemsFor),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // The classifier's long polls keep the queue active, so SQS reports 0 when no item
      // came; no data at all is treated as none came either.
      treatMissingData: TreatMissingData.BREACHING,
    });
    const alarmAction = new SnsAction(this.alarmTopic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(alarmAction);
      alarm.addOkAction(alarmAction);
    }

    // One dashboard of at most 50 metrics: within the three CloudWatch gives free.
    const period = Duration.minutes(15);
    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `wirewatch-${stage.name}`,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Items polled and new',
        left: [
          custom('poller', METRIC_NAMES.itemsPolled, 'Sum', period).with({ label: 'polled' }),
          itemsNew(period).with({ label: 'new' }),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Matches queued as alerts',
        left: [
          alertsQueues.queue
            .metricNumberOfMessagesSent({ period, statistic: 'Sum' })
            .with({ label: 'alerts queued' }),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Alerts sent per channel',
        left: DEPLOYED_CHANNELS.map((channel) =>
          custom('notifier', METRIC_NAMES.alertsSent, 'Sum', period, {
            [METRIC_DIMENSIONS.channel]: channel,
          }).with({ label: channel }),
        ),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Failing feeds',
        left: [
          custom('poller', METRIC_NAMES.failingFeeds, 'Maximum', period).with({
            label: 'failing',
          }),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Alert deliveries failed',
        left: [
          new MathExpression({
            // A message the notifier did not delete is one it reported failed, to be retried.
            expression: 'IF(received > deleted, received - deleted, 0)',
            usingMetrics: {
              received: alertsQueues.queue.metricNumberOfMessagesReceived({ period }),
              deleted: alertsQueues.queue.metricNumberOfMessagesDeleted({ period }),
            },
            label: 'retried',
            period,
          }),
          alertsQueues.deadLetterQueue
            .metricNumberOfMessagesSent({ period, statistic: 'Sum' })
            .with({ label: 'rejected (dead-lettered)' }),
        ],
        width: 8,
      }),
      new SingleValueWidget({
        title: 'Dead letters',
        metrics: [
          itemsQueues.deadLetterQueue
            .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })
            .with({ label: 'items' }),
          alertsQueues.deadLetterQueue
            .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })
            .with({ label: 'alerts' }),
          this.scheduleDeadLetterQueue
            .metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })
            .with({ label: 'scheduled runs' }),
        ],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Function errors and throttles',
        left: [
          ...[this.poller, this.classifier, this.notifier, this.digest, this.unsubscribe].map(
            (fn) =>
              fn.function.metricErrors({ period, statistic: 'Sum' }).with({ label: fn.node.id }),
          ),
          custom('classifier', METRIC_NAMES.recordsFailed, 'Sum', period).with({
            label: 'classifier items failed',
          }),
        ],
        right: [
          new MathExpression({
            expression: 'p + c + n',
            usingMetrics: {
              p: this.poller.function.metricThrottles({ period }),
              c: this.classifier.function.metricThrottles({ period }),
              n: this.notifier.function.metricThrottles({ period }),
            },
            label: 'throttles',
            period,
          }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Oldest message age (s)',
        left: [
          itemsQueues.queue
            .metricApproximateAgeOfOldestMessage({ period })
            .with({ label: 'items' }),
          alertsQueues.queue
            .metricApproximateAgeOfOldestMessage({ period })
            .with({ label: 'alerts' }),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Unhealthy feeds (poller log)',
        logGroupNames: [this.poller.logGroup.logGroupName],
        queryLines: [
          'filter message = "feed unhealthy"',
          'stats count(*) as polls, latest(status) as status, latest(kind) as kind, latest(detail) as detail by feedId',
          'sort polls desc',
          'limit 20',
        ],
        width: 24,
      }),
    );

    const outputs: Record<string, { value: string; description: string }> = {
      ItemsQueueUrl: { value: itemsQueues.queue.queueUrl, description: 'Items queue' },
      ItemsDeadLetterQueueUrl: {
        value: itemsQueues.deadLetterQueue.queueUrl,
        description: 'Dead letters of the items queue',
      },
      AlertsQueueUrl: { value: alertsQueues.queue.queueUrl, description: 'Alerts queue' },
      AlertsDeadLetterQueueUrl: {
        value: alertsQueues.deadLetterQueue.queueUrl,
        description: 'Dead letters of the alerts queue',
      },
      ScheduleDeadLetterQueueUrl: {
        value: this.scheduleDeadLetterQueue.queueUrl,
        description: 'Failed scheduled runs of the poller and the digest function',
      },
      AlarmTopicArn: {
        value: this.alarmTopic.topicArn,
        description: 'Subscribe to receive the alarms',
      },
      PollScheduleName: { value: schedule.scheduleName, description: 'The poller schedule' },
      DashboardName: { value: dashboard.dashboardName, description: 'CloudWatch dashboard' },
    };
    for (const [outputId, output] of Object.entries(outputs)) {
      new CfnOutput(this, outputId, output);
    }
  }

  /**
   * A standard queue and its dead-letter queue, with the visibility timeout
   * and receive limit of `shared/pipeline/delivery-timing.ts`, which the
   * embedded stack uses too: longer than the consumers' timeout and than the
   * ledger's claim lease, so a send cut short is sent again, not dead-lettered.
   */
  private queueWithDeadLetters(name: string) {
    const deadLetterQueue = new Queue(this, `${name}DeadLetterQueue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const visibilityTimeout = Duration.millis(VISIBILITY_TIMEOUT_MS);
    const queue = new Queue(this, `${name}Queue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    return { queue, deadLetterQueue, visibilityTimeout };
  }
}

function relativeToRepo(absolute: string): string {
  if (!absolute.startsWith(REPO_ROOT)) {
    throw new Error(`${absolute} is outside the repository and cannot be bundled`);
  }
  return absolute.slice(REPO_ROOT.length);
}
