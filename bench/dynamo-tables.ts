/**
 * DynamoDB request units per table, for the cost benchmark. `countDynamoRequests`
 * (shared/adapters/dynamodb.ts) counts a client's units in total; this counts
 * the same units, by the same rules, per table and operation, so that a figure
 * such as "write units per new item" can be traced to the table that spends it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableId, TableNames } from '../shared/adapters/tables.ts';

/** Units and requests of one table. */
export interface TableUnits {
  writeUnits: number;
  readUnits: number;
  /** Requests per operation name, e.g. `{ PutItem: 3, Query: 1 }`. */
  requests: Record<string, number>;
}

/** What `countDynamoByTable` has counted since it started or was last reset. */
export interface DynamoTableCounter {
  /** Per table id of `TABLES`; tables not used so far are absent. */
  snapshot(): Partial<Record<TableId, TableUnits>>;
  reset(): void;
}

/** 1 unit per started KiB (writes) or 4 KiB (strongly consistent reads), at least 1, as `countDynamoRequests`. */
function units(value: unknown, unit: number): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(value ?? {})) / unit));
}

/**
 * Counts, per table, the requests `client` sends from now on. A request whose
 * conditional write fails is counted too: DynamoDB bills it like one that
 * succeeds. `UpdateItem` and `DeleteItem` count 1 write unit each (the
 * records this project updates and deletes are well under 1 KiB). A
 * `BatchGetItem` counts 1 read unit per key asked for.
 */
export function countDynamoByTable(
  client: DynamoDBClient | DynamoDBDocumentClient,
  tableNames: TableNames,
): DynamoTableCounter {
  const idOf = new Map<string, TableId>(
    Object.entries(tableNames).map(([id, name]) => [name, id as TableId]),
  );
  let tables: Partial<Record<TableId, TableUnits>> = {};
  const table = (name: unknown): TableUnits => {
    const id = idOf.get(String(name)) ?? (String(name) as TableId);
    let entry = tables[id];
    if (!entry) {
      entry = { writeUnits: 0, readUnits: 0, requests: {} };
      tables[id] = entry;
    }
    return entry;
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      if (operation === 'BatchWriteItem' || operation === 'BatchGetItem') {
        for (const [name, requests] of Object.entries(
          (input.RequestItems ?? {}) as Record<string, unknown>,
        )) {
          const entry = table(name);
          entry.requests[operation] = (entry.requests[operation] ?? 0) + 1;
          if (operation === 'BatchWriteItem') {
            for (const request of requests as unknown[]) entry.writeUnits += units(request, 1024);
          } else {
            // Each key is read like a GetItem: 1 unit (strongly consistent, under 4 KiB), found or not.
            entry.readUnits += ((requests as { Keys?: unknown[] }).Keys ?? []).length;
          }
        }
      } else {
        const entry = table(input.TableName);
        entry.requests[operation] = (entry.requests[operation] ?? 0) + 1;
        if (operation === 'PutItem') entry.writeUnits += units(input.Item, 1024);
        else if (operation === 'UpdateItem' || operation === 'DeleteItem') entry.writeUnits += 1;
      }
      const result = await next(args);
      if (operation === 'GetItem' || operation === 'Scan' || operation === 'Query') {
        const output = result.output as { Item?: unknown; Items?: unknown[] };
        table(input.TableName).readUnits += units(output.Items ?? output.Item, 4096);
      }
      return result;
    },
    { step: 'initialize', name: 'wirewatchCountDynamoByTable', override: true },
  );
  return {
    snapshot() {
      return structuredClone(tables);
    },
    reset() {
      tables = {};
    },
  };
}

/** Sums the write or read units of a snapshot, all tables or only `only`. */
export function sumUnits(
  snapshot: Partial<Record<TableId, TableUnits>>,
  kind: 'writeUnits' | 'readUnits',
  only?: readonly TableId[],
): number {
  return Object.entries(snapshot)
    .filter(([id]) => !only || only.includes(id as TableId))
    .reduce((sum, [, entry]) => sum + (entry?.[kind] ?? 0), 0);
}
