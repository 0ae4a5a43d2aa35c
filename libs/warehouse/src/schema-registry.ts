import { closestNames } from './closest-names';
import { UnknownColumnError, UnknownTableError } from './errors';
import type { ColumnInfo, SchemaRegistry, TableSchema } from './warehouse.port';

export type LoadTable = (table: string) => Promise<ColumnInfo[] | null>;
export type ListTables = () => Promise<string[]>;

export interface SchemaRegistryOptions {
  /** default 1 h */
  ttlMs?: number;
  /** injectable clock (ms) */
  now?: () => number;
}

export const DEFAULT_SCHEMA_TTL_MS = 60 * 60 * 1000;

interface Entry {
  loadedAt: number;
  schema: TableSchema;
}

/**
 * Schemas discovered from the warehouse, cached for `ttlMs`. Concurrent look-ups of a table that
 * is not cached share one load; an unknown table is not cached (it may be created later).
 */
export function createSchemaRegistry(
  loadTable: LoadTable,
  listTables: ListTables,
  opts: SchemaRegistryOptions = {},
): SchemaRegistry {
  const ttlMs = opts.ttlMs ?? DEFAULT_SCHEMA_TTL_MS;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Entry>();
  const inflight = new Map<string, Promise<TableSchema>>();

  async function load(table: string): Promise<TableSchema> {
    const columns = await loadTable(table);
    if (!columns) {
      throw new UnknownTableError(table, closestNames(table, await listTables()));
    }
    const schema: TableSchema = { table, columns };
    cache.set(table, { loadedAt: now(), schema });
    return schema;
  }

  function getTable(table: string): Promise<TableSchema> {
    const hit = cache.get(table);
    if (hit && now() - hit.loadedAt < ttlMs) return Promise.resolve(hit.schema);
    const pending = inflight.get(table);
    if (pending) return pending;
    const started = load(table).finally(() => inflight.delete(table));
    inflight.set(table, started);
    return started;
  }

  return {
    getTable,
    async assertColumns(table: string, columns: string[]): Promise<void> {
      const schema = await getTable(table);
      const names = schema.columns.map((c) => c.name);
      const known = new Set(names);
      for (const column of columns) {
        if (!known.has(column)) {
          throw new UnknownColumnError(table, column, closestNames(column, names), names);
        }
      }
    },
    invalidate(table?: string): void {
      if (table === undefined) cache.clear();
      else cache.delete(table);
    },
  };
}
