import { describe, expect, it } from 'vitest';
import { embeddedTableName } from '../../shared/adapters/embedded-dynamodb.ts';
import {
  TABLES,
  tableNameOutputKey,
  tableNameParameter,
  toCreateTableInput,
} from '../../shared/adapters/tables.ts';

describe('table definitions', () => {
  it('defines the rules table by rule set and numeric version', () => {
    const input = toCreateTableInput(TABLES.rules, embeddedTableName(TABLES.rules.logicalId));

    expect(input.TableName).toBe('wirewatch-rules');
    expect(input.KeySchema).toEqual([
      { AttributeName: 'ruleSet', KeyType: 'HASH' },
      { AttributeName: 'version', KeyType: 'RANGE' },
    ]);
    expect(input.AttributeDefinitions).toContainEqual({
      AttributeName: 'version',
      AttributeType: 'N',
    });
  });

  it('names the stack output and the SSM parameter that publish a table name', () => {
    expect(tableNameOutputKey('rules')).toBe('RulesTableName');
    expect(tableNameOutputKey('feedState')).toBe('FeedStateTableName');
    expect(tableNameParameter('prod', 'rules')).toBe('/wirewatch/prod/tables/rules');
    expect(tableNameParameter('dev', 'alertLedger')).toBe('/wirewatch/dev/tables/alert-ledger');
  });
});
