import type { Database } from '@google-cloud/spanner';
import { assertIsoDate } from '../duckdb-warehouse';
import { ResultNotSerializableError, WarehouseError } from '../errors';
import type { ResultRow, ResultStore } from '../warehouse.port';
import { SPANNER_RESULTS_TABLE } from './results.ddl';

export interface SpannerResultStoreOptions {
  /** table name (default `Results`); its DDL is `spannerResultsDdl(table)` */
  table?: string;
  /**
   * rows per commit. Spanner counts one mutation per written cell (7 per row here) and refuses
   * commits above 80,000; 2,000 rows = 14,000 mutations leaves room for secondary indexes.
   */
  maxRowsPerCommit?: number;
  /** JSON bytes per commit (Spanner refuses commits above 100 MB; stay far below) */
  maxBytesPerCommit?: number;
  /** keys per read request (one request for a batch of dependencies, chunked only when huge) */
  maxIdsPerQuery?: number;
  /** rows deleted per transaction by `prune` */
  maxDeletesPerCommit?: number;
  /**
   * run this store's read-write transactions one after another. For the emulator, which aborts
   * overlapping transactions (the retries then cost seconds: 10 concurrent upserts ~3 s);
   * production Spanner runs them in parallel, so leave it off there.
   */
  serializeWrites?: boolean;
}

/** gRPC codes worth retrying: the call may succeed as it is on another attempt. */
const RETRYABLE_GRPC = new Set([
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  13, // INTERNAL
  14, // UNAVAILABLE
]);

/** A Spanner call of the result store failed; keeps the original as `cause`. */
export class SpannerResultStoreError extends WarehouseError {
  readonly code = 'query-failed';
  readonly retryable: boolean;
  /** gRPC status code of the cause, when it has one */
  readonly grpcCode: number | undefined;
  constructor(
    readonly operation: string,
    readonly table: string,
    cause: unknown,
  ) {
    const grpcCode =
      typeof (cause as { code?: unknown })?.code === 'number'
        ? (cause as { code: number }).code
        : undefined;
    super(
      `Spanner result store: ${operation} on table "${table}" failed: ` +
        (cause instanceof Error ? cause.message : String(cause)),
      { cause },
    );
    this.name = 'SpannerResultStoreError';
    this.grpcCode = grpcCode;
    this.retryable = grpcCode === undefined || RETRYABLE_GRPC.has(grpcCode);
  }
}

function serialise(computation: string, row: ResultRow): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(row.result);
  } catch (err) {
    throw new ResultNotSerializableError(computation, row.entityId, (err as Error).message);
  }
  if (text === undefined)
    throw new ResultNotSerializableError(computation, row.entityId, 'it is undefined');
  return text;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Results in Spanner, keyed (Computation, Date, EntityId). Writes are mutations (upsert and
 * deleteRows) inside `runTransactionAsync`, which retries ABORTED — the emulator aborts every
 * read-write transaction that overlaps another. An upsert that fits one commit is atomic; a
 * larger one commits in several (each idempotent, so a retry of the whole call is safe).
 * The Database belongs to the caller: `close()` does not close it.
 */
export function createSpannerResultStore(
  database: Database,
  opts: SpannerResultStoreOptions = {},
): ResultStore {
  const table = opts.table ?? SPANNER_RESULTS_TABLE;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(table))
    throw new Error(`invalid Spanner table name "${table}" (letters, digits and _ only)`);
  const maxRows = opts.maxRowsPerCommit ?? 2_000;
  const maxBytes = opts.maxBytesPerCommit ?? 8 * 1024 * 1024;
  const maxIds = opts.maxIdsPerQuery ?? 10_000;
  const maxDeletes = opts.maxDeletesPerCommit ?? 10_000;
  let closed = false;
  let writeTail: Promise<unknown> = Promise.resolve();

  /** a read-write transaction, queued behind the previous one when writes are serialised */
  function write<T>(fn: () => Promise<T>): Promise<T> {
    if (!opts.serializeWrites) return fn();
    const run = writeTail.then(fn);
    writeTail = run.catch(() => undefined);
    return run;
  }

  async function call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (closed)
      throw new SpannerResultStoreError(operation, table, new Error('the store is closed'));
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WarehouseError) throw err;
      throw new SpannerResultStoreError(operation, table, err);
    }
  }

  const keyParams = (computation: string, date: string) => {
    assertIsoDate(date, 'date');
    return {
      params: { computation, date },
      types: { computation: 'string', date: 'date' } as const,
    };
  };

  async function query(
    operation: string,
    sql: string,
    params: Record<string, unknown>,
    types: Record<string, unknown>,
  ) {
    return call(operation, async () => {
      const [rows] = await database.run({ sql, params, types: types as never, json: true });
      return rows as unknown as Array<Record<string, unknown>>;
    });
  }

  return {
    async upsert(computation, date, runId, rows) {
      if (rows.length === 0) return;
      assertIsoDate(date, 'date');
      // one row per key, last wins, and every result serialised before anything is written
      const byEntity = new Map<string, { row: ResultRow; text: string }>();
      for (const row of rows) {
        byEntity.delete(row.entityId);
        byEntity.set(row.entityId, { row, text: serialise(computation, row) });
      }
      const commits: Array<Array<Record<string, string>>> = [[]];
      let bytes = 0;
      for (const { row, text } of byEntity.values()) {
        let current = commits[commits.length - 1];
        if (current.length >= maxRows || (current.length > 0 && bytes + text.length > maxBytes)) {
          commits.push((current = []));
          bytes = 0;
        }
        bytes += text.length;
        current.push({
          Computation: computation,
          Date: date,
          EntityId: row.entityId,
          Result: text,
          ResultHash: row.resultHash,
          RunId: runId,
          WrittenAt: 'spanner.commit_timestamp()',
        });
      }
      await call(`upsert of ${byEntity.size} rows`, async () => {
        for (const mutations of commits) {
          await write(() =>
            database.runTransactionAsync(async (tx) => {
              tx.upsert(table, mutations);
              await tx.commit();
            }),
          );
        }
      });
    },

    async delete(computation, date, entityIds) {
      if (entityIds.length === 0) return;
      assertIsoDate(date, 'date');
      const keys = [...new Set(entityIds)].map((id) => [computation, date, id]);
      await call(`delete of ${keys.length} entities`, async () => {
        for (const part of chunks(keys, maxDeletes)) {
          await write(() =>
            database.runTransactionAsync(async (tx) => {
              tx.deleteRows(table, part);
              await tx.commit();
            }),
          );
        }
      });
    },

    async read(computation, date, entityIds) {
      const out = new Map<string, unknown>();
      if (entityIds.length === 0) return out;
      assertIsoDate(date, 'date');
      // a key-set read, not `IN UNNEST(@ids)`: the emulator runs that as a scan per id
      // (1,000 ids among 100,000 rows: ~60 s), point reads stay fast on both
      for (const ids of chunks([...new Set(entityIds)], maxIds)) {
        const rows = await call(`read of ${ids.length} entities`, async () => {
          const [found] = await database.table(table).read({
            keys: ids.map((id) => [computation, date, id]),
            columns: ['EntityId', 'Result'],
            json: true,
          });
          return found as unknown as Array<{ EntityId: string; Result: string }>;
        });
        for (const r of rows) out.set(r.EntityId, JSON.parse(r.Result));
      }
      return out;
    },

    async hashes(computation, date) {
      const { params, types } = keyParams(computation, date);
      // STRING orders by UTF-8 bytes, as DuckDB's default binary collation does
      const rows = await query(
        'hashes',
        `SELECT EntityId, ResultHash FROM ${table}
         WHERE Computation = @computation AND Date = @date ORDER BY EntityId`,
        params,
        types,
      );
      return rows.map((r): [string, string] => [r.EntityId as string, r.ResultHash as string]);
    },

    async prune(computation, date, keepRunId) {
      const { params, types } = keyParams(computation, date);
      // read the stale keys and delete them in the same transaction, a bounded number at a
      // time: one DML DELETE would exceed the mutation limit on a large stale set, and
      // partitioned DML only returns a lower bound of the rows it removed
      return call('prune', async () => {
        let removed = 0;
        for (;;) {
          const n = await write(() =>
            database.runTransactionAsync(async (tx) => {
              const [rows] = await tx.run({
                sql: `SELECT EntityId FROM ${table}
                    WHERE Computation = @computation AND Date = @date AND RunId != @keep
                    LIMIT @limit`,
                params: { ...params, keep: keepRunId, limit: maxDeletes },
                types: { ...types, keep: 'string', limit: 'int64' },
                json: true,
              });
              const ids = (rows as unknown as Array<{ EntityId: string }>).map((r) => r.EntityId);
              if (ids.length > 0)
                tx.deleteRows(
                  table,
                  ids.map((id) => [computation, date, id]),
                );
              await tx.commit();
              return ids.length;
            }),
          );
          removed += n;
          if (n < maxDeletes) return removed;
        }
      });
    },

    async count(computation, date) {
      const { params, types } = keyParams(computation, date);
      const rows = await query(
        'count',
        `SELECT COUNT(*) AS n FROM ${table} WHERE Computation = @computation AND Date = @date`,
        params,
        types,
      );
      return Number(rows[0].n);
    },

    async close() {
      closed = true;
    },
  };
}
