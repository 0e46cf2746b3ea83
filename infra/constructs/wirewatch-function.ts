/**
 * A wirewatch Lambda function with every default in one place: Node.js 22 on
 * ARM64, bundled locally by esbuild as ES modules with source maps, a log
 * group with the stage's retention, Powertools logging and metrics settings,
 * its own role with no managed policy, the stage's config file copied
 * into the bundle, and optionally a dead-letter queue for failed asynchronous
 * invocations. Access is added with `bindTable` and `bindQueueSender`,
 * which grant the actions and set the environment variable in one call so
 * the two never drift.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TableDefinition } from '../../shared/adapters/tables.ts';

/** The repository root: the esbuild project root and the base of bundled file paths. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where Lambda unpacks a function's code. */
export const LAMBDA_TASK_ROOT = '/var/task';

/** DynamoDB actions a function may be granted; each function lists what its adapters send. */
export type DynamoAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:Query'
  | 'dynamodb:Scan';

/** How a function consumes a queue (`bindQueueConsumer`). */
export interface QueueConsumerOptions {
  batchSize: number;
  /** How long Lambda gathers messages before invoking with fewer than `batchSize`. */
  maxBatchingWindow?: Duration;
  /** Concurrent invocations at most (2 is the least an SQS event source allows). */
  maxConcurrency?: number;
}

export interface WirewatchFunctionProps {
  /** The handler file from the repository root, e.g. `functions/poller.ts`; it exports `handler`. */
  entry: string;
  /** The service name of its logs and metrics, e.g. `poller`. */
  serviceName: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  /** Namespace of the custom metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
  metricsNamespace: string;
  logRetention: RetentionDays;
  /**
   * The config file the function runs with, as a path from the repository
   * root. It is copied into the bundle and named by `WIREWATCH_CONFIG`.
   */
  configFile: string;
  /**
   * More files the config refers to (the watch file), as paths from the
   * repository root. Like the config file, each is copied into the bundle at
   * the same relative path, so that relative references between them hold.
   */
  bundledFiles: readonly string[];
  /** Async invocations retried by Lambda; only meaningful for scheduled functions. */
  retryAttempts?: number;
  /**
   * Where Lambda keeps an asynchronous invocation (a scheduled run) that
   * failed after its `retryAttempts`, so a handler error is not only a log
   * line; the role is granted sending to it. None by default.
   */
  deadLetterQueue?: IQueue;
}

export class WirewatchFunction extends Construct {
  /** The name of the exported handler every file in `functions/` has. */
  static readonly HANDLER_EXPORT = 'handler';

  readonly function: NodejsFunction;
  readonly role: IRole;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: WirewatchFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'LogGroup', { retention: props.logRetention });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `wirewatch ${props.serviceName}: only what its adapters send`,
    });
    this.role = role;
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, props.entry),
      handler: WirewatchFunction.HANDLER_EXPORT,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      role,
      logGroup: this.logGroup,
      ...(props.retryAttempts !== undefined ? { retryAttempts: props.retryAttempts } : {}),
      ...(props.deadLetterQueue !== undefined ? { deadLetterQueue: props.deadLetterQueue } : {}),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        WIREWATCH_CONFIG: `${LAMBDA_TASK_ROOT}/${props.configFile}`,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled, so the code runs with the versions it was tested with.
        externalModules: [],
        // CommonJS dependencies (rss-parser, nodemailer) call `require`, which ES modules lack.
        banner:
          "import { createRequire as __wirewatchCreateRequire } from 'node:module'; const require = __wirewatchCreateRequire(import.meta.url);",
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) =>
            [props.configFile, ...props.bundledFiles].flatMap((file) => [
              `mkdir -p "${join(outputDir, dirname(file))}"`,
              `cp "${join(inputDir, file)}" "${join(outputDir, file)}"`,
            ]),
        },
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the code is built for and tested on (engines, @types/node, ' +
        'esbuild target); the runtime moves with that toolchain, not ahead of it.',
    });
    // The log group is the function's own, so no managed policy (and no logs:CreateLogGroup).
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
  }

  /** Sets an environment variable of the function. */
  addEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /**
   * Grants exactly `actions` on the table and sets the table's environment
   * variable (`definition.envVar`) to its name.
   */
  bindTable(table: ITable, definition: TableDefinition, actions: readonly DynamoAction[]): this {
    table.grant(this.role, ...actions);
    return this.addEnvironment(definition.envVar, table.tableName);
  }

  /**
   * Grants `sqs:SendMessage` on the queue (which also covers SendMessageBatch)
   * and sets `envVar` to its URL. Not `grantSendMessages`, which adds
   * GetQueueAttributes and GetQueueUrl that the senders never call.
   */
  bindQueueSender(queue: IQueue, envVar: string): this {
    queue.grant(this.role, 'sqs:SendMessage');
    return this.addEnvironment(envVar, queue.queueUrl);
  }

  /**
   * Feeds the function from the queue (an event source mapping reporting
   * partial batch failures) and grants its role what Lambda's SQS poller
   * calls with it: ReceiveMessage, DeleteMessage (and DeleteMessageBatch),
   * GetQueueAttributes. Not `SqsEventSource`, whose `grantConsumeMessages`
   * adds ChangeMessageVisibility and GetQueueUrl.
   */
  bindQueueConsumer(queue: IQueue, options: QueueConsumerOptions): this {
    this.function.addEventSourceMapping('SqsEventSource', {
      eventSourceArn: queue.queueArn,
      batchSize: options.batchSize,
      ...(options.maxBatchingWindow ? { maxBatchingWindow: options.maxBatchingWindow } : {}),
      ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
      reportBatchItemFailures: true,
    });
    queue.grant(this.role, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes');
    return this;
  }
}
