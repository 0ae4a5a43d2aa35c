import type { Database } from '@google-cloud/spanner';
import { assertIsoDate } from '../duckdb-warehouse';
import { ResultNotSerializableError, WarehouseError } from '../errors';
import type { ResultRow, ResultStore, ResultVersionInfo } from '../warehouse.port';
import { SPANNER_RESULTS_TABLE } from './results.ddl';

export interface SpannerResultStoreOptions {
  /** table name (default `ResultVersions`); its DDL is `spannerResultsDdl(table)` */
  table?: string;
  /**
   * rows per commit (writes and copyForward). Spanner counts one mutation per written cell (8 per
   * row here) and refuses commits above 80,000; 2,000 rows = 16,000 mutations leaves room for
   * secondary indexes.
   */
  maxRowsPerCommit?: number;
  /** JSON bytes per commit (Spanner refuses commits above 100 MB; stay far below) */
  maxBytesPerCommit?: number;
  /** keys per read request (one request for a batch of dependencies, chunked only when huge) */
  maxIdsPerQuery?: number;
  /** rows deleted per transaction by `gc` */
  maxDeletesPerCommit?: number;
  /**
   * run this store's read-write transactions one after another. For the emulator, which aborts
   * overlapping transactions (the retries then cost seconds: 10 concurrent upserts ~3 s);
   * production Spanner runs them in parallel, so leave it off there.
   */
  serializeWrites?: boolean;
  /**
   * clock (epoch ms) for WrittenAt; absent: the commit timestamp. For tests of `gc`, which compares
   * WrittenAt with a caller's time.
   */
  now?: () => number;
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
 * Results in Spanner, keyed (Computation, Date, Version, EntityId). Writes are mutations inside
 * `runTransactionAsync`, which retries ABORTED — the emulator aborts every read-write transaction
 * that overlaps another. A write that fits one commit is atomic; a larger one commits in several
 * (each idempotent, so a retry of the whole call is safe). A version is made visible by its
 * readers naming it, so a write spread over several commits is never seen half-done by a reader
 * of another version.
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
  const clock = opts.now;
  const writtenAt = () => (clock ? new Date(clock()).toISOString() : 'spanner.commit_timestamp()');
  let closed = false;
  let writeTail: Promise<unknown> = Promise.resolve();

  /** a read-write transaction, queued behind the previous one when writes are serialised */
  function queued<T>(fn: () => Promise<T>): Promise<T> {
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

  const keyParams = (computation: string, date: string, version?: string) => {
    assertIsoDate(date, 'date');
    const params: Record<string, unknown> = { computation, date };
    const types: Record<string, string> = { computation: 'string', date: 'date' };
    if (version !== undefined) {
      params.version = version;
      types.version = 'string';
    }
    return { params, types };
  };
  const ofDate = `Computation = @computation AND Date = @date`;
  const ofVersion = `${ofDate} AND Version = @version`;

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

  /** the keys of one version, from its start or after `after` (exclusive), in key order */
  const versionRange = (
    computation: string,
    date: string,
    version: string,
    after: string | null,
  ) => {
    const prefix = [computation, date, version];
    return after === null
      ? { startClosed: prefix, endClosed: prefix }
      : { startOpen: [...prefix, after], endClosed: prefix };
  };

  /** the byte limit cuts a batch short: at least one row, then rows while they fit */
  function fitting<T extends { Result: string }>(rows: T[]): T[] {
    let bytes = 0;
    let n = 0;
    while (n < rows.length && (n === 0 || bytes + rows[n].Result.length <= maxBytes))
      bytes += rows[n++].Result.length;
    return rows.slice(0, n);
  }

  /**
   * Deletes one version by bounded pages of keys, one transaction each. With `writtenBefore`, the
   * first transaction checks again, for the whole version, that nothing was written to it since
   * (a version being deleted must not be written to, but if it is, the rest of it stays), and each
   * later page checks its own rows. False when it stopped for a recent write.
   */
  async function deleteVersion(
    computation: string,
    date: string,
    version: string,
    writtenBefore: number | null,
  ): Promise<boolean> {
    const { params, types } = keyParams(computation, date, version);
    let first = true;
    for (;;) {
      const outcome = await queued(() =>
        database.runTransactionAsync(async (tx) => {
          if (first && writtenBefore !== null) {
            const [recent] = await tx.run({
              sql: `SELECT COUNT(*) AS n FROM ${table}
                    WHERE ${ofVersion} AND WrittenAt >= @before`,
              params: { ...params, before: new Date(writtenBefore) },
              types: { ...types, before: 'timestamp' } as never,
              json: true,
            });
            if (Number((recent as unknown as Array<{ n: number }>)[0].n) > 0) {
              await tx.commit();
              return 'written-since' as const;
            }
          }
          const [found] = await tx.read(table, {
            ranges: [versionRange(computation, date, version, null)],
            columns: ['EntityId', 'WrittenAt'],
            limit: maxDeletes,
            json: true,
          });
          const rows = found as unknown as Array<{ EntityId: string; WrittenAt: Date }>;
          if (writtenBefore !== null && rows.some((r) => r.WrittenAt.getTime() >= writtenBefore)) {
            await tx.commit();
            return 'written-since' as const;
          }
          // by key: the Node client has no key-range delete, and on the emulator deleting
          // 10,000 keys measured ~2.0 s vs ~2.7 s for a DML DELETE of the same range
          if (rows.length > 0)
            tx.deleteRows(
              table,
              rows.map((r) => [computation, date, version, r.EntityId]),
            );
          await tx.commit();
          return rows.length < maxDeletes ? ('done' as const) : ('more' as const);
        }),
      );
      first = false;
      if (outcome === 'more') continue;
      return outcome === 'done';
    }
  }

  const store: ResultStore = {
    async write(computation, date, version, runId, rows) {
      if (rows.length === 0) return;
      assertIsoDate(date, 'date');
      // one row per key, last wins, and every result serialised before anything is written
      const byEntity = new Map<string, { row: ResultRow; text: string }>();
      for (const row of rows) {
        byEntity.delete(row.entityId);
        byEntity.set(row.entityId, { row, text: serialise(computation, row) });
      }
      const pending = [...byEntity.values()].map(({ row, text }) => ({
        Computation: computation,
        Date: date,
        Version: version,
        EntityId: row.entityId,
        Result: text,
        ResultHash: row.resultHash,
        RunId: runId,
      }));
      await call(`write of ${byEntity.size} rows`, async () => {
        for (let i = 0; i < pending.length;) {
          const part = fitting(pending.slice(i, i + maxRows));
          i += part.length;
          const stamp = writtenAt();
          await queued(() =>
            database.runTransactionAsync(async (tx) => {
              tx.upsert(
                table,
                part.map((m) => ({ ...m, WrittenAt: stamp })),
              );
              await tx.commit();
            }),
          );
        }
      });
    },

    async copyForward(computation, date, fromVersion, toVersion, exceptEntityIds) {
      assertIsoDate(date, 'date');
      if (fromVersion === toVersion) return 0;
      const except = new Set(exceptEntityIds);
      // a page of the source per transaction, read in it together with the keys it would
      // write: a row written to toVersion meanwhile is seen and kept. Key-range reads, not SQL:
      // the emulator scans the whole table for each SQL page (~2 s per 2,000 rows of 100,000,
      // vs ~0.4 s)
      return call(`copyForward of "${fromVersion}" to "${toVersion}"`, async () => {
        let copied = 0;
        let after: string | null = null;
        for (;;) {
          const from = after;
          const page = await queued(() =>
            database.runTransactionAsync(async (tx) => {
              const [found] = await tx.read(table, {
                ranges: [versionRange(computation, date, fromVersion, from)],
                columns: ['EntityId', 'Result', 'ResultHash', 'RunId'],
                limit: maxRows,
                json: true,
              });
              const all = found as unknown as Array<{
                EntityId: string;
                Result: string;
                ResultHash: string;
                RunId: string;
              }>;
              const rows = fitting(all);
              const wanted = rows.filter((r) => !except.has(r.EntityId));
              let present = new Set<string>();
              if (wanted.length > 0) {
                const [existing] = await tx.read(table, {
                  keys: wanted.map((r) => [computation, date, toVersion, r.EntityId]),
                  columns: ['EntityId'],
                  json: true,
                });
                present = new Set(
                  (existing as unknown as Array<{ EntityId: string }>).map((r) => r.EntityId),
                );
              }
              const stamp = writtenAt();
              // run id stays the source row's: the run that computed that result
              const copies = wanted
                .filter((r) => !present.has(r.EntityId))
                .map((r) => ({
                  Computation: computation,
                  Date: date,
                  Version: toVersion,
                  EntityId: r.EntityId,
                  Result: r.Result,
                  ResultHash: r.ResultHash,
                  RunId: r.RunId,
                  WrittenAt: stamp,
                }));
              if (copies.length > 0) tx.insert(table, copies);
              await tx.commit();
              return {
                copied: copies.length,
                last: rows.length > 0 ? rows[rows.length - 1].EntityId : null,
                done: rows.length === all.length && all.length < maxRows,
              };
            }),
          );
          copied += page.copied;
          if (page.done) return copied;
          after = page.last;
        }
      });
    },

    async read(computation, date, version, entityIds) {
      const out = new Map<string, unknown>();
      if (entityIds.length === 0) return out;
      assertIsoDate(date, 'date');
      // a key-set read, not `IN UNNEST(@ids)`: the emulator runs that as a scan per id
      // (1,000 ids among 100,000 rows: ~60 s), point reads stay fast on both
      for (const ids of chunks([...new Set(entityIds)], maxIds)) {
        const rows = await call(`read of ${ids.length} entities`, async () => {
          const [found] = await database.table(table).read({
            keys: ids.map((id) => [computation, date, version, id]),
            columns: ['EntityId', 'Result'],
            json: true,
          });
          return found as unknown as Array<{ EntityId: string; Result: string }>;
        });
        for (const r of rows) out.set(r.EntityId, JSON.parse(r.Result));
      }
      return out;
    },

    async hashes(computation, date, version) {
      const { params, types } = keyParams(computation, date, version);
      // STRING orders by UTF-8 bytes, as DuckDB's default binary collation does
      const rows = await query(
        'hashes',
        `SELECT EntityId, ResultHash FROM ${table} WHERE ${ofVersion} ORDER BY EntityId`,
        params,
        types,
      );
      return rows.map((r): [string, string] => [r.EntityId as string, r.ResultHash as string]);
    },

    async count(computation, date, version) {
      const { params, types } = keyParams(computation, date, version);
      const rows = await query(
        'count',
        `SELECT COUNT(*) AS n FROM ${table} WHERE ${ofVersion}`,
        params,
        types,
      );
      return Number(rows[0].n);
    },

    async versions(computation, date) {
      const { params, types } = keyParams(computation, date);
      const rows = await query(
        'versions',
        `SELECT Version, COUNT(*) AS n, UNIX_MILLIS(MAX(WrittenAt)) AS last FROM ${table}
         WHERE ${ofDate} GROUP BY Version ORDER BY Version`,
        params,
        types,
      );
      return rows.map((r): ResultVersionInfo => ({
        version: r.Version as string,
        rows: Number(r.n),
        lastWrittenAt: Number(r.last),
      }));
    },

    async gc(computation, date, keep, writtenBefore) {
      const kept = new Set(keep);
      const doomed = (await store.versions(computation, date))
        .filter((v) => !kept.has(v.version) && v.lastWrittenAt < writtenBefore)
        .map((v) => v.version);
      return call('gc', async () => {
        let deleted = 0;
        for (const version of doomed)
          if (await deleteVersion(computation, date, version, writtenBefore)) deleted++;
        return deleted;
      });
    },

    async datesBefore(computation, before) {
      assertIsoDate(before, 'before');
      const rows = await query(
        'datesBefore',
        `SELECT DISTINCT CAST(Date AS STRING) AS d FROM ${table}
         WHERE Computation = @computation AND Date < @before ORDER BY d`,
        { computation, before },
        { computation: 'string', before: 'date' },
      );
      return rows.map((r) => r.d as string);
    },

    async deleteVersions(computation, date, versions) {
      assertIsoDate(date, 'date');
      const present = new Set((await store.versions(computation, date)).map((v) => v.version));
      return call('deleteVersions', async () => {
        let deleted = 0;
        for (const version of [...new Set(versions)].filter((v) => present.has(v)))
          if (await deleteVersion(computation, date, version, null)) deleted++;
        return deleted;
      });
    },

    async close() {
      closed = true;
    },
  };
  return store;
}
