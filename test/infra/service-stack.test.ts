import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXED } from '../../bench/cost.ts';
import { STAGES } from '../../infra/config/stages.ts';
import { LAMBDA_TASK_ROOT } from '../../infra/constructs/wirewatch-function.ts';
import { ALARM_IDS } from '../../infra/stacks/service-stack.ts';
import { CUSTOM_METRIC_COUNT } from '../../shared/adapters/pipeline-metrics.ts';
import { MAX_RECEIVE_COUNT } from '../../shared/pipeline/delivery-timing.ts';
import { type SynthesisedStage, synthStage } from './synth-stage.ts';

const run = promisify(execFile);

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json & {
    Handler?: string;
    Code?: { S3Key?: string };
    Environment?: { Variables: Record<string, unknown> };
  };
}

let synthesised: SynthesisedStage;
let resources: Record<string, Resource>;
const stage = STAGES.dev;

/** The logical id of the one resource of `type` under the construct path `path`. */
function logicalIdAt(type: string, path: string): string {
  const found = Object.entries(
    synthesised.serviceTemplate.findResources(type, {
      Metadata: { 'aws:cdk:path': Match.stringLikeRegexp(`^${path}/`) },
    }),
  );
  expect(found, `${type} under ${path}`).toHaveLength(1);
  return found[0]?.[0] ?? '';
}

function functionOf(name: string): Resource {
  const id = logicalIdAt('AWS::Lambda::Function', `${synthesised.service.node.path}/${name}`);
  const resource = resources[id];
  if (!resource) throw new Error(`no function ${name}`);
  return resource;
}

beforeAll(() => {
  synthesised = synthStage('dev');
  resources = synthesised.serviceTemplate.toJSON().Resources as Record<string, Resource>;
}, 120_000);

describe('the functions', () => {
  it.each(['Poller', 'Classifier', 'Notifier', 'Digest', 'Unsubscribe'])(
    "%s's handler setting names a function exported by its bundle",
    async (name) => {
      const fn = functionOf(name);
      const [file, exportName] = (fn.Properties.Handler ?? '').split('.');
      const assetDir = join(
        synthesised.assembly.directory,
        `asset.${fn.Properties.Code?.S3Key?.replace(/\.zip$/, '')}`,
      );
      const bundle = join(assetDir, `${file}.mjs`);
      // Tokens (table names, queue URLs) become placeholders; the config path
      // moves from Lambda's task root to the asset directory.
      const environment = Object.fromEntries(
        Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([key, value]) => [
          key,
          typeof value === 'string'
            ? value.replace(LAMBDA_TASK_ROOT, assetDir)
            : 'https://sqs.eu-west-1.amazonaws.com/123456789012/placeholder',
        ]),
      );

      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(`file://${bundle}`)}); console.log(typeof m[${JSON.stringify(exportName)}]);`,
        ],
        {
          cwd: assetDir,
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'eu-west-1',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            ...environment,
          },
        },
      );

      expect(stdout.trim()).toBe('function');
    },
    30_000,
  );

  it.each(['Poller', 'Classifier', 'Notifier', 'Digest', 'Unsubscribe'])(
    '%s runs Node.js 22 on ARM64 with source maps and Powertools settings',
    (name) => {
      const fn = functionOf(name);

      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: {
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_SERVICE_NAME: name.toLowerCase(),
            POWERTOOLS_METRICS_NAMESPACE: 'Wirewatch/dev',
          },
        },
      });
    },
  );

  it('bundles the stage config file and the watch file it names', () => {
    const fn = functionOf('Poller');
    const configPath = fn.Properties.Environment?.Variables.WIREWATCH_CONFIG;
    const assetDir = join(
      synthesised.assembly.directory,
      `asset.${fn.Properties.Code?.S3Key?.replace(/\.zip$/, '')}`,
    );

    expect(configPath).toBe(`${LAMBDA_TASK_ROOT}/${stage.configFile}`);
    expect(existsSync(join(assetDir, stage.configFile))).toBe(true);
    expect(existsSync(join(assetDir, 'samples/watches.yaml'))).toBe(true);
    expect(statSync(join(assetDir, 'index.mjs.map')).size).toBeGreaterThan(0);
  });

  it('keeps no secret in any environment variable, only the secret id', () => {
    const variables = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .flatMap((r) => Object.keys(r.Properties.Environment?.Variables ?? {}));

    expect(variables.filter((v) => /SLACK|SMTP|PASSWORD|WEBHOOK/.test(v))).toEqual([]);
    expect(functionOf('Notifier').Properties.Environment?.Variables.SECRET_ID).toBe(
      'wirewatch/dev/secrets',
    );
  });

  it('writes each function log to its own log group with the stage retention', () => {
    synthesised.serviceTemplate.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { RetentionInDays: 7 },
      5,
    );
    for (const name of ['Poller', 'Classifier', 'Notifier', 'Digest', 'Unsubscribe']) {
      const logGroupId = logicalIdAt(
        'AWS::Logs::LogGroup',
        `${synthesised.service.node.path}/${name}`,
      );
      expect(functionOf(name).Properties.LoggingConfig).toEqual({
        LogGroup: { Ref: logGroupId },
      });
    }
  });
});

describe('least privilege', () => {
  it('grants every role exactly what the rehearsed stage grants, whose calls test/infra/rehearsal.test.ts checks', () => {
    const rehearsal = synthStage('rehearsal', { bundle: false });
    const policiesOf = (synthesisedStage: SynthesisedStage, name: string) =>
      JSON.stringify(
        Object.values(
          synthesisedStage.serviceTemplate.findResources('AWS::IAM::Policy', {
            Metadata: { 'aws:cdk:path': Match.stringLikeRegexp(`/${name}/`) },
          }),
        ).map((policy) => policy.Properties.PolicyDocument),
      ).replaceAll(
        `wirewatch-${synthesisedStage === rehearsal ? 'rehearsal' : stage.name}-`,
        'wirewatch-STAGE-',
      );
    for (const name of ['Poller', 'Classifier', 'Notifier', 'Digest', 'Unsubscribe']) {
      expect(policiesOf(synthesised, name), name).toEqual(policiesOf(rehearsal, name));
      expect(policiesOf(synthesised, name), name).toContain('logs:PutLogEvents');
    }
  }, 120_000);

  it('serves the unsubscribe page on a public function URL and gives its address to the senders', () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    for (const name of ['Notifier', 'Digest']) {
      expect(functionOf(name).Properties.Environment?.Variables.UNSUBSCRIBE_URL).toBeDefined();
    }
  });

  it('runs the digest function on a 15-minute schedule', () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
    });
  });

  it('grants no wildcard action and no resource "*" anywhere', () => {
    const statements = Object.values(
      synthesised.serviceTemplate.findResources('AWS::IAM::Policy'),
    ).flatMap((policy) => policy.Properties.PolicyDocument.Statement as Json[]);

    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect([statement.Action].flat().filter((a) => String(a).includes('*'))).toEqual([]);
      expect([statement.Resource].flat()).not.toContain('*');
    }
    synthesised.serviceTemplate.resourcePropertiesCountIs(
      'AWS::IAM::Role',
      { ManagedPolicyArns: Match.anyValue() },
      0,
    );
  });
});

describe('queues', () => {
  it.each([
    ['Items', 'Classifier'],
    ['Alerts', 'Notifier'],
  ])('%s queue sends to its dead-letter queue after maxReceiveCount receives', (queue) => {
    const queueId = logicalIdAt(
      'AWS::SQS::Queue',
      `${synthesised.service.node.path}/${queue}Queue`,
    );
    const dlqId = logicalIdAt(
      'AWS::SQS::Queue',
      `${synthesised.service.node.path}/${queue}DeadLetterQueue`,
    );

    expect(resources[queueId]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    expect(resources[dlqId]?.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it.each([
    ['Items', 'Classifier'],
    ['Alerts', 'Notifier'],
  ])('%s queue hides a message for at least 6 times the %s timeout', (queue, consumer) => {
    const queueId = logicalIdAt(
      'AWS::SQS::Queue',
      `${synthesised.service.node.path}/${queue}Queue`,
    );
    const visibility = resources[queueId]?.Properties.VisibilityTimeout as number;
    const timeout = functionOf(consumer).Properties.Timeout as number;

    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it.each([
    ['Items', 'Classifier'],
    ['Alerts', 'Notifier'],
  ])('%s queue feeds the %s with partial batch responses', (queue, consumer) => {
    const queueId = logicalIdAt(
      'AWS::SQS::Queue',
      `${synthesised.service.node.path}/${queue}Queue`,
    );
    const functionId = logicalIdAt(
      'AWS::Lambda::Function',
      `${synthesised.service.node.path}/${consumer}`,
    );

    synthesised.serviceTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: functionId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('caps the notifier concurrency for Slack rate limits', () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: {
        Ref: logicalIdAt('AWS::Lambda::Function', `${synthesised.service.node.path}/Notifier`),
      },
      ScalingConfig: { MaximumConcurrency: stage.notifierMaxConcurrency },
    });
  });

  it('encrypts every queue and refuses requests without TLS', () => {
    synthesised.serviceTemplate.resourcePropertiesCountIs(
      'AWS::SQS::Queue',
      { SqsManagedSseEnabled: true },
      5,
    );
    synthesised.serviceTemplate.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      },
      5,
    );
  });
});

describe('the poll schedule', () => {
  it('invokes the poller at the stage rate without retrying a failed run', () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: {
        Arn: {
          'Fn::GetAtt': [
            logicalIdAt('AWS::Lambda::Function', `${synthesised.service.node.path}/Poller`),
            'Arn',
          ],
        },
      },
    });
    synthesised.serviceTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
    });
  });
});

/** The construct path of the service stack's resource `id`. */
function pathOf(id: string): string {
  return `${synthesised.service.node.path}/${id}`;
}

/** `Fn::GetAtt` of the schedule dead-letter queue's ARN. */
function scheduleDeadLetterQueueArn(): { 'Fn::GetAtt': [string, string] } {
  return {
    'Fn::GetAtt': [logicalIdAt('AWS::SQS::Queue', pathOf('ScheduleDeadLetterQueue')), 'Arn'],
  };
}

describe('the schedule dead-letter queue', () => {
  it('keeps failed scheduled runs 14 days, encrypted, refusing requests without TLS', () => {
    const id = logicalIdAt('AWS::SQS::Queue', pathOf('ScheduleDeadLetterQueue'));

    expect(resources[id]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
    synthesised.serviceTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it.each(['Poller', 'Digest'])(
    "receives the %s schedule's invocations that could not be made",
    (name) => {
      synthesised.serviceTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
        Target: {
          Arn: { 'Fn::GetAtt': [logicalIdAt('AWS::Lambda::Function', pathOf(name)), 'Arn'] },
          DeadLetterConfig: { Arn: scheduleDeadLetterQueueArn() },
        },
      });
    },
  );

  it.each(['Poller', 'Digest'])(
    "receives the %s function's scheduled runs that failed in the handler",
    (name) => {
      expect(functionOf(name).Properties.DeadLetterConfig).toEqual({
        TargetArn: scheduleDeadLetterQueueArn(),
      });
    },
  );

  it('is written by the schedules and the scheduled functions only', () => {
    const senders = Object.values(
      synthesised.serviceTemplate.findResources('AWS::IAM::Policy'),
    ).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Json[])
        .filter(
          (statement) =>
            JSON.stringify(statement.Resource) === JSON.stringify(scheduleDeadLetterQueueArn()),
        )
        .map((statement) => ({
          actions: statement.Action,
          roles: policy.Properties.Roles as { Ref: string }[],
        })),
    );
    const schedulerRoles = Object.values(
      synthesised.serviceTemplate.findResources('AWS::Scheduler::Schedule'),
    ).map(
      (schedule) =>
        (schedule.Properties.Target.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0],
    );
    const functionRoles = ['Poller', 'Digest'].map((name) =>
      logicalIdAt('AWS::IAM::Role', pathOf(name)),
    );

    expect(schedulerRoles).toHaveLength(2);
    expect(senders.map((s) => s.actions)).toEqual(senders.map(() => 'sqs:SendMessage'));
    expect(senders.flatMap((s) => s.roles.map((role) => role.Ref)).sort()).toEqual(
      [...schedulerRoles, ...functionRoles].sort(),
    );
  });
});

describe('alarms', () => {
  it('sends every alarm and its recovery to the alarm topic', () => {
    const topicId = logicalIdAt('AWS::SNS::Topic', `${synthesised.service.node.path}/AlarmTopic`);
    const alarms = Object.values(
      synthesised.serviceTemplate.findResources('AWS::CloudWatch::Alarm'),
    );

    expect(alarms).toHaveLength(ALARM_IDS.length);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it.each(['ItemsDeadLetterQueue', 'AlertsDeadLetterQueue', 'ScheduleDeadLetterQueue'])(
    'goes off on one message in %s',
    (dlq) => {
      synthesised.serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: {
              'Fn::GetAtt': [
                logicalIdAt('AWS::SQS::Queue', `${synthesised.service.node.path}/${dlq}`),
                'QueueName',
              ],
            },
          },
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    },
  );

  it.each([
    ['Errors', ['Poller', 'Classifier', 'Notifier', 'Digest', 'Unsubscribe']],
    ['Throttles', ['Poller', 'Classifier', 'Notifier']],
  ])('goes off on one of %s of %j', (metricName, names) => {
    for (const name of names) {
      synthesised.serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [
          {
            Name: 'FunctionName',
            Value: {
              Ref: logicalIdAt('AWS::Lambda::Function', `${synthesised.service.node.path}/${name}`),
            },
          },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('goes off within 5 minutes on one item the classifier reported failed, not only at the dead-letter queue', () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Wirewatch/dev',
      MetricName: 'RecordsFailed',
      Dimensions: [{ Name: 'service', Value: 'classifier' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      // Written only by an invocation with failures.
      TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['Items', 'Classifier'],
    ['Alerts', 'Notifier'],
  ])(
    "goes off on the %s queue's oldest message once it failed twice: after one retry, before SQS stops counting its age",
    (queue) => {
      const queueId = logicalIdAt('AWS::SQS::Queue', pathOf(`${queue}Queue`));
      const visibility = resources[queueId]?.Properties.VisibilityTimeout as number;
      const [alarm] = Object.values(
        synthesised.serviceTemplate.findResources('AWS::CloudWatch::Alarm', {
          Properties: {
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
          },
        }),
      );
      const threshold = alarm?.Properties.Threshold as number;

      expect(alarm?.Properties).toMatchObject({
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      // A message retried once is visible again after one visibility timeout; SQS
      // leaves a message received three times out of the metric (poison-pill rule).
      expect(threshold).toBeGreaterThan(visibility);
      expect(threshold).toBeLessThan(2 * visibility);
    },
  );

  it("goes off when a poller run takes 80% of the poller's timeout", () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Dimensions: [
        {
          Name: 'FunctionName',
          Value: { Ref: logicalIdAt('AWS::Lambda::Function', pathOf('Poller')) },
        },
      ],
      Statistic: 'Maximum',
      Threshold: stage.pollerTimeout.toMilliseconds() * 0.8,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("goes off on the poller's failing feeds for several polls in a row", () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Wirewatch/dev',
      MetricName: 'FailingFeeds',
      Dimensions: [{ Name: 'service', Value: 'poller' }],
      Threshold: stage.alarms.failingFeeds,
      EvaluationPeriods: stage.alarms.failingFeedsRuns,
      Period: stage.pollEvery.toSeconds(),
    });
  });

  it('goes off when the items queue received no new item for the stage period, also when it reports nothing', () => {
    synthesised.serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [
              logicalIdAt('AWS::SQS::Queue', `${synthesised.service.node.path}/ItemsQueue`),
              'QueueName',
            ],
          },
        },
      ],
      Statistic: 'Sum',
      Period: stage.alarms.noItemsFor.toSeconds(),
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('makes exactly the alarms bench/cost.ts charges, each of one metric with no metric math', () => {
    const alarms = synthesised.serviceTemplate.findResources('AWS::CloudWatch::Alarm');
    const ids = Object.values(alarms).map((alarm) =>
      String(alarm.Metadata?.['aws:cdk:path'])
        .replace(`${synthesised.service.node.path}/`, '')
        .replace(/\/Resource$/, ''),
    );

    expect(ids.sort()).toEqual([...ALARM_IDS].sort());
    expect(FIXED.alarms).toBe(ids.length);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.MetricName).toEqual(expect.any(String));
      expect(alarm.Properties.Metrics).toBeUndefined();
    }
  });
});

/** The dashboard body as JSON, with every CloudFormation token replaced by `TOKEN`. */
function dashboardBody(): { widgets: { properties: { metrics?: unknown[][] } }[] } {
  const dashboards = Object.values(
    synthesised.serviceTemplate.findResources('AWS::CloudWatch::Dashboard'),
  );
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody as
    | string
    | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text);
}

describe('custom metrics and the dashboard', () => {
  it('writes no metric filter: every figure comes from Powertools metrics or AWS metrics', () => {
    synthesised.serviceTemplate.resourceCountIs('AWS::Logs::MetricFilter', 0);
  });

  it('shows at most 50 metrics on its one dashboard, within the free allowance', () => {
    const metrics = dashboardBody().widgets.flatMap((widget) => widget.properties.metrics ?? []);

    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics.length).toBeLessThanOrEqual(50);
  });

  it("graphs every function's errors", () => {
    const functionIds = ['Poller', 'Classifier', 'Notifier', 'Digest', 'Unsubscribe'].map((name) =>
      logicalIdAt('AWS::Lambda::Function', pathOf(name)),
    );
    const dashboard = JSON.stringify(
      Object.values(synthesised.serviceTemplate.findResources('AWS::CloudWatch::Dashboard'))[0]
        ?.Properties.DashboardBody,
    );
    const errorsWidget = dashboardBody().widgets.find((widget) =>
      (widget.properties.metrics ?? []).some((metric) => metric[1] === 'Errors'),
    );

    expect(
      errorsWidget?.properties.metrics?.filter((metric) => metric[1] === 'Errors'),
    ).toHaveLength(functionIds.length);
    for (const id of functionIds) expect(dashboard).toContain(`"Ref":"${id}"`);
  });

  it('reads only the custom metrics the functions write, as many as CUSTOM_METRIC_COUNT', () => {
    const namespace = 'Wirewatch/dev';
    /** A metric's identity, as CloudWatch bills it: name and dimensions, in a stable order. */
    const key = (name: unknown, dimensions: [unknown, unknown][]): string =>
      `${name} ${dimensions
        .map(([n, v]) => `${n}=${v}`)
        .sort()
        .join(',')}`;
    const onDashboard = dashboardBody()
      .widgets.flatMap((widget) => widget.properties.metrics ?? [])
      .filter((metric) => metric[0] === namespace)
      .map((metric) => {
        // [namespace, name, dimension, value, ..., options]
        const parts = metric.filter((part) => typeof part === 'string').slice(2);
        const pairs: [unknown, unknown][] = [];
        for (let i = 0; i < parts.length; i += 2) pairs.push([parts[i], parts[i + 1]]);
        return key(metric[1], pairs);
      });
    const inAlarms = Object.values(
      synthesised.serviceTemplate.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Namespace: namespace },
      }),
    ).map((alarm) =>
      key(
        alarm.Properties.MetricName,
        (alarm.Properties.Dimensions as { Name: string; Value: string }[]).map((d) => [
          d.Name,
          d.Value,
        ]),
      ),
    );

    const distinct = [...new Set([...onDashboard, ...inAlarms])].sort();
    expect(distinct).toEqual([
      'AlertsSent channel=email,service=notifier',
      'AlertsSent channel=slack,service=notifier',
      'FailingFeeds service=poller',
      'ItemsPolled service=poller',
      'RecordsFailed service=classifier',
    ]);
    expect(distinct).toHaveLength(CUSTOM_METRIC_COUNT);
    expect(FIXED.customMetrics).toBe(CUSTOM_METRIC_COUNT);
  });
});

describe('outputs', () => {
  it('publishes the queue URLs and the alarm topic', () => {
    const outputs = synthesised.serviceTemplate.toJSON().Outputs as Record<string, unknown>;

    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'ItemsQueueUrl',
        'ItemsDeadLetterQueueUrl',
        'AlertsQueueUrl',
        'AlertsDeadLetterQueueUrl',
        'ScheduleDeadLetterQueueUrl',
        'AlarmTopicArn',
      ]),
    );
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding (synthesis fails on one)', () => {
    const report = JSON.parse(
      readFileSync(join(synthesised.assembly.directory, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: unknown[] };

    expect(report.pluginReports).toEqual([]);
  });

  it('acknowledges every finding with a written reason', () => {
    const acknowledged = [synthesised.data, synthesised.service].flatMap((stack) =>
      stack.node
        .findAll()
        .flatMap((construct) => construct.node.metadata)
        .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .map(([id, reason]) => ({ id, reason })),
    );

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged) {
      expect(reason.length, id).toBeGreaterThan(40);
    }
  });
});
