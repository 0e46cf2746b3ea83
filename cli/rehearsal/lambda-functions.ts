/**
 * The rehearsal's Lambda: each `AWS::Lambda::Function` of the assembly runs
 * from its bundled code in processes of its own (`lambda-instance.mjs`),
 * with exactly the environment variables of its template plus what the
 * Lambda runtime itself sets (region, function name, the role's credentials,
 * `LAMBDA_TASK_ROOT`, `_HANDLER`). Instances start on demand up to a
 * concurrency limit, run one invocation at a time, are stopped at the
 * function's timeout, and write their output to the function's log group
 * (a file here) with the role's `logs:` permissions checked, as Lambda does.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KnownCaller } from './aws-endpoint.ts';
import { ACCOUNT_ID, type DeployedResource, REGION } from './cloudformation.ts';

/** Where the Lambda runtime unpacks code; template values under it point into the bundle. */
const LAMBDA_TASK_ROOT = '/var/task';
const INSTANCE_SCRIPT = fileURLToPath(new URL('./lambda-instance.mjs', import.meta.url));
const INIT_TIMEOUT_MS = 10_000;

export interface InvocationError {
  errorType: string;
  errorMessage: string;
}

export type InvocationResult =
  | { ok: true; result: unknown; durationMs: number; coldStartMs?: number }
  | { ok: false; error: InvocationError; durationMs: number; coldStartMs?: number };

export interface FunctionSettings {
  resource: DeployedResource;
  /** Short name for the report: the construct id (`Poller`). */
  name: string;
  /** The function's role session; its credentials are the instance's. */
  caller: KnownCaller & { credentials: { secretAccessKey: string; sessionToken: string } };
  /** Environment added by the rehearsal: the SDK endpoint variables. */
  endpointEnvironment: Record<string, string>;
  logDirectory: string;
  /** Called before an instance writes its logs; throws when the role may not. */
  checkLogs(action: 'logs:CreateLogStream' | 'logs:PutLogEvents', logStream: string): boolean;
}

interface Instance {
  child: ChildProcess;
  busy: boolean;
  logStream: string;
  /** Resolves with the init time once the handler module is loaded. */
  ready: Promise<number>;
  /** Invocations started on it; its first one reports the cold start. */
  invoked: number;
}

export class RehearsalFunction {
  readonly name: string;
  /** The function's resource in the assembly. */
  readonly resource: DeployedResource;
  readonly functionName: string;
  readonly arn: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly logGroupName: string;
  private readonly instances: Instance[] = [];
  private readonly waiting: Array<() => void> = [];
  /** Invocations so far, with their outcome. */
  readonly invocations: Array<InvocationResult & { source: string }> = [];

  constructor(private readonly settings: FunctionSettings) {
    this.resource = settings.resource;
    const { resource } = settings;
    this.name = settings.name;
    this.functionName = resource.ref;
    this.arn = resource.attributes.Arn ?? '';
    this.timeoutSeconds = Number(resource.properties.Timeout ?? 3);
    this.memorySize = Number(resource.properties.MemorySize ?? 128);
    const logging = resource.properties.LoggingConfig as { LogGroup?: string } | undefined;
    this.logGroupName = logging?.LogGroup ?? `/aws/lambda/${this.functionName}`;
  }

  /** The environment of an instance: the template's, the runtime's, the endpoints. */
  environment(logStream: string): Record<string, string> {
    const { resource, caller } = this.settings;
    const codeRoot = resource.assetPath ?? '';
    const variables =
      (resource.properties.Environment as { Variables?: Record<string, string> })?.Variables ?? {};
    const template = Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [
        key,
        String(value).startsWith(`${LAMBDA_TASK_ROOT}/`)
          ? join(codeRoot, String(value).slice(LAMBDA_TASK_ROOT.length))
          : String(value),
      ]),
    );
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_EXECUTION_ENV: `AWS_Lambda_${String(resource.properties.Runtime ?? 'nodejs')}`,
      AWS_LAMBDA_FUNCTION_NAME: this.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.memorySize),
      AWS_LAMBDA_LOG_GROUP_NAME: this.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: logStream,
      AWS_ACCESS_KEY_ID: caller.accessKeyId,
      AWS_SECRET_ACCESS_KEY: caller.credentials.secretAccessKey,
      AWS_SESSION_TOKEN: caller.credentials.sessionToken,
      LAMBDA_TASK_ROOT: codeRoot,
      _HANDLER: String(resource.properties.Handler ?? 'index.handler'),
      // The rehearsal runs on the developer's Node.js; Lambda runs the template's runtime.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...this.settings.endpointEnvironment,
      ...template,
    };
  }

  /** Invokes the function with `event`, on a free instance (started if needed, up to `maxInstances`). */
  async invoke(event: unknown, source: string, maxInstances: number): Promise<InvocationResult> {
    const instance = await this.acquire(maxInstances);
    const started = Date.now();
    let result: InvocationResult;
    try {
      const initMs = await instance.ready;
      const coldStart = instance.invoked === 0 ? { coldStartMs: initMs } : {};
      instance.invoked += 1;
      // Lambda writes each invocation's logs with the role; a denial is recorded by the check.
      this.settings.checkLogs('logs:PutLogEvents', instance.logStream);
      const outcome = await this.run(instance, event);
      result = { ...outcome, durationMs: Date.now() - started, ...coldStart };
    } catch (error) {
      const errorType = (error as Error).name || 'Runtime.Unknown';
      const errorMessage = (error as Error).message;
      result = { ok: false, error: { errorType, errorMessage }, durationMs: Date.now() - started };
    } finally {
      instance.busy = false;
      this.waiting.shift()?.();
    }
    this.invocations.push({ ...result, source });
    return result;
  }

  private async acquire(maxInstances: number): Promise<Instance> {
    for (;;) {
      const free = this.instances.find((i) => !i.busy && i.child.exitCode === null);
      if (free) {
        free.busy = true;
        return free;
      }
      const live = this.instances.filter((i) => i.child.exitCode === null);
      if (live.length < maxInstances) {
        const instance = this.start();
        instance.busy = true;
        return instance;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private start(): Instance {
    const logStream = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
    const logFile = join(this.settings.logDirectory, `${this.name}.log`);
    const canLog = this.settings.checkLogs('logs:CreateLogStream', logStream);
    const child = fork(INSTANCE_SCRIPT, [], {
      cwd: this.settings.resource.assetPath ?? process.cwd(),
      env: this.environment(logStream),
      execArgv: [`--max-old-space-size=${Math.floor(this.memorySize * 0.9)}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // The environment's NODE_OPTIONS (source maps) applies, as in Lambda.
    });
    const write = (chunk: Buffer) => {
      if (canLog) appendFileSync(logFile, chunk);
    };
    child.stdout?.on('data', write);
    child.stderr?.on('data', write);
    const ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          Object.assign(new Error(`init did not finish within ${INIT_TIMEOUT_MS} ms`), {
            name: 'Runtime.InitTimeout',
          }),
        );
      }, INIT_TIMEOUT_MS);
      child.on('message', (message: { type: string; initMs?: number; error?: InvocationError }) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.initMs ?? 0);
        } else if (message.type === 'init-error') {
          clearTimeout(timer);
          reject(
            Object.assign(new Error(message.error?.errorMessage ?? 'init failed'), {
              name: message.error?.errorType ?? 'Runtime.InitError',
            }),
          );
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(
          Object.assign(new Error(`the instance exited with code ${code} during init`), {
            name: 'Runtime.ExitError',
          }),
        );
      });
    });
    ready.catch(() => undefined);
    const instance: Instance = { child, busy: false, logStream, ready, invoked: 0 };
    this.instances.push(instance);
    return instance;
  }

  private run(
    instance: Instance,
    event: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: InvocationError }> {
    const id = randomUUID();
    const deadline = Date.now() + this.timeoutSeconds * 1000;
    return new Promise((resolve) => {
      const { child } = instance;
      const done = (
        value: { ok: true; result: unknown } | { ok: false; error: InvocationError },
      ) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(value);
      };
      const onMessage = (message: {
        type: string;
        id?: string;
        result?: unknown;
        error?: InvocationError;
      }) => {
        if (message.id !== id) return;
        if (message.type === 'result') done({ ok: true, result: message.result });
        if (message.type === 'error' && message.error) done({ ok: false, error: message.error });
      };
      const onExit = (code: number | null) =>
        done({
          ok: false,
          error: {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${id} Error: Runtime exited with error: exit status ${code}`,
          },
        });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`,
          },
        });
      }, deadline - Date.now());
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({
        type: 'invoke',
        id,
        event,
        deadline,
        context: {
          awsRequestId: id,
          functionName: this.functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: this.arn,
          memoryLimitInMB: String(this.memorySize),
          logGroupName: this.logGroupName,
          logStreamName: instance.logStream,
        },
      });
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.instances.map(
        (instance) =>
          new Promise<void>((resolve) => {
            if (instance.child.exitCode !== null || instance.child.signalCode !== null)
              return resolve();
            instance.child.once('exit', () => resolve());
            instance.child.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** The access key id a function's instances sign with. */
export function accessKeyIdOf(logicalId: string): string {
  return `ASIA${createHash('sha256').update(logicalId).digest('hex').slice(0, 16).toUpperCase()}`;
}

/** The ARN a function's calls come from: its role, assumed by the function. */
export function assumedRoleArn(roleName: string, functionName: string): string {
  return `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${functionName}`;
}
