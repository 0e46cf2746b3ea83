/**
 * The stateful half of a wirewatch stage: one table per entry of `TABLES`
 * and one Secrets Manager secret per secret the stage's config file names.
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

/** The config file's secrets of a stage, by the name the file gives them (`env:NAME`). */
export type WirewatchSecrets = ReadonlyMap<string, ISecret>;

/** The prefix of a stage's secret ids: config secret `env:NAME` is secret `wirewatch/<stage>/NAME`. */
export function secretIdPrefix(stage: string): string {
  return `wirewatch/${stage}/`;
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
    const secrets = new Map<string, ISecret>();
    for (const name of secretNamesOf(readFileSync(configPath, 'utf8'), configPath)) {
      // Created without a value (the L2 construct would generate a random
      // one): the notifier treats it as not set until ops put the real value.
      const secret = new CfnSecret(this, `${name}Secret`, {
        name: `${secretIdPrefix(stage.name)}${name}`,
        description: `wirewatch ${stage.name}: the config file's env:${name}`,
      });
      secret.applyRemovalPolicy(stage.dataRemovalPolicy);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Slack webhook URLs and SMTP credentials are issued by Slack and SES, not by a ' +
          'rotation Lambda; ops rotate them by putting the new value, which the notifier ' +
          'reads within its cache TTL.',
      });
      secrets.set(name, Secret.fromSecretCompleteArn(this, `${name}SecretRef`, secret.ref));
    }
    this.secrets = secrets;
  }
}
