import { DuckDBInstance, LIST, VARCHAR } from '@duckdb/node-api';
import type {
  DuckDBConnection,
  DuckDBPreparedStatement,
  DuckDBResultReader,
  DuckDBType,
} from '@duckdb/node-api';
import { listValue } from '@duckdb/node-api';
import { databaseLockedError, WarehouseQueryError } from './errors';
import type { QueryParam } from './query-builder';

const MAX_CACHED_STATEMENTS = 128;

/**
 * One DuckDB connection used by one caller at a time. Measured: concurrent queries on one
 * connection each with its own statement work, but a shared prepared statement bound by two
 * callers returns the wrong rows; DuckDB already parallelises inside one query, so a queue on one
 * connection is as fast as a pool on a 2-core machine and lets prepared statements be reused.
 */
export class DuckDbSession {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly statements = new Map<string, DuckDBPreparedStatement>();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /** Throws DatabaseLockedError when another process has the file open (see there). */
  static async open(path: string, options: Record<string, string> = {}): Promise<DuckDbSession> {
    const instance = await DuckDBInstance.create(path, options).catch((err: unknown) => {
      throw databaseLockedError(err, path) ?? err;
    });
    return new DuckDbSession(instance, await instance.connect());
  }

  /** run `fn` with the connection to itself (callers queue in order) */
  exclusive<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closed) throw new WarehouseQueryError('', new Error('the DuckDB session is closed'));
      return fn(this.connection);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** a prepared (and cached) query with bound params, fully read */
  query(sql: string, params: QueryParam[] = []): Promise<DuckDBResultReader> {
    return this.exclusive(async () => {
      try {
        const statement = await this.prepared(sql);
        statement.clearBindings();
        const types: Array<DuckDBType | undefined> = params.map((p) =>
          Array.isArray(p) ? LIST(VARCHAR) : undefined,
        );
        statement.bind(
          params.map((p) => (Array.isArray(p) ? listValue(p) : p)),
          types as DuckDBType[],
        );
        return await statement.runAndReadAll();
      } catch (err) {
        throw new WarehouseQueryError(sql, err);
      }
    });
  }

  private async prepared(sql: string): Promise<DuckDBPreparedStatement> {
    const hit = this.statements.get(sql);
    if (hit) {
      // refresh recency for the LRU eviction below
      this.statements.delete(sql);
      this.statements.set(sql, hit);
      return hit;
    }
    const statement = await this.connection.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > MAX_CACHED_STATEMENTS) {
      const [oldestSql, oldest] = this.statements.entries().next().value as [
        string,
        DuckDBPreparedStatement,
      ];
      this.statements.delete(oldestSql);
      oldest.destroySync();
    }
    return statement;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => {
      this.closed = true;
      for (const s of this.statements.values()) s.destroySync();
      this.statements.clear();
      this.connection.closeSync();
      this.instance.closeSync();
    });
  }
}
