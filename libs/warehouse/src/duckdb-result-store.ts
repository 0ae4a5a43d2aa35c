import { timestampValue } from '@duckdb/node-api';
import { DuckDbSession } from './duckdb-session';
import { ResultNotSerializableError } from './errors';
import type { ResultRow, ResultStore } from './warehouse.port';

export interface DuckDbResultStoreOptions {
  /** its own read-write file, separate from the source tables */
  path: string;
  /** clock for written_at (ms) */
  now?: () => number;
}

const TABLE = 'results';
const STAGING = 'results_staging';

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

/**
 * Results in DuckDB, keyed (computation, date, entity_id). Upserts append into a temporary
 * staging table and merge with one INSERT OR REPLACE: measured much faster than row-by-row
 * prepared inserts (bench/warehouse.bench.ts: ~33 ms vs ~3.9 s per 1,000 rows).
 */
export async function createDuckDbResultStore(
  opts: DuckDbResultStoreOptions,
): Promise<ResultStore> {
  const now = opts.now ?? Date.now;
  const session = await DuckDbSession.open(opts.path);
  await session.exclusive(async (c) => {
    await c.run(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      computation VARCHAR NOT NULL,
      date DATE NOT NULL,
      entity_id VARCHAR NOT NULL,
      result VARCHAR NOT NULL,
      result_hash VARCHAR NOT NULL,
      run_id VARCHAR NOT NULL,
      written_at TIMESTAMP NOT NULL,
      PRIMARY KEY (computation, date, entity_id))`);
    await c.run(`CREATE TEMP TABLE ${STAGING} (
      computation VARCHAR, date VARCHAR, entity_id VARCHAR, result VARCHAR,
      result_hash VARCHAR, run_id VARCHAR, written_at TIMESTAMP)`);
  });

  return {
    async upsert(computation, date, runId, rows) {
      if (rows.length === 0) return;
      // one row per key (last wins): DuckDB refuses to replace one key twice in a statement
      const byEntity = new Map<string, { row: ResultRow; text: string }>();
      for (const row of rows)
        byEntity.set(row.entityId, { row, text: serialise(computation, row) });
      const writtenAt = timestampValue(BigInt(now()) * 1000n);
      await session.exclusive(async (c) => {
        const appender = await c.createAppender(STAGING, 'main', 'temp');
        try {
          for (const { row, text } of byEntity.values()) {
            appender.appendVarchar(computation);
            appender.appendVarchar(date);
            appender.appendVarchar(row.entityId);
            appender.appendVarchar(text);
            appender.appendVarchar(row.resultHash);
            appender.appendVarchar(runId);
            appender.appendTimestamp(writtenAt);
            appender.endRow();
          }
        } finally {
          appender.closeSync();
        }
        try {
          await c.run('BEGIN TRANSACTION');
          await c.run(
            `INSERT OR REPLACE INTO ${TABLE}
             SELECT computation, CAST(date AS DATE), entity_id, result, result_hash, run_id, written_at FROM ${STAGING}`,
          );
          await c.run('COMMIT');
        } catch (err) {
          await c.run('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          await c.run(`DELETE FROM ${STAGING}`);
        }
      });
    },

    async delete(computation, date, entityIds) {
      if (entityIds.length === 0) return;
      await session.query(
        `DELETE FROM ${TABLE} WHERE computation = $1 AND date = CAST($2 AS DATE)
         AND entity_id IN (SELECT unnest(CAST($3 AS VARCHAR[])))`,
        [computation, date, entityIds],
      );
    },

    async read(computation, date, entityIds) {
      const out = new Map<string, unknown>();
      if (entityIds.length === 0) return out;
      const reader = await session.query(
        `SELECT entity_id, result FROM ${TABLE} WHERE computation = $1 AND date = CAST($2 AS DATE)
         AND entity_id IN (SELECT unnest(CAST($3 AS VARCHAR[])))`,
        [computation, date, entityIds],
      );
      // no rows: DuckDB returns no columns at all
      const [ids = [], results = []] = reader.getColumns();
      for (let i = 0; i < ids.length; i++)
        out.set(ids[i] as string, JSON.parse(results[i] as string));
      return out;
    },

    async hashes(computation, date) {
      const reader = await session.query(
        `SELECT entity_id, result_hash FROM ${TABLE} WHERE computation = $1 AND date = CAST($2 AS DATE)
         ORDER BY entity_id`,
        [computation, date],
      );
      return reader.getRows().map(([id, hash]): [string, string] => [id as string, hash as string]);
    },

    async prune(computation, date, keepRunId) {
      const reader = await session.query(
        `DELETE FROM ${TABLE} WHERE computation = $1 AND date = CAST($2 AS DATE) AND run_id <> $3`,
        [computation, date, keepRunId],
      );
      return reader.rowsChanged;
    },

    async count(computation, date) {
      const reader = await session.query(
        `SELECT count(*) AS n FROM ${TABLE} WHERE computation = $1 AND date = CAST($2 AS DATE)`,
        [computation, date],
      );
      return Number(reader.getRows()[0][0]);
    },

    close: () => session.close(),
  };
}
