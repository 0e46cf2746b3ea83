/**
 * A deployed stage, rehearsed: the resources of a cloud assembly made real on
 * this machine (tables in dynalite, queues, the secret, functions from their
 * bundles), the callers and their policies, and the AWS-side machinery that
 * connects them as the template declares it: event source mappings (batch
 * size, batching window, `ReportBatchItemFailures`, maximum concurrency),
 * EventBridge Scheduler schedules (their role, retries and dead-letter
 * queue), asynchronous invocation (retries, dead-letter queue) and function
 * URLs (their resource policy).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { AwsEndpoint, KnownCaller, StoredSecret } from './aws-endpoint.ts';
import {
  ACCOUNT_ID,
  type DeployedAssembly,
  type DeployedResource,
  REGION,
  resourceBy,
  resourcesOfType,
} from './cloudformation.ts';
import { type EventSourceMapping, EventSourceMappings } from './event-source-mappings.ts';
import { serveFunctionUrl } from './function-urls.ts';
import { type Statement, statementsOf } from './iam.ts';
import { accessKeyIdOf, assumedRoleArn, RehearsalFunction } from './lambda-functions.ts';
import type { RehearsalQueue, RehearsalQueues } from './sqs-queues.ts';

/** Concurrency of an event source mapping without `MaximumConcurrency` (Lambda's is the account's). */
const DEFAULT_MAX_CONCURRENCY = 3;

/** Thrown when the rehearsal cannot set a stage up; says what to do. */
export class RehearsalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RehearsalError';
  }
}

/** The short name of a resource in reports: its construct id (`Poller`, `ItemsQueue`). */
export function constructName(resource: DeployedResource): string {
  const parts = (resource.cdkPath ?? resource.logicalId).split('/');
  return parts[1] ?? resource.logicalId;
}

export interface ScheduleFiring {
  schedule: string;
  ok: boolean;
  detail?: string;
  /** What the function returned (invisible to the scheduler on AWS; the rehearsal looks). */
  result?: unknown;
}

const requireFromHere = createRequire(import.meta.url);

/** Sends one DynamoDB API request to dynalite, outside IAM (CloudFormation's own calls). */
async function dynamoRequest(
  endpoint: string,
  operation: string,
  input: unknown,
): Promise<unknown> {
  const body = JSON.stringify(input);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      endpoint,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': `DynamoDB_20120810.${operation}`,
          'X-Amz-Date': '20260101T000000Z',
          Authorization: `AWS4-HMAC-SHA256 Credential=cloudformation/20260101/${REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((response.statusCode ?? 500) >= 300)
            reject(new RehearsalError(`dynalite ${operation}: ${text}`));
          else resolve(text ? JSON.parse(text) : {});
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export interface StageOptions {
  assembly: DeployedAssembly;
  endpoint: AwsEndpoint;
  queues: RehearsalQueues;
  secrets: StoredSecret[];
  callers: Map<string, KnownCaller>;
  logDirectory: string;
  /** Values the rehearsal puts in the stage's secret, by name (as ops would). */
  secretValues(names: string[]): Record<string, string>;
}

export class RehearsedStage {
  readonly functions = new Map<string, RehearsalFunction>();
  readonly roles = new Map<string, { name: string; statements: Statement[] }>();
  readonly mappings: EventSourceMapping[] = [];
  private readonly eventSources: EventSourceMappings;
  private readonly resourcePolicies = new Map<string, Statement[]>();
  readonly firings: ScheduleFiring[] = [];
  readonly secretNames: string[] = [];
  private dynalite: Server | undefined;
  dynamoEndpoint = '';
  private urlServer: Server | undefined;
  functionUrlBase = '';

  constructor(private readonly options: StageOptions) {
    this.eventSources = new EventSourceMappings(this.mappings, options.queues, options.endpoint);
  }

  get assembly(): DeployedAssembly {
    return this.options.assembly;
  }

  /** The resource-based policy of an ARN: queue policies and Lambda permissions. */
  resourcePolicy(arn: string): Statement[] {
    const base = arn.replace(/^(arn:aws:lambda:[^:]+:[^:]+:function:[^:]+):.*$/, '$1');
    return this.resourcePolicies.get(base) ?? [];
  }

  /** Starts dynalite and the function URL server; call before `provision`. */
  static async startServers(): Promise<{
    dynalite: Server;
    dynamoEndpoint: string;
    urlServer: Server;
    functionUrlBase: string;
  }> {
    const dynalite = (requireFromHere('dynalite') as (options: object) => Server)({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    await new Promise<void>((resolve) => dynalite.listen(0, '127.0.0.1', resolve));
    const urlServer = createServer();
    await new Promise<void>((resolve) => urlServer.listen(0, '127.0.0.1', resolve));
    return {
      dynalite,
      dynamoEndpoint: `http://127.0.0.1:${(dynalite.address() as AddressInfo).port}`,
      urlServer,
      functionUrlBase: `http://127.0.0.1:${(urlServer.address() as AddressInfo).port}`,
    };
  }

  /** Creates every resource of the assembly the functions use, as CloudFormation would. */
  async provision(servers: Awaited<ReturnType<typeof RehearsedStage.startServers>>): Promise<void> {
    this.dynalite = servers.dynalite;
    this.dynamoEndpoint = servers.dynamoEndpoint;
    this.urlServer = servers.urlServer;
    this.functionUrlBase = servers.functionUrlBase;
    const { assembly } = this.options;

    for (const table of resourcesOfType(assembly, 'AWS::DynamoDB::Table')) {
      const p = table.properties;
      const indexes = (p.GlobalSecondaryIndexes as Array<Record<string, unknown>> | undefined)?.map(
        (index) => ({
          IndexName: index.IndexName,
          KeySchema: index.KeySchema,
          Projection: index.Projection,
        }),
      );
      await dynamoRequest(this.dynamoEndpoint, 'CreateTable', {
        TableName: table.ref,
        KeySchema: p.KeySchema,
        AttributeDefinitions: p.AttributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
        ...(indexes ? { GlobalSecondaryIndexes: indexes } : {}),
      });
    }

    for (const queue of resourcesOfType(assembly, 'AWS::SQS::Queue')) {
      const redrive = queue.properties.RedrivePolicy as
        | { deadLetterTargetArn?: string; maxReceiveCount?: number }
        | undefined;
      this.options.queues.create({
        name: queue.attributes.QueueName ?? queue.ref,
        arn: queue.attributes.Arn ?? '',
        url: queue.ref,
        visibilityTimeoutSeconds: Number(queue.properties.VisibilityTimeout ?? 30),
        ...(redrive?.deadLetterTargetArn
          ? {
              redrive: {
                deadLetterTargetArn: redrive.deadLetterTargetArn,
                maxReceiveCount: Number(redrive.maxReceiveCount ?? 10),
              },
            }
          : {}),
      });
    }
    for (const policy of resourcesOfType(assembly, 'AWS::SQS::QueuePolicy')) {
      for (const url of (policy.properties.Queues as string[] | undefined) ?? []) {
        const arn = this.options.queues.byUrl(url).settings.arn;
        this.addResourcePolicy(
          arn,
          statementsOf(policy.properties.PolicyDocument, policy.logicalId),
        );
      }
    }

    for (const secret of resourcesOfType(assembly, 'AWS::SecretsManager::Secret')) {
      const value = secret.properties.SecretString;
      this.options.secrets.push({
        name: String(secret.properties.Name ?? secret.logicalId),
        arn: secret.ref,
        ...(typeof value === 'string' ? { value, versionId: randomUUID() } : {}),
      });
    }

    for (const role of resourcesOfType(assembly, 'AWS::IAM::Role')) {
      const inline = (
        (role.properties.Policies as
          | Array<{ PolicyName: string; PolicyDocument: unknown }>
          | undefined) ?? []
      ).flatMap((policy) =>
        statementsOf(policy.PolicyDocument, `${role.logicalId}/${policy.PolicyName}`),
      );
      if ((role.properties.ManagedPolicyArns as unknown[] | undefined)?.length) {
        throw new RehearsalError(
          `role ${role.logicalId} has managed policies, which the rehearsal cannot read`,
        );
      }
      this.roles.set(role.ref, { name: constructName(role), statements: inline });
    }
    for (const policy of resourcesOfType(assembly, 'AWS::IAM::Policy')) {
      for (const roleName of (policy.properties.Roles as string[] | undefined) ?? []) {
        this.roles
          .get(roleName)
          ?.statements.push(...statementsOf(policy.properties.PolicyDocument, policy.logicalId));
      }
    }

    // A schedule's role is named after the schedule in reports.
    for (const schedule of resourcesOfType(assembly, 'AWS::Scheduler::Schedule')) {
      const roleArn = (schedule.properties.Target as { RoleArn?: string } | undefined)?.RoleArn;
      const role = roleArn ? this.roles.get(roleArn.split('/').pop() ?? '') : undefined;
      if (role) role.name = constructName(schedule);
    }

    for (const permission of resourcesOfType(assembly, 'AWS::Lambda::Permission')) {
      const p = permission.properties;
      const functionArn = String(p.FunctionName).startsWith('arn:')
        ? String(p.FunctionName)
        : `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${p.FunctionName}`;
      const condition: Record<string, Record<string, string[]>> = {};
      if (p.FunctionUrlAuthType)
        condition.StringEquals = { 'lambda:FunctionUrlAuthType': [String(p.FunctionUrlAuthType)] };
      if (p.InvokedViaFunctionUrl) condition.Bool = { 'lambda:InvokedViaFunctionUrl': ['true'] };
      if (p.SourceArn) condition.ArnLike = { 'aws:SourceArn': [String(p.SourceArn)] };
      if (p.SourceAccount)
        condition.StringEquals = {
          ...condition.StringEquals,
          'aws:SourceAccount': [String(p.SourceAccount)],
        };
      const principal = String(p.Principal);
      this.addResourcePolicy(functionArn, [
        {
          effect: 'Allow',
          actions: [String(p.Action)],
          resources: [functionArn, `${functionArn}:*`],
          ...(Object.keys(condition).length > 0 ? { condition } : {}),
          principals:
            principal === '*'
              ? '*'
              : principal.endsWith('.amazonaws.com')
                ? { aws: [], service: [principal] }
                : { aws: [principal], service: [] },
          source: permission.logicalId,
        },
      ]);
    }

    const functionResources = resourcesOfType(assembly, 'AWS::Lambda::Function');
    const configFile = functionResources
      .map(
        (f) =>
          (f.properties.Environment as { Variables?: Record<string, string> } | undefined)
            ?.Variables?.WIREWATCH_CONFIG,
      )
      .find((path) => path !== undefined);
    for (const resource of functionResources) {
      const roleName = String(resource.properties.Role).split('/').pop() ?? '';
      const role = this.roles.get(roleName);
      if (!role)
        throw new RehearsalError(
          `function ${resource.logicalId} has a role the template does not define: ${String(resource.properties.Role)}`,
        );
      if (!resource.assetPath)
        throw new RehearsalError(
          `function ${resource.logicalId} has no bundled asset in ${assembly.directory}`,
        );
      const name = constructName(resource);
      const caller = {
        name,
        accessKeyId: accessKeyIdOf(resource.logicalId),
        principal: assumedRoleArn(roleName, resource.ref),
        policies: role.statements,
        credentials: {
          secretAccessKey: randomBytes(30).toString('base64'),
          sessionToken: randomBytes(48).toString('base64'),
        },
      };
      this.options.callers.set(caller.accessKeyId, caller);
      const fn = new RehearsalFunction({
        resource,
        name,
        caller,
        endpointEnvironment: this.endpointEnvironment(),
        logDirectory: this.options.logDirectory,
        checkLogs: (action, logStream) => {
          const logGroupArn = `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${fn.logGroupName}`;
          try {
            this.options.endpoint.check(caller, {
              action,
              resource: `${logGroupArn}:log-stream:${logStream}`,
            });
            return true;
          } catch {
            return false;
          }
        },
      });
      this.functions.set(resource.ref, fn);
    }

    // The config the functions run with names the secret's keys; ops put their values.
    if (configFile && functionResources[0]?.assetPath) {
      const { secretNamesOf } = await import('../../shared/config/secrets.ts');
      const path = configFile.replace(/^\/var\/task\//, `${functionResources[0].assetPath}/`);
      this.secretNames.push(...secretNamesOf(readFileSync(path, 'utf8'), path));
    }
    const values = this.options.secretValues(this.secretNames);
    for (const secret of this.options.secrets) {
      if (secret.value === undefined && Object.keys(values).length > 0) {
        secret.value = JSON.stringify(values);
        secret.versionId = randomUUID();
      }
    }

    for (const mapping of resourcesOfType(assembly, 'AWS::Lambda::EventSourceMapping')) {
      const p = mapping.properties;
      const fn = this.functionByNameOrArn(String(p.FunctionName));
      const queue = this.options.queues.get(String(p.EventSourceArn));
      const caller = this.callerOf(fn);
      const esm: EventSourceMapping = {
        function: fn,
        caller,
        queue,
        batchSize: Number(p.BatchSize ?? 10),
        windowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1000,
        reportFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
        maxConcurrency: Number(
          (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ??
            DEFAULT_MAX_CONCURRENCY,
        ),
        running: 0,
      };
      // Lambda checks the role when the mapping is created, then polls with it.
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
        try {
          this.options.endpoint.check(caller, { action, resource: queue.settings.arn });
        } catch (error) {
          esm.disabled = (error as Error).message;
        }
      }
      this.mappings.push(esm);
    }

    servers.urlServer.on('request', (request, response) => {
      serveFunctionUrl(request, {
        assembly: this.options.assembly,
        baseUrl: this.functionUrlBase,
        endpoint: this.options.endpoint,
        functionByNameOrArn: (nameOrArn) => this.functionByNameOrArn(nameOrArn),
        resourcePolicy: (arn) => this.resourcePolicy(arn),
        maxInstances: DEFAULT_MAX_CONCURRENCY,
      })
        .then((result) => {
          response.writeHead(result.statusCode, result.headers);
          response.end(result.body);
        })
        .catch((error: unknown) => {
          response.writeHead(502, { 'Content-Type': 'text/plain' });
          response.end(String(error));
        });
    });
  }

  private addResourcePolicy(arn: string, statements: Statement[]): void {
    this.resourcePolicies.set(arn, [...(this.resourcePolicies.get(arn) ?? []), ...statements]);
  }

  private endpointEnvironment(): Record<string, string> {
    const url = this.options.endpoint.endpoint;
    return {
      AWS_ENDPOINT_URL: url,
      AWS_ENDPOINT_URL_DYNAMODB: url,
      AWS_ENDPOINT_URL_SQS: url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_ENDPOINT_URL_SESV2: url,
      AWS_ENDPOINT_URL_SSM: url,
      AWS_ENDPOINT_URL_CLOUDWATCH: url,
    };
  }

  functionByNameOrArn(nameOrArn: string): RehearsalFunction {
    const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split(':')[6] ?? '') : nameOrArn;
    const fn = this.functions.get(name);
    if (!fn) throw new RehearsalError(`no function ${nameOrArn} in the assembly`);
    return fn;
  }

  private callerOf(fn: RehearsalFunction): KnownCaller {
    const caller = [...this.options.callers.values()].find((c) => c.name === fn.name);
    if (!caller) throw new RehearsalError(`no caller for function ${fn.name}`);
    return caller;
  }

  /** The schedules of the assembly by construct name (`PollSchedule`). */
  scheduleNames(): string[] {
    return resourcesOfType(this.options.assembly, 'AWS::Scheduler::Schedule').map(constructName);
  }

  /**
   * Fires a schedule as EventBridge Scheduler does: with the schedule's role,
   * an asynchronous invocation of its target; a failed invocation is retried
   * as the function's event invoke config says, then goes to its dead-letter
   * queue. Resolves when the invocation and its retries are done.
   */
  async fireSchedule(name: string): Promise<ScheduleFiring> {
    const schedule = resourcesOfType(this.options.assembly, 'AWS::Scheduler::Schedule').find(
      (s) => constructName(s) === name,
    );
    if (!schedule) throw new RehearsalError(`no schedule ${name}`);
    const target = schedule.properties.Target as {
      Arn: string;
      RoleArn: string;
      Input?: string;
      DeadLetterConfig?: { Arn?: string };
    };
    const roleName = target.RoleArn.split('/').pop() ?? '';
    const role = this.roles.get(roleName);
    const scheduler: KnownCaller = {
      name,
      accessKeyId: `scheduler-${name}`,
      principal: assumedRoleArn(roleName, 'scheduler'),
      policies: role?.statements ?? [],
    };
    const fn = this.functionByNameOrArn(target.Arn);
    const event = target.Input ? JSON.parse(target.Input) : {};
    const firing = (ok: boolean, detail?: string): ScheduleFiring => {
      const result = { schedule: name, ok, ...(detail ? { detail } : {}) };
      this.firings.push(result);
      return result;
    };
    try {
      this.options.endpoint.check(scheduler, {
        action: 'lambda:InvokeFunction',
        resource: target.Arn,
      });
    } catch (error) {
      const dlq = target.DeadLetterConfig?.Arn;
      if (dlq)
        this.sendToQueueAs(
          scheduler,
          dlq,
          JSON.stringify(event),
          `scheduler could not invoke: ${(error as Error).message}`,
        );
      return firing(false, (error as Error).message);
    }
    const outcome = await this.invokeAsync(fn, event, `schedule ${name}`);
    const result = firing(outcome.ok, outcome.detail);
    if (outcome.ok) result.result = outcome.result;
    return result;
  }

  private async invokeAsync(
    fn: RehearsalFunction,
    event: unknown,
    source: string,
  ): Promise<{ ok: boolean; detail?: string; result?: unknown }> {
    const config = resourcesOfType(this.options.assembly, 'AWS::Lambda::EventInvokeConfig').find(
      (c) => this.functionByNameOrArn(String(c.properties.FunctionName)) === fn,
    );
    const retries = Number(config?.properties.MaximumRetryAttempts ?? 2);
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      const result = await fn.invoke(event, source, DEFAULT_MAX_CONCURRENCY);
      if (result.ok) return { ok: true, result: result.result };
      last = `${result.error.errorType}: ${result.error.errorMessage}`;
    }
    const deadLetter =
      (fn.resource.properties.DeadLetterConfig as { TargetArn?: string } | undefined)?.TargetArn ??
      (config?.properties.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)
        ?.OnFailure?.Destination;
    if (deadLetter?.includes(':sqs:')) {
      this.sendToQueueAs(this.callerOf(fn), deadLetter, JSON.stringify(event), last);
    }
    return { ok: false, detail: last };
  }

  /** Sends a message to a queue by ARN as `caller` (Lambda and Scheduler do so with the role). */
  private sendToQueueAs(caller: KnownCaller, queueArn: string, body: string, reason: string): void {
    try {
      this.options.endpoint.check(caller, { action: 'sqs:SendMessage', resource: queueArn });
      this.options.queues.send(this.options.queues.get(queueArn), body, {
        ErrorMessage: { DataType: 'String', StringValue: reason.slice(0, 4096) },
      });
    } catch {
      // Denied: recorded by the check; on AWS the event is lost, which the report shows.
    }
  }

  /** Runs the event source mappings until nothing is left to do (see `EventSourceMappings`). */
  settle(): Promise<void> {
    return this.eventSources.settle();
  }

  /** Reads a whole table, outside IAM (the rehearsal looking, not a function). */
  async scanTable(tableName: string): Promise<Array<Record<string, unknown>>> {
    const output = (await dynamoRequest(this.dynamoEndpoint, 'Scan', { TableName: tableName })) as {
      Items?: Array<Record<string, unknown>>;
    };
    return output.Items ?? [];
  }

  /** Dead-letter queues: redrive targets, and the queues the functions and schedules send failures to. */
  deadLetterQueues(): RehearsalQueue[] {
    const arns = new Set<string>();
    for (const queue of this.options.queues.all()) {
      if (queue.settings.redrive) arns.add(queue.settings.redrive.deadLetterTargetArn);
    }
    for (const resource of this.options.assembly.resources) {
      const p = resource.properties;
      const target = (p.DeadLetterConfig as { TargetArn?: string } | undefined)?.TargetArn;
      if (target) arns.add(target);
      const scheduleTarget = (p.Target as { DeadLetterConfig?: { Arn?: string } } | undefined)
        ?.DeadLetterConfig?.Arn;
      if (scheduleTarget) arns.add(scheduleTarget);
    }
    return this.options.queues.all().filter((q) => arns.has(q.settings.arn));
  }

  /** A resource's name in the report, from an ARN: `AlertsQueue`, `StoryFingerprintsTable/index/x`. */
  describe(arn: string): string {
    const table = /^(arn:aws:dynamodb:[^:]+:[^:]+:table\/[^/]+)(\/.*)?$/.exec(arn);
    const logStream = /^(arn:aws:logs:[^:]+:[^:]+:log-group:[^:]+):log-stream:.*$/.exec(arn);
    const qualified = /^(arn:aws:lambda:[^:]+:[^:]+:function:[^:]+)(:.+)$/.exec(arn);
    const base = table?.[1] ?? (logStream ? `${logStream[1]}:*` : (qualified?.[1] ?? arn));
    const resource =
      resourceBy(this.options.assembly, base) ?? resourceBy(this.options.assembly, arn);
    // Not a resource of the stacks (an SES identity): the resource part of the ARN.
    if (!resource) return arn.split(':').slice(5).join(':') || arn;
    const detail = table?.[2] ?? qualified?.[2] ?? (logStream ? ' (log stream)' : '');
    return `${constructName(resource)}${detail}`;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.functions.values()].map((fn) => fn.stop()));
    for (const server of [this.dynalite, this.urlServer]) {
      if (!server) continue;
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
