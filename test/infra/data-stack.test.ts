import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGES, stageConfig } from '../../infra/config/stages.ts';
import {
  TABLES,
  type TableId,
  tableNameOutputKey,
  tableNameParameter,
} from '../../shared/adapters/tables.ts';
import { type SynthesisedStage, synthStage } from './synth-stage.ts';

const tableIds = Object.keys(TABLES) as TableId[];
let dev: SynthesisedStage;
let prod: SynthesisedStage;

beforeAll(() => {
  // The functions are not bundled here: this file is about the data stack.
  dev = synthStage('dev', { bundle: false });
  prod = synthStage('prod', { bundle: false });
}, 60_000);

describe('the data stack', () => {
  it('creates one table per shared definition, with its keys', () => {
    dev.dataTemplate.resourceCountIs('AWS::DynamoDB::Table', tableIds.length);
    for (const id of tableIds) {
      const definition = TABLES[id];
      const sortKey = 'sortKey' in definition ? definition.sortKey : undefined;
      dev.dataTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
          ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' }] : []),
        ],
      });
    }
  });

  it('makes every table on-demand, encrypted and point-in-time recoverable', () => {
    dev.dataTemplate.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      {
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
      tableIds.length,
    );
  });

  it('switches TTL on for the tables whose definition has a TTL attribute', () => {
    const withTtl = tableIds.filter((id) => 'ttlAttribute' in TABLES[id]);

    expect(withTtl.length).toBeGreaterThan(0);
    dev.dataTemplate.resourcePropertiesCountIs(
      'AWS::DynamoDB::Table',
      { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } },
      withTtl.length,
    );
  });

  it('publishes each table name as a stack output and an SSM parameter', () => {
    const outputs = dev.dataTemplate.toJSON().Outputs as Record<string, unknown>;

    for (const id of tableIds) {
      expect(outputs).toHaveProperty(tableNameOutputKey(id));
      dev.dataTemplate.hasResourceProperties('AWS::SSM::Parameter', {
        Name: tableNameParameter('dev', id),
        Type: 'String',
      });
    }
    expect(outputs).toHaveProperty('RulesTableName');
  });

  it('creates one empty secret for all the secrets the stage config names', () => {
    dev.dataTemplate.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'wirewatch/dev/secrets',
      Description: Match.stringLikeRegexp('SLACK_WEBHOOK_URL, UNSUBSCRIBE_SECRET'),
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
    dev.dataTemplate.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('deletes a dev stage with its data', () => {
    dev.dataTemplate.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('retains and protects the data of prod when its stack is deleted', () => {
    prod.dataTemplate.allResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    prod.dataTemplate.allResources('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
  });

  it('needs no account or region to synthesise', () => {
    expect(dev.data.environment).toBe('aws://unknown-account/unknown-region');
    expect(dev.service.environment).toBe('aws://unknown-account/unknown-region');
  });
});

describe('stages', () => {
  it('names the stacks after the stage', () => {
    expect([prod.data.stackName, prod.service.stackName]).toEqual([
      'wirewatch-prod-data',
      'wirewatch-prod-service',
    ]);
  });

  it('gives prod longer log retention than dev', () => {
    prod.serviceTemplate.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { RetentionInDays: 90 },
      5,
    );
  });

  it('picks the stage from the context value and rejects an unknown one with the choices', () => {
    expect(stageConfig('prod')).toBe(STAGES.prod);
    expect(() => stageConfig('staging')).toThrow(
      'unknown stage "staging": run cdk with -c stage=<dev|prod|rehearsal>',
    );
    expect(() => stageConfig(undefined)).toThrow('no stage given');
  });
});
