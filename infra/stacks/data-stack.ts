/**
 * The stateful half of a wirewatch stage: one table per entry of `TABLES`
 * and one Secrets Manager secret holding the secrets the stage's config file names.
 * Kept apart from the compute so that redeploying functions never touches
 * data, and passed to the service stack as typed props.
 *
 * Tools find the tables by name, without typing it: each is a stack output
 * `<LogicalId>Name` (`RulesTableName`) and an SSM parameter
 * `/wirewatch/<stage>/tables/<id>` (`/wirewatch/dev/tables/rules`), named by
 * `tableNameOutputKey` and `tableNameParameter` of the shared definitions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import {
  TABLES,
  type TableDefinition,
  type TableId,
  tableNameOutputKey,
  tableNameParameter,
} from '../../shared/adapters/tables.ts';
import { secretNamesOf } from '../../shared/config/secrets.ts';
import type { StageConfig } from '../config/stages.ts';
import { REPO_ROOT } from '../constructs/wirewatch-function.ts';
import { WirewatchTable } from '../constructs/wirewatch-table.ts';

/** The tables of a stage, by their key in `TABLES`. */
export type WirewatchTables = { readonly [Id in TableId]: WirewatchTable };

/**
 * The stage's secret: one Secrets Manager secret holding a JSON object whose
 * keys are the names the config file reads (`env:NAME`); absent when it reads none.
 */
export interface WirewatchSecrets {
  readonly secret: ISecret | undefined;
  readonly names: readonly string[];
}

/** The id of a stage's secret. */
export function secretId(stage: string): string {
  return `wirewatch/${stage}/secrets`;
}

export interface DataStackProps extends StackProps {
  stage: StageConfig;
}

export class DataStack extends Stack {
  readonly tables: WirewatchTables;
  readonly secrets: WirewatchSecrets;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { stage } = props;

    const entries = (Object.entries(TABLES) as [TableId, TableDefinition][]).map(
      ([tableId, definition]) => {
        const table = new WirewatchTable(this, definition.logicalId, {
          definition,
          removalPolicy: stage.dataRemovalPolicy,
        });
        new CfnOutput(this, tableNameOutputKey(tableId), {
          value: table.tableName,
          description: `Name of the ${tableId} table (env ${definition.envVar})`,
        });
        new StringParameter(this, `${definition.logicalId}NameParameter`, {
          parameterName: tableNameParameter(stage.name, tableId),
          stringValue: table.tableName,
          description: `Name of the wirewatch ${stage.name} ${tableId} table`,
        });
        return [tableId, table] as const;
      },
    );
    this.tables = Object.fromEntries(entries) as Record<TableId, WirewatchTable>;

    const configPath = join(REPO_ROOT, stage.configFile);
    const names = secretNamesOf(readFileSync(configPath, 'utf8'), configPath);
    let secret: ISecret | undefined;
    if (names.length > 0) {
      // Created without a value (the L2 construct would generate a random
      // one): the notifier treats every name as not set until ops put the JSON.
      const cfn = new CfnSecret(this, 'ConfigSecrets', {
        name: secretId(stage.name),
        description: `wirewatch ${stage.name}: JSON object with ${names.join(', ')} (the config file's env: names)`,
      });
      cfn.applyRemovalPolicy(stage.dataRemovalPolicy);
      Validations.of(cfn).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Slack webhook URLs and SMTP credentials are issued by Slack and SES, not by a ' +
          'rotation Lambda; ops rotate them by putting the new value, which the notifier ' +
          'reads within its cache TTL.',
      });
      secret = Secret.fromSecretCompleteArn(this, 'ConfigSecretsRef', cfn.ref);
    }
    this.secrets = { secret, names };
  }
}
