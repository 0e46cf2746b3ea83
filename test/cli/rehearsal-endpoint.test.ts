import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AwsEndpoint,
  type CallRecord,
  type KnownCaller,
} from '../../cli/rehearsal/aws-endpoint.ts';
import { GrantUsage, statementsOf } from '../../cli/rehearsal/iam.ts';
import { type RehearsalQueue, RehearsalQueues } from '../../cli/rehearsal/sqs-queues.ts';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:items';
const credentials = {
  secretAccessKey: 'the-role-session-secret',
  sessionToken: 'the-session-token',
};

let endpoint: AwsEndpoint;
let queues: RehearsalQueues;
let queue: RehearsalQueue;
let calls: CallRecord[];
let callers: Map<string, KnownCaller>;

function caller(accessKeyId: string, actions: string[]): KnownCaller {
  return {
    name: accessKeyId,
    accessKeyId,
    principal: `arn:aws:sts::123456789012:assumed-role/Role/${accessKeyId}`,
    policies: statementsOf(
      { Statement: [{ Effect: 'Allow', Action: actions, Resource: QUEUE_ARN }] },
      'Policy',
    ),
    credentials,
  };
}

function client(accessKeyId: string, secretAccessKey = credentials.secretAccessKey) {
  return new SQSClient({
    region: 'us-east-1',
    endpoint: endpoint.endpoint,
    credentials: { accessKeyId, secretAccessKey, sessionToken: credentials.sessionToken },
    maxAttempts: 1,
  });
}

beforeEach(async () => {
  queues = new RehearsalQueues();
  calls = [];
  callers = new Map();
  endpoint = new AwsEndpoint({
    callers,
    resourcePolicy: () => [],
    usage: new GrantUsage(),
    calls,
    queues,
    secrets: [],
    verifiedIdentities: [],
    emails: [],
    dynamoEndpoint: 'http://127.0.0.1:9',
  });
  await endpoint.start();
  queue = queues.create({
    name: 'items',
    arn: QUEUE_ARN,
    url: `${endpoint.endpoint}/123456789012/items`,
    visibilityTimeoutSeconds: 30,
  });
});

afterEach(async () => {
  await endpoint.stop();
});

describe("the rehearsal's AWS endpoint", () => {
  it('takes a message the SDK signed with the role session and the role allows', async () => {
    callers.set('ASIASENDER', caller('ASIASENDER', ['sqs:SendMessage']));
    const sqs = client('ASIASENDER');

    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queue.settings.url, MessageBody: '{"n":1}' }),
    );
    sqs.destroy();

    expect(sent.MessageId).toBeTruthy();
    expect(queue.messages.map((m) => m.body)).toEqual(['{"n":1}']);
    expect(calls).toEqual([
      { caller: 'ASIASENDER', action: 'sqs:SendMessage', resource: QUEUE_ARN, allowed: true },
    ]);
  });

  it('refuses a request signed with another secret, as AWS does', async () => {
    callers.set('ASIASENDER', caller('ASIASENDER', ['sqs:SendMessage']));
    const sqs = client('ASIASENDER', 'not-the-secret');

    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: queue.settings.url, MessageBody: 'x' })),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    sqs.destroy();

    expect(queue.messages).toEqual([]);
  });

  it('answers a call the role does not allow with AccessDeniedException naming action and queue', async () => {
    callers.set('ASIAREADER', caller('ASIAREADER', ['sqs:ReceiveMessage']));
    const sqs = client('ASIAREADER');

    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: queue.settings.url, MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `is not authorized to perform: sqs:SendMessage on resource: ${QUEUE_ARN}`,
      ),
    });
    sqs.destroy();

    expect(queue.messages).toEqual([]);
    expect(calls).toEqual([expect.objectContaining({ action: 'sqs:SendMessage', allowed: false })]);
  });
});
