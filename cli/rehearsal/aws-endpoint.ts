/**
 * The AWS endpoint of the rehearsal: one HTTP server on loopback that the
 * functions' SDK clients reach through `AWS_ENDPOINT_URL_*`. It tells the
 * caller by the access key of its signed request (each function instance gets
 * its role's credentials, as Lambda gives them), the service by the request's
 * signing scope, and speaks each service's wire protocol for the operations
 * the functions use: DynamoDB (forwarded to dynalite), SQS, Secrets Manager
 * and SES v2. Every call is authorised against the caller's role and the
 * resource's policy first; a call they do not allow gets
 * `AccessDeniedException`, as on AWS, and every call is recorded.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCOUNT_ID, REGION } from './cloudformation.ts';
import { authorize, type Caller, type GrantUsage, type Request, type Statement } from './iam.ts';
import { signatureProblem } from './sigv4.ts';
import { md5, type QueueMessage, QueueNotFoundError, type RehearsalQueues } from './sqs-queues.ts';

/** A caller the endpoint knows, by access key id. */
export interface KnownCaller extends Caller {
  /** Who it is in the report: the function's construct id (`Poller`). */
  name: string;
  accessKeyId: string;
  /** The role session's credentials its requests must be signed with (none: not over HTTP). */
  credentials?: { secretAccessKey: string; sessionToken: string };
}

/** One recorded call, allowed or not. */
export interface CallRecord {
  caller: string;
  action: string;
  resource: string;
  allowed: boolean;
  message?: string;
}

export interface StoredSecret {
  name: string;
  arn: string;
  value?: string;
  versionId?: string;
}

export interface SentEmail {
  messageId: string;
  from: string;
  /** The raw MIME message as sent. */
  raw: Buffer;
  at: Date;
}

export interface AwsEndpointState {
  callers: Map<string, KnownCaller>;
  /** The resource-based policy of an ARN (queue policy), if any. */
  resourcePolicy(arn: string): Statement[];
  usage: GrantUsage;
  calls: CallRecord[];
  queues: RehearsalQueues;
  secrets: StoredSecret[];
  /** Identities verified in SES (domains or addresses). */
  verifiedIdentities: string[];
  emails: SentEmail[];
  /** `http://127.0.0.1:PORT` of dynalite. */
  dynamoEndpoint: string;
}

/** An AWS error as the JSON protocols carry it. */
class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The access key id and service of a SigV4 `Authorization` header. */
export function signingScope(
  authorization: string | undefined,
): { accessKeyId: string; service: string } | undefined {
  const match = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  if (!match?.[1] || !match[2]) return undefined;
  return { accessKeyId: match[1], service: match[2] };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class AwsEndpoint {
  private server: Server | undefined;
  endpoint = '';

  constructor(private readonly state: AwsEndpointState) {}

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500);
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Authorises `request` for `caller` and records it; throws the
   * `AccessDeniedException` AWS would send when it is not allowed.
   */
  check(caller: KnownCaller, request: Request, resourceArn = request.resource): void {
    const decision = authorize(
      caller,
      { ...request, context: { 'aws:SecureTransport': 'true', ...request.context } },
      this.state.resourcePolicy(resourceArn),
    );
    const record: CallRecord = {
      caller: caller.name,
      action: request.action,
      resource: request.resource,
      allowed: decision.allowed,
    };
    if (decision.allowed) {
      this.state.usage.record(request, decision.by);
      this.state.calls.push(record);
      return;
    }
    this.state.calls.push({ ...record, message: decision.message });
    throw new ServiceError(400, 'AccessDeniedException', decision.message);
  }

  /** Records a call decided elsewhere (a function URL's resource policy). */
  recordExternal(record: CallRecord): void {
    this.state.calls.push(record);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const scope = signingScope(request.headers.authorization);
    const caller = scope && this.state.callers.get(scope.accessKeyId);
    try {
      if (!scope || !caller) {
        throw new ServiceError(
          403,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      }
      const problem = caller.credentials
        ? signatureProblem(request, body, caller.credentials)
        : 'this caller does not sign requests';
      if (problem) {
        this.state.calls.push({
          caller: caller.name,
          action: `${scope.service}:(signature)`,
          resource: '(authentication)',
          allowed: false,
          message: problem,
        });
        throw new ServiceError(403, 'SignatureDoesNotMatch', problem);
      }
      const target = String(request.headers['x-amz-target'] ?? '');
      switch (scope.service) {
        case 'dynamodb':
          return await this.dynamodb(caller, target, request, body, response);
        case 'sqs':
          return this.json(
            response,
            200,
            this.sqs(caller, target.replace(/^AmazonSQS\./, ''), JSON.parse(body.toString('utf8'))),
          );
        case 'secretsmanager':
          return this.json(
            response,
            200,
            this.secretsManager(
              caller,
              target.replace(/^secretsmanager\./, ''),
              JSON.parse(body.toString('utf8')),
            ),
            'application/x-amz-json-1.1',
          );
        case 'ses':
          return this.json(response, 200, this.ses(caller, request, body));
        default:
          this.state.calls.push({
            caller: caller.name,
            action: `${scope.service}:${target || request.url}`,
            resource: '(not emulated)',
            allowed: false,
            message: `the rehearsal does not emulate ${scope.service}`,
          });
          throw new ServiceError(
            400,
            'UnsupportedOperation',
            `the rehearsal does not emulate the ${scope.service} API`,
          );
      }
    } catch (caught) {
      const error =
        caught instanceof QueueNotFoundError
          ? new ServiceError(400, 'QueueDoesNotExist', caught.message)
          : caught;
      if (!(error instanceof ServiceError)) throw error;
      const rest = scope?.service === 'ses';
      response.writeHead(error.status, {
        'Content-Type': rest ? 'application/json' : 'application/x-amz-json-1.0',
        'x-amzn-ErrorType': error.code,
        'x-amzn-RequestId': randomUUID(),
      });
      response.end(
        JSON.stringify(
          rest
            ? { message: error.message }
            : {
                __type: `com.amazon.coral.service#${error.code}`,
                message: error.message,
                Message: error.message,
              },
        ),
      );
    }
  }

  private json(
    response: ServerResponse,
    status: number,
    value: unknown,
    contentType = 'application/x-amz-json-1.0',
  ): void {
    response.writeHead(status, { 'Content-Type': contentType, 'x-amzn-RequestId': randomUUID() });
    response.end(JSON.stringify(value));
  }

  private async dynamodb(
    caller: KnownCaller,
    target: string,
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
  ): Promise<void> {
    const operation = target.replace(/^DynamoDB_\d+\./, '');
    const input = JSON.parse(body.toString('utf8') || '{}') as {
      TableName?: string;
      IndexName?: string;
      RequestItems?: Record<string, unknown>;
      TransactItems?: Array<Record<string, { TableName?: string }>>;
    };
    const tables = new Set<string>();
    if (input.TableName) tables.add(input.TableName);
    for (const table of Object.keys(input.RequestItems ?? {})) tables.add(table);
    for (const item of input.TransactItems ?? []) {
      for (const part of Object.values(item)) if (part.TableName) tables.add(part.TableName);
    }
    const arnOf = (table: string) =>
      table.startsWith('arn:') ? table : `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${table}`;
    for (const table of tables) {
      const tableArn = arnOf(table);
      const resource = input.IndexName ? `${tableArn}/index/${input.IndexName}` : tableArn;
      this.check(caller, { action: `dynamodb:${operation}`, resource }, tableArn);
    }
    await new Promise<void>((resolve, reject) => {
      const forward = httpRequest(
        `${this.state.dynamoEndpoint}${request.url ?? '/'}`,
        { method: request.method, headers: request.headers },
        (upstream) => {
          response.writeHead(upstream.statusCode ?? 500, upstream.headers);
          upstream.pipe(response);
          upstream.on('end', resolve);
          upstream.on('error', reject);
        },
      );
      forward.on('error', reject);
      forward.end(body);
    });
  }

  private sqs(caller: KnownCaller, operation: string, input: Record<string, unknown>): unknown {
    const queues = this.state.queues;
    // Batch actions are authorised as their single counterparts.
    const action = `sqs:${operation.replace(/Batch$/, '')}`;
    if (operation === 'GetQueueUrl') {
      const queue = queues.byName(String(input.QueueName));
      this.check(caller, { action, resource: queue.settings.arn });
      return { QueueUrl: queue.settings.url };
    }
    const queue = queues.byUrl(String(input.QueueUrl));
    this.check(caller, { action, resource: queue.settings.arn });
    const attributes = (entry: Record<string, unknown>) =>
      (entry.MessageAttributes ?? {}) as QueueMessage['messageAttributes'];
    switch (operation) {
      case 'SendMessage': {
        const message = queues.send(queue, String(input.MessageBody), attributes(input));
        return { MessageId: message.messageId, MD5OfMessageBody: message.md5OfBody };
      }
      case 'SendMessageBatch': {
        const entries = (input.Entries ?? []) as Array<Record<string, unknown>>;
        return {
          Successful: entries.map((entry) => {
            const message = queues.send(queue, String(entry.MessageBody), attributes(entry));
            return {
              Id: entry.Id,
              MessageId: message.messageId,
              MD5OfMessageBody: message.md5OfBody,
            };
          }),
          Failed: [],
        };
      }
      case 'GetQueueAttributes':
        return {
          Attributes: {
            QueueArn: queue.settings.arn,
            VisibilityTimeout: String(queue.settings.visibilityTimeoutSeconds),
            ApproximateNumberOfMessages: String(queues.visible(queue).length),
            ...(queue.settings.redrive
              ? { RedrivePolicy: JSON.stringify(queue.settings.redrive) }
              : {}),
          },
        };
      case 'ReceiveMessage': {
        const messages = queues.receive(queue, Number(input.MaxNumberOfMessages ?? 1));
        return {
          Messages: messages.map((m) => ({
            MessageId: m.messageId,
            ReceiptHandle: m.receiptHandle,
            MD5OfBody: md5(m.body),
            Body: m.body,
          })),
        };
      }
      case 'DeleteMessage':
        queues.delete(queue, String(input.ReceiptHandle));
        return {};
      case 'DeleteMessageBatch': {
        const entries = (input.Entries ?? []) as Array<{ Id: string; ReceiptHandle: string }>;
        for (const entry of entries) queues.delete(queue, entry.ReceiptHandle);
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      case 'ChangeMessageVisibility':
        queues.changeVisibility(
          queue,
          String(input.ReceiptHandle),
          Number(input.VisibilityTimeout),
        );
        return {};
      default:
        throw new ServiceError(
          400,
          'UnsupportedOperation',
          `the rehearsal's SQS does not emulate ${operation}`,
        );
    }
  }

  private secretsManager(
    caller: KnownCaller,
    operation: string,
    input: { SecretId?: string },
  ): unknown {
    const id = String(input.SecretId ?? '');
    const secret = this.state.secrets.find(
      (s) => s.name === id || s.arn === id || s.arn.startsWith(`${id}-`),
    );
    if (operation !== 'GetSecretValue') {
      throw new ServiceError(
        400,
        'UnsupportedOperation',
        `the rehearsal's Secrets Manager does not emulate ${operation}`,
      );
    }
    if (!secret) {
      this.check(caller, {
        action: 'secretsmanager:GetSecretValue',
        resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${id}`,
      });
      throw new ServiceError(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    this.check(caller, { action: 'secretsmanager:GetSecretValue', resource: secret.arn });
    if (secret.value === undefined) {
      throw new ServiceError(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      SecretString: secret.value,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
    };
  }

  private ses(caller: KnownCaller, request: IncomingMessage, body: Buffer): unknown {
    if (request.method !== 'POST' || request.url !== '/v2/email/outbound-emails') {
      throw new ServiceError(
        400,
        'UnsupportedOperation',
        `the rehearsal's SES does not emulate ${request.method} ${request.url}`,
      );
    }
    const input = JSON.parse(body.toString('utf8')) as {
      FromEmailAddress?: string;
      Content?: { Raw?: { Data?: string } };
    };
    const raw = Buffer.from(input.Content?.Raw?.Data ?? '', 'base64');
    const from = input.FromEmailAddress ?? /^From:\s*(.*)$/im.exec(raw.toString('utf8'))?.[1] ?? '';
    const address = (/<([^>]+)>/.exec(from)?.[1] ?? from).trim().toLowerCase();
    const domain = address.split('@')[1] ?? '';
    const identity =
      this.state.verifiedIdentities.find((i) => i === address) ??
      this.state.verifiedIdentities.find((i) => i === domain);
    if (!identity) {
      throw new ServiceError(
        400,
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${REGION.toUpperCase()}: ${address}`,
      );
    }
    this.check(caller, {
      action: 'ses:SendEmail',
      resource: `arn:aws:ses:${REGION}:${ACCOUNT_ID}:identity/${identity}`,
    });
    if (!input.Content?.Raw) {
      throw new ServiceError(
        400,
        'UnsupportedOperation',
        "the rehearsal's SES captures raw messages only",
      );
    }
    const messageId = `${randomUUID()}-rehearsal`;
    this.state.emails.push({ messageId, from, raw, at: new Date() });
    return { MessageId: messageId };
  }
}
