/**
 * Finding a deployment's table names, so nobody types them by hand: from the
 * outputs of its CloudFormation stack, or from the SSM parameters the stack
 * writes per stage.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { tableNameOutputKey, tableNameParameter } from './tables.ts';

/** Where to look a deployment up; region from the AWS environment when absent. */
export interface StackLookupOptions {
  region?: string;
}

/** Thrown when a table name cannot be found; says where it looked and what to check. */
export class StackLookupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackLookupError';
  }
}

/** The value of one output of a CloudFormation stack. */
export async function readStackOutput(
  stackName: string,
  outputKey: string,
  options: StackLookupOptions = {},
): Promise<string> {
  const client = new CloudFormationClient(options.region ? { region: options.region } : {});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Stacks?.[0]?.Outputs ?? [];
    const value = outputs.find((o) => o.OutputKey === outputKey)?.OutputValue;
    if (!value) {
      const keys = outputs.map((o) => o.OutputKey).filter((k): k is string => Boolean(k));
      throw new StackLookupError(
        `stack ${stackName} has no output ${outputKey}` +
          (keys.length > 0 ? ` (its outputs: ${keys.join(', ')})` : ' (it has no outputs)') +
          '; is it the wirewatch data stack, deployed by a version that has a rules table?',
      );
    }
    return value;
  } catch (error) {
    if (error instanceof StackLookupError) throw error;
    throw new StackLookupError(
      `cannot read the outputs of stack ${stackName}${inRegion(options)}: ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    client.destroy();
  }
}

/** The value of one SSM parameter. */
export async function readSsmParameter(
  name: string,
  options: StackLookupOptions = {},
): Promise<string> {
  const client = new SSMClient(options.region ? { region: options.region } : {});
  try {
    const { Parameter } = await client.send(new GetParameterCommand({ Name: name }));
    if (!Parameter?.Value) throw new StackLookupError(`SSM parameter ${name} is empty`);
    return Parameter.Value;
  } catch (error) {
    if (error instanceof StackLookupError) throw error;
    const hint =
      error instanceof Error && error.name === 'ParameterNotFound'
        ? ' (no such parameter: check --stage and the region)'
        : '';
    throw new StackLookupError(
      `cannot read SSM parameter ${name}${inRegion(options)}: ${messageOf(error)}${hint}`,
      { cause: error },
    );
  } finally {
    client.destroy();
  }
}

/** The rules table of a deployed stack, from its `RulesTableName` output. */
export function rulesTableFromStack(
  stackName: string,
  options: StackLookupOptions = {},
): Promise<string> {
  return readStackOutput(stackName, tableNameOutputKey('rules'), options);
}

/** The rules table of a deployed stage, from `/wirewatch/<stage>/tables/rules`. */
export function rulesTableFromSsm(
  stage: string,
  options: StackLookupOptions = {},
): Promise<string> {
  return readSsmParameter(tableNameParameter(stage, 'rules'), options);
}

function inRegion(options: StackLookupOptions): string {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  return region ? ` in ${region}` : '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
