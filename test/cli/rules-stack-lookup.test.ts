import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedDynamo,
  startEmbeddedDynamo,
} from '../../shared/adapters/embedded-dynamodb.ts';
import { DynamoRuleStore } from '../../shared/adapters/rule-store.ts';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/wirewatch.js');

/**
 * Stands in for the two AWS APIs the lookup calls: CloudFormation
 * DescribeStacks (query protocol, XML) and SSM GetParameter (JSON 1.1), with
 * one stack and one parameter, so the CLI's `--stack` and `--stage` run
 * unchanged, the SDK pointed here by its standard AWS_ENDPOINT_URL_* variables.
 */
function startFakeAws(
  stacks: Record<string, Record<string, string>>,
  parameters: Record<string, string>,
) {
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    if (target === 'AmazonSSM.GetParameter') {
      const { Name } = JSON.parse(body) as { Name: string };
      const value = parameters[Name];
      response.writeHead(value === undefined ? 400 : 200, {
        'content-type': 'application/x-amz-json-1.1',
      });
      response.end(
        JSON.stringify(
          value === undefined
            ? { __type: 'ParameterNotFound', message: '' }
            : { Parameter: { Name, Type: 'String', Value: value, Version: 1 } },
        ),
      );
      return;
    }
    const form = new URLSearchParams(body);
    const name = form.get('StackName') ?? '';
    const outputs = stacks[name];
    response.writeHead(outputs ? 200 : 400, { 'content-type': 'text/xml' });
    response.end(
      outputs
        ? `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult><Stacks><member>
    <StackName>${name}</StackName><StackStatus>CREATE_COMPLETE</StackStatus>
    <CreationTime>2025-03-01T10:00:00Z</CreationTime>
    <Outputs>${Object.entries(outputs)
      .map(
        ([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`,
      )
      .join('')}</Outputs>
  </member></Stacks></DescribeStacksResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</DescribeStacksResponse>`
        : `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>
<Message>Stack with id ${name} does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
    );
  });
  return new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const WATCHES = 'watches:\n  - id: troops\n    name: Troops\n    query: troops\n';

describe('wirewatch rules with --stack and --stage', () => {
  let dynamo: EmbeddedDynamo;
  let aws: Server;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    aws = await startFakeAws(
      {
        'wirewatch-dev-data': { RulesTableName: dynamo.tableNames.rules },
        'wirewatch-dev-service': { DashboardUrl: 'https://example.com' },
      },
      { '/wirewatch/dev/tables/rules': dynamo.tableNames.rules },
    );
    const awsUrl = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
    env = {
      ...process.env,
      NO_COLOR: '1',
      AWS_ACCESS_KEY_ID: 'wirewatch-test',
      AWS_SECRET_ACCESS_KEY: 'wirewatch-test',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_CLOUDFORMATION: awsUrl,
      AWS_ENDPOINT_URL_SSM: awsUrl,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    };
    dir = await mkdtemp(join(tmpdir(), 'wirewatch-lookup-'));
    await writeFile(join(dir, 'watches.yaml'), WATCHES);
  });

  afterAll(async () => {
    await new Promise((resolve) => aws.close(resolve));
    await dynamo.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function wirewatch(
    ...args: string[]
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec('node', [BIN, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  }

  it('finds the rules table from the RulesTableName output of the stack', async () => {
    const result = await wirewatch(
      'rules',
      'push',
      join(dir, 'watches.yaml'),
      '--stack',
      'wirewatch-dev-data',
      '--yes',
      '-m',
      'via the stack',
    );

    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`${dynamo.tableNames.rules} (stack wirewatch-dev-data)`);
    expect(result.stdout).toContain('pushed version 1');
    const store = new DynamoRuleStore(dynamo.documentClient, dynamo.tableNames.rules);
    expect((await store.current())?.message).toBe('via the stack');
  });

  it('finds the rules table from the SSM parameter of the stage', async () => {
    const result = await wirewatch('rules', 'history', '--stage', 'dev');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('via the stack');
  });

  it('names the outputs a stack has when it has no RulesTableName', async () => {
    const result = await wirewatch('rules', 'history', '--stack', 'wirewatch-dev-service');

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'stack wirewatch-dev-service has no output RulesTableName (its outputs: DashboardUrl)',
    );
  });

  it('says which stack or parameter could not be read', async () => {
    const stack = await wirewatch('rules', 'history', '--stack', 'nope');
    const stage = await wirewatch('rules', 'history', '--stage', 'prod');

    expect(stack.code).toBe(2);
    expect(stack.stderr).toContain('cannot read the outputs of stack nope in eu-west-1');
    expect(stack.stderr).toContain('Stack with id nope does not exist');
    expect(stage.code).toBe(2);
    expect(stage.stderr).toContain('cannot read SSM parameter /wirewatch/prod/tables/rules');
    expect(stage.stderr).toContain('no such parameter');
  });
});
