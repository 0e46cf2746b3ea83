import { describe, expect, it } from 'vitest';
import {
  actionMatches,
  authorize,
  type Caller,
  GrantUsage,
  resourceMatches,
  statementsOf,
} from '../../cli/rehearsal/iam.ts';

const TABLE = 'arn:aws:dynamodb:us-east-1:123456789012:table/stories';
const QUEUE = 'arn:aws:sqs:us-east-1:123456789012:alerts';

function callerWith(document: unknown): Caller {
  return {
    principal: 'arn:aws:sts::123456789012:assumed-role/ClassifierRole/classifier',
    policies: statementsOf(document, 'ClassifierPolicy'),
  };
}

describe('IAM matching as the rehearsal enforces it', () => {
  it('matches actions case-insensitively with * and ?', () => {
    expect(actionMatches('dynamodb:Query', 'dynamodb:query')).toBe(true);
    expect(actionMatches('dynamodb:Batch*', 'dynamodb:BatchWriteItem')).toBe(true);
    expect(actionMatches('dynamodb:?etItem', 'dynamodb:GetItem')).toBe(true);
    expect(actionMatches('dynamodb:PutItem', 'dynamodb:BatchWriteItem')).toBe(false);
  });

  it('matches a table ARN only as written: an index needs its own /index/* resource', () => {
    expect(resourceMatches(TABLE, TABLE)).toBe(true);
    expect(resourceMatches(TABLE, `${TABLE}/index/byStory`)).toBe(false);
    expect(resourceMatches(`${TABLE}/index/*`, `${TABLE}/index/byStory`)).toBe(true);
    expect(resourceMatches('*', QUEUE)).toBe(true);
  });

  it('keeps a wildcard inside its ARN segment unless it ends the segment', () => {
    expect(resourceMatches('arn:aws:sqs:us-*-1:123456789012:alerts', QUEUE)).toBe(true);
    expect(resourceMatches('arn:aws:sqs:us-east-1:*', QUEUE)).toBe(true);
    expect(resourceMatches('arn:aws:sqs:us-east-1:1234*:alerts', QUEUE)).toBe(true);
    expect(resourceMatches('arn:aws:sqs:us-east-1:1234*9012alerts', QUEUE)).toBe(false);
    expect(resourceMatches('arn:aws:sqs:us-east-1:123456789012:alert?', QUEUE)).toBe(true);
    expect(resourceMatches('arn:aws:sqs:us-east-1:123456789012:alerts', `${QUEUE}-dlq`)).toBe(
      false,
    );
  });
});

describe('authorize', () => {
  it('denies a call no identity policy allows, naming the principal, action and resource', () => {
    const caller = callerWith({
      Statement: [
        { Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:PutItem'], Resource: TABLE },
      ],
    });

    const decision = authorize(caller, { action: 'dynamodb:BatchWriteItem', resource: TABLE });

    expect(decision).toEqual({
      allowed: false,
      reason: 'no-allow',
      message:
        'User: arn:aws:sts::123456789012:assumed-role/ClassifierRole/classifier is not authorized ' +
        `to perform: dynamodb:BatchWriteItem on resource: ${TABLE} because no identity-based ` +
        'policy allows the dynamodb:BatchWriteItem action',
    });
  });

  it('lets an explicit deny in a resource policy win over an identity allow', () => {
    const caller = callerWith({
      Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE }],
    });
    const queuePolicy = statementsOf(
      {
        Statement: [
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'sqs:*',
            Resource: QUEUE,
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
      'QueuePolicy',
    );

    const overTls = authorize(
      caller,
      { action: 'sqs:SendMessage', resource: QUEUE, context: { 'aws:SecureTransport': 'true' } },
      queuePolicy,
    );
    const plain = authorize(
      caller,
      { action: 'sqs:SendMessage', resource: QUEUE, context: { 'aws:SecureTransport': 'false' } },
      queuePolicy,
    );

    expect(overTls.allowed).toBe(true);
    expect(plain).toMatchObject({ allowed: false, reason: 'explicit-deny-resource' });
  });

  it('allows through a resource policy alone within the account, when its condition holds', () => {
    const anonymous: Caller = { principal: '*', policies: [] };
    const functionArn = 'arn:aws:lambda:us-east-1:123456789012:function:unsubscribe';
    const permission = statementsOf(
      {
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 'lambda:InvokeFunctionUrl',
            Resource: functionArn,
            Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
          },
        ],
      },
      'Permission',
    );

    const none = authorize(
      anonymous,
      {
        action: 'lambda:InvokeFunctionUrl',
        resource: functionArn,
        context: { 'lambda:FunctionUrlAuthType': 'NONE' },
      },
      permission,
    );
    const iam = authorize(
      anonymous,
      {
        action: 'lambda:InvokeFunctionUrl',
        resource: functionArn,
        context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' },
      },
      permission,
    );

    expect(none.allowed).toBe(true);
    expect(iam.allowed).toBe(false);
  });

  it('does not let a condition it cannot evaluate allow anything', () => {
    const caller = callerWith({
      Statement: [
        {
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: TABLE,
          Condition: { NumericLessThan: { 'dynamodb:Limit': '10' } },
        },
      ],
    });

    expect(authorize(caller, { action: 'dynamodb:Query', resource: TABLE }).allowed).toBe(false);
  });

  it('honours NotAction', () => {
    const caller = callerWith({
      Statement: [{ Effect: 'Allow', NotAction: 'dynamodb:DeleteItem', Resource: TABLE }],
    });

    expect(authorize(caller, { action: 'dynamodb:GetItem', resource: TABLE }).allowed).toBe(true);
    expect(authorize(caller, { action: 'dynamodb:DeleteItem', resource: TABLE }).allowed).toBe(
      false,
    );
  });
});

describe('GrantUsage', () => {
  it('lists the (action, resource) grants no allowed call used', () => {
    const caller = callerWith({
      Statement: [
        { Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:PutItem'], Resource: TABLE },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE },
      ],
    });
    const usage = new GrantUsage();
    const request = { action: 'dynamodb:Query', resource: TABLE };
    const decision = authorize(caller, request);
    if (decision.allowed) usage.record(request, decision.by);

    expect(usage.unused(caller.policies).map((g) => `${g.action} ${g.resource}`)).toEqual([
      `dynamodb:PutItem ${TABLE}`,
      `sqs:SendMessage ${QUEUE}`,
    ]);
  });
});
