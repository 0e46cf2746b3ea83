/**
 * A DynamoDB table built from its shared definition (`shared/adapters/tables.ts`):
 * keys, indexes and TTL attribute come from there, never restated here. Every
 * table is on-demand, encrypted with the AWS-managed key, with point-in-time
 * recovery; with a `RETAIN` removal policy it is also deletion-protected.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { KeyAttribute, TableDefinition } from '../../shared/adapters/tables.ts';

const ATTRIBUTE_TYPES = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
} as const;

function attribute(key: KeyAttribute) {
  return { name: key.name, type: ATTRIBUTE_TYPES[key.type] };
}

export interface WirewatchTableProps {
  definition: TableDefinition;
  removalPolicy: RemovalPolicy;
}

export class WirewatchTable extends Table {
  readonly definition: TableDefinition;

  constructor(scope: Construct, id: string, props: WirewatchTableProps) {
    const { definition } = props;
    super(scope, id, {
      partitionKey: attribute(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
      ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
    this.definition = definition;
    for (const index of definition.globalSecondaryIndexes ?? []) {
      this.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType:
          index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
      });
    }
  }
}
