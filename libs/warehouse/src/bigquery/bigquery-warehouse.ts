import type { BigQuery, Query } from '@google-cloud/bigquery';
import { assertIsoDate } from '../duckdb-warehouse';
import { entitiesAsOfDates } from '../entities-as-of';
import { WarehouseQueryError } from '../errors';
import { createSchemaRegistry, DEFAULT_SCHEMA_TTL_MS } from '../schema-registry';
import type {
  ColumnInfo,
  DateWindow,
  InputFingerprint,
  Row,
  SchemaRegistry,
  TableSettings,
  Warehouse,
} from '../warehouse.port';

export interface BigQueryWarehouseOptions {
  bigquery: BigQuery;
  projectId: string;
  dataset: string;
  /** the dataset's location, given to every job (default: the client's) */
  location?: string;
  /** schema cache TTL, default 1 h */
  schemaTtlMs?: number;
  now?: () => number;
  /** observes every query (kind 'schema' for catalog look-ups, 'data' otherwise) */
  onQuery?: (event: {
    /** 'dry-run': a cost estimate, which BigQuery validates and prices without running it */
    kind: 'schema' | 'data' | 'dry-run';
    sql: string;
    params: Record<string, unknown>;
  }) => void;
}

type Params = Record<string, string | string[]>;

const TEXT_TYPE = /^STRING/i;
const TIMESTAMP_TYPE = /^TIMESTAMP/i;
/** BigQuery cannot ORDER BY these: they are left out of the "every other column" order */
const UNORDERABLE = /^(ARRAY|STRUCT|RECORD|JSON|GEOGRAPHY)/i;

const ROWS_COLUMN = '__almanac_window_rows';
const DIGEST_COLUMN = '__almanac_window_digest';
/** fingerprint()'s count and digest over the whole window, on every row (window aggregates) */
const WINDOW_DIGEST = `COUNT(*) OVER () AS ${ROWS_COLUMN}, COALESCE(SUM(CAST(FARM_FINGERPRINT(TO_JSON_STRING(t)) AS BIGNUMERIC)) OVER (), 0) AS ${DIGEST_COLUMN}`;

const bq = (name: string): string => `\`${name.replace(/[`\\]/g, '\\$&')}\``;

/** The value the client hands back, as a plain JSON value (as the DuckDB adapter renders it). */
function toJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  if (ctor === 'BigQueryInt') {
    const text = (value as { value: string }).value;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  // DATE, DATETIME, TIME, TIMESTAMP (ISO already): their text
  if (ctor?.startsWith('BigQuery')) return (value as { value: unknown }).value;
  // NUMERIC / BIGNUMERIC (big.js), as DuckDB renders a DECIMAL: a double
  if (ctor === 'Big') return Number((value as { toFixed(): string }).toFixed());
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
  return out;
}

/** A NUMERIC / BIGNUMERIC / INT64 aggregate as an exact bigint. */
function toBigInt(value: unknown): bigint {
  if (value === null || value === undefined) return 0n;
  if (typeof value === 'object') {
    const v = value as { toFixed?: () => string; value?: unknown };
    if (typeof v.toFixed === 'function') return BigInt(v.toFixed());
    return BigInt(String(v.value));
  }
  return BigInt(String(value));
}

/**
 * Source tables in a BigQuery dataset. Schemas come from the dataset's INFORMATION_SCHEMA.COLUMNS
 * (one look-up for every table); every value is a query parameter; every identifier is checked
 * against the schema before it is backquoted into SQL.
 */
export function createBigQueryWarehouse(opts: BigQueryWarehouseOptions): Warehouse {
  const { bigquery, projectId, dataset } = opts;
  const onQuery = opts.onQuery ?? (() => undefined);
  const ttlMs = opts.schemaTtlMs ?? DEFAULT_SCHEMA_TTL_MS;
  const now = opts.now ?? Date.now;
  const name = `${projectId}.${dataset}`;
  let closed = false;

  /** Every query of this adapter goes through here (the one place for a job log or a dry run). */
  async function query(
    kind: 'schema' | 'data',
    sql: string,
    params: Params = {},
    types?: Query['types'],
  ): Promise<Array<Record<string, unknown>>> {
    if (closed)
      throw new WarehouseQueryError(sql, new Error(`the BigQuery warehouse ${name} is closed`));
    onQuery({ kind, sql, params });
    try {
      const [rows] = await bigquery.query({
        query: sql,
        params,
        types,
        location: opts.location,
        wrapIntegers: true,
      });
      return rows as Array<Record<string, unknown>>;
    } catch (err) {
      throw new WarehouseQueryError(sql, err);
    }
  }

  /**
   * Runs `sql` as a job and reads its first row; the rest of its result is read on demand from
   * the job (result pages are not billed again).
   */
  async function queryJob(sql: string, params: Params) {
    if (closed)
      throw new WarehouseQueryError(sql, new Error(`the BigQuery warehouse ${name} is closed`));
    onQuery({ kind: 'data', sql, params });
    try {
      const [job] = await bigquery.createQueryJob({ query: sql, params, location: opts.location });
      const [first] = await job.getQueryResults({ maxResults: 1, wrapIntegers: true });
      const all = async () => {
        const [rows] = await job.getQueryResults({ wrapIntegers: true, autoPaginate: true });
        return rows as Array<Record<string, unknown>>;
      };
      return { first: (first as Array<Record<string, unknown>>)[0], all };
    } catch (err) {
      throw new WarehouseQueryError(sql, err);
    }
  }

  /** the bytes `sql` would process (a dry run: validated and priced by BigQuery, not run, free) */
  async function dryRun(sql: string, params: Params): Promise<number> {
    if (closed)
      throw new WarehouseQueryError(sql, new Error(`the BigQuery warehouse ${name} is closed`));
    onQuery({ kind: 'dry-run', sql, params });
    try {
      const [job] = await bigquery.createQueryJob({
        query: sql,
        params,
        location: opts.location,
        dryRun: true,
      });
      return Number(job.metadata?.statistics?.totalBytesProcessed ?? 0);
    } catch (err) {
      throw new WarehouseQueryError(sql, err);
    }
  }

  // One catalog query serves every table of the dataset; the registry caches each table's schema
  // and coalesces concurrent look-ups of it. A table missing from a catalog read earlier is looked
  // up again (it may have been created since).
  let catalog: { at: number; tables: Promise<Map<string, ColumnInfo[]>> } | undefined;
  const readCatalog = async (): Promise<Map<string, ColumnInfo[]>> => {
    const rows = await query(
      'schema',
      `SELECT table_name, column_name, data_type FROM ${bq(`${projectId}.${dataset}.INFORMATION_SCHEMA.COLUMNS`)}
       ORDER BY table_name, ordinal_position`,
    );
    const tables = new Map<string, ColumnInfo[]>();
    for (const r of rows) {
      const table = String(r.table_name);
      const columns = tables.get(table) ?? [];
      columns.push({ name: String(r.column_name), type: String(r.data_type) });
      tables.set(table, columns);
    }
    return tables;
  };
  const currentCatalog = (refresh: boolean) => {
    if (!catalog || refresh || now() - catalog.at >= ttlMs) {
      const tables = readCatalog();
      const entry = { at: now(), tables };
      catalog = entry;
      tables.catch(() => {
        if (catalog === entry) catalog = undefined;
      });
    }
    return catalog.tables;
  };
  const registry = createSchemaRegistry(
    async (table) => {
      const fresh = !catalog;
      const found = (await currentCatalog(false)).get(table);
      if (found || fresh) return found ?? null;
      return (await currentCatalog(true)).get(table) ?? null;
    },
    async () => [...(await currentCatalog(false)).keys()].sort(),
    { ttlMs, now },
  );
  const schemas: SchemaRegistry = {
    getTable: (t) => registry.getTable(t),
    assertColumns: (t, c) => registry.assertColumns(t, c),
    invalidate(table?: string) {
      catalog = undefined;
      registry.invalidate(table);
    },
  };

  const tableRef = (table: string) => bq(`${projectId}.${dataset}.${table}`);
  const columnsOf = async (table: string, named: string[]) => {
    await schemas.assertColumns(table, named);
    const schema = await schemas.getTable(table);
    return new Map(schema.columns.map((c) => [c.name, c]));
  };

  /** the column as a DATE (a text date: its first 10 characters, compared as text) */
  const dateExpr = (c: ColumnInfo) =>
    TIMESTAMP_TYPE.test(c.type)
      ? `DATE(${bq(c.name)})`
      : TEXT_TYPE.test(c.type)
        ? `LEFT(${bq(c.name)}, 10)`
        : bq(c.name);
  const dateParam = (c: ColumnInfo, param: string) =>
    TEXT_TYPE.test(c.type) ? `@${param}` : `CAST(@${param} AS DATE)`;
  /** inclusive calendar-day window; on a TIMESTAMP a range on the column itself (it prunes partitions) */
  const dateBetween = (c: ColumnInfo) =>
    TIMESTAMP_TYPE.test(c.type)
      ? `${bq(c.name)} >= TIMESTAMP(CAST(@from AS DATE)) AND ${bq(c.name)} < TIMESTAMP(DATE_ADD(CAST(@to AS DATE), INTERVAL 1 DAY))`
      : `${dateExpr(c)} BETWEEN ${dateParam(c, 'from')} AND ${dateParam(c, 'to')}`;
  const asText = (c: ColumnInfo) =>
    TEXT_TYPE.test(c.type) ? bq(c.name) : `CAST(${bq(c.name)} AS STRING)`;

  const checkWindow = (w: DateWindow) => {
    assertIsoDate(w.from, 'window.from');
    assertIsoDate(w.to, 'window.to');
  };

  // Rows by date, then entity, then every other column (NULLS LAST, as DuckDB orders).
  const rowsQuery = async (
    table: string,
    settings: TableSettings,
    window: DateWindow,
    entityIds?: string[],
    /** each row also carries the window's row count and digest (fingerprint()'s), for readWindow */
    withDigest = false,
  ): Promise<{ sql: string; params: Params } | null> => {
    checkWindow(window);
    const named = [
      ...(entityIds ? [settings.entityField] : []),
      ...(settings.dateField ? [settings.dateField] : []),
    ];
    const cols = await columnsOf(table, named);
    const where: string[] = [];
    const params: Params = {};
    if (settings.dateField) {
      where.push(dateBetween(cols.get(settings.dateField)!));
      params.from = window.from;
      params.to = window.to;
    }
    if (entityIds) {
      if (entityIds.length === 0) return null;
      where.push(`${asText(cols.get(settings.entityField)!)} IN UNNEST(@ids)`);
      params.ids = entityIds;
    }
    const first = [settings.dateField, settings.entityField].filter(
      (c, i, all): c is string => !!c && cols.has(c) && all.indexOf(c) === i,
    );
    const order = [
      ...first,
      ...[...cols.values()]
        .filter((c) => !first.includes(c.name) && !UNORDERABLE.test(c.type))
        .map((c) => c.name),
    ];
    let sql = withDigest
      ? `SELECT t.*, ${WINDOW_DIGEST} FROM ${tableRef(table)} AS t`
      : `SELECT * FROM ${tableRef(table)}`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    sql += ` ORDER BY ${order.map((c) => `${bq(c)} ASC NULLS LAST`).join(', ')}`;
    return { sql, params };
  };

  const toRows = (rows: Array<Record<string, unknown>>): Row[] =>
    rows.map((r) => {
      const out: Row = {};
      for (const [k, v] of Object.entries(r)) out[k] = toJson(v);
      return out;
    });

  const listEntities = async (
    table: string,
    idField: string,
    asOf: string,
    dateField?: string,
  ): Promise<string[]> => {
    assertIsoDate(asOf, 'asOf');
    const cols = await columnsOf(table, dateField ? [idField, dateField] : [idField]);
    let sql = `SELECT DISTINCT ${asText(cols.get(idField)!)} AS id FROM ${tableRef(table)}`;
    const params: Params = {};
    if (dateField) {
      const d = cols.get(dateField)!;
      sql += ` WHERE ${dateExpr(d)} <= ${dateParam(d, 'asOf')}`;
      params.asOf = asOf;
    }
    const rows = await query('data', `${sql} ORDER BY 1`, params);
    return rows.filter((r) => r.id !== null).map((r) => String(r.id));
  };

  // Order-independent digest: the sum of each row's FARM_FINGERPRINT(TO_JSON_STRING(row)) as a
  // BIGNUMERIC (no INT64 overflow); per day, so that a window's digest is the sum of its days'.
  const DIGEST = `COUNT(*) AS row_count, COALESCE(SUM(CAST(FARM_FINGERPRINT(TO_JSON_STRING(t)) AS BIGNUMERIC)), 0) AS digest`;
  const toFingerprint = (count: bigint, digest: bigint): InputFingerprint => ({
    rowCount: Number(count),
    digest: `${count}:${digest}`,
  });

  const fingerprint = async (
    table: string,
    settings: TableSettings,
    window: DateWindow,
  ): Promise<InputFingerprint> => {
    checkWindow(window);
    const cols = await columnsOf(table, settings.dateField ? [settings.dateField] : []);
    let sql = `SELECT ${DIGEST} FROM ${tableRef(table)} AS t`;
    const params: Params = {};
    if (settings.dateField) {
      sql += ` WHERE ${dateBetween(cols.get(settings.dateField)!)}`;
      params.from = window.from;
      params.to = window.to;
    }
    const [row] = await query('data', sql, params);
    return toFingerprint(toBigInt(row.row_count), toBigInt(row.digest));
  };

  return {
    schemas,

    async fetchForEntities(table, settings, window, entityIds) {
      const byEntity = new Map<string, Row[]>(entityIds.map((id) => [id, []]));
      // built (and so validated) even for an empty batch: a typo must not pass silently
      const q = await rowsQuery(table, settings, window, entityIds);
      if (!q) return byEntity;
      const rows = toRows(await query('data', q.sql, q.params, { ids: ['STRING'] }));
      for (const row of rows) {
        const id = String(row[settings.entityField]);
        const list = byEntity.get(id);
        if (list) list.push(row);
        else byEntity.set(id, [row]);
      }
      return byEntity;
    },

    async fetchWindow(table, settings, window) {
      const q = (await rowsQuery(table, settings, window))!;
      return toRows(await query('data', q.sql, q.params));
    },

    // fetchWindow's query with fingerprint()'s digest as window aggregates: one scan for both
    async readWindow(table, settings, window) {
      const q = (await rowsQuery(table, settings, window, undefined, true))!;
      const job = await queryJob(q.sql, q.params);
      const fingerprint = job.first
        ? toFingerprint(toBigInt(job.first[ROWS_COLUMN]), toBigInt(job.first[DIGEST_COLUMN]))
        : toFingerprint(0n, 0n);
      return {
        fingerprint,
        async rows() {
          const rows = await job.all().catch((err: unknown) => {
            throw new WarehouseQueryError(q.sql, err);
          });
          for (const r of rows) {
            delete r[ROWS_COLUMN];
            delete r[DIGEST_COLUMN];
          }
          return toRows(rows);
        },
      };
    },

    // the query fetchWindow runs, which is the read staged once per attempt (ADR 0026)
    async estimateScanBytes(table, settings, window) {
      // the staged read groups the rows by entity: its field must exist too
      await schemas.assertColumns(table, [settings.entityField]);
      const q = (await rowsQuery(table, settings, window))!;
      return dryRun(q.sql, q.params);
    },

    listEntities,

    // One read: each id with its earliest date; an id is listed as of every date from that one on.
    async listEntitiesByDate(table, idField, dates, dateField) {
      dates.forEach((d) => assertIsoDate(d, 'date'));
      if (dates.length === 0) return [];
      if (!dateField) {
        const all = await listEntities(table, idField, dates[0]);
        return dates.map(() => [...all]);
      }
      const cols = await columnsOf(table, [idField, dateField]);
      const d = cols.get(dateField)!;
      const last = dates.reduce((m, x) => (x > m ? x : m), dates[0]);
      const rows = await query(
        'data',
        `SELECT ${asText(cols.get(idField)!)} AS id, CAST(MIN(${dateExpr(d)}) AS STRING) AS first
         FROM ${tableRef(table)} WHERE ${dateExpr(d)} <= ${dateParam(d, 'last')} GROUP BY 1`,
        { last },
      );
      return entitiesAsOfDates(rows as Array<{ id: unknown; first: unknown }>, dates);
    },

    fingerprint,

    // One read for every window: each day's count and digest sum, then each window's sums.
    async fingerprintWindows(table, settings, windows) {
      windows.forEach(checkWindow);
      if (windows.length === 0) return [];
      if (!settings.dateField) {
        const one = await fingerprint(table, settings, windows[0]);
        return windows.map(() => one);
      }
      const cols = await columnsOf(table, [settings.dateField]);
      const d = cols.get(settings.dateField)!;
      const from = windows.reduce((m, w) => (w.from < m ? w.from : m), windows[0].from);
      const to = windows.reduce((m, w) => (w.to > m ? w.to : m), windows[0].to);
      const rows = await query(
        'data',
        `SELECT CAST(${dateExpr(d)} AS STRING) AS day, ${DIGEST} FROM ${tableRef(table)} AS t
         WHERE ${dateBetween(d)} GROUP BY 1`,
        { from, to },
      );
      const days = rows.map((r) => ({
        day: String(r.day),
        count: toBigInt(r.row_count),
        digest: toBigInt(r.digest),
      }));
      return windows.map((w) => {
        let count = 0n;
        let digest = 0n;
        for (const x of days)
          if (x.day >= w.from && x.day <= w.to) {
            count += x.count;
            digest += x.digest;
          }
        return { rowCount: Number(count), digest: `${count}:${digest}` };
      });
    },

    async ping() {
      await query('data', 'SELECT 1');
    },

    async close() {
      closed = true;
    },
  };
}
