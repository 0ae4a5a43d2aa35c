import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { BigQuery, TableField, TableMetadata } from '@google-cloud/bigquery';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ProjectConfig } from './project-config';

/** A DuckDB column type BigQuery has no column type for (or that the loader does not map). */
export class UnmappableColumnError extends Error {
  readonly code = 'unmappable-column';
}

const SIMPLE_TYPES: Record<string, string> = {
  VARCHAR: 'STRING',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMP',
  DOUBLE: 'FLOAT64',
  BIGINT: 'INT64',
  INTEGER: 'INT64',
  BOOLEAN: 'BOOL',
};

/** The BigQuery column type of a DuckDB type (`DECIMAL(p,s)` is NUMERIC), or undefined. */
function bigQueryType(duckType: string): string | undefined {
  if (/^DECIMAL\(\d+,\d+\)$/.test(duckType)) return 'NUMERIC';
  return SIMPLE_TYPES[duckType];
}

interface SampleLoadOptions {
  /** the DuckDB file whose tables are loaded (opened read-only) */
  duckDbPath: string;
  bigquery: BigQuery;
  dataset: string;
  location?: string;
  /** the project's table settings: dateField partitions by DAY, entityField clusters */
  tables: ProjectConfig['tables'];
  /** called after each table is loaded */
  onTable?: (table: string, rows: number) => void;
}

interface DuckTable {
  name: string;
  columns: Array<{ name: string; type: string }>;
}

/**
 * Loads every table of a DuckDB file into a BigQuery dataset (ADR 0026, "Sample data in
 * BigQuery"): the dataset is created when absent, each table with its schema mapped from DuckDB's
 * types, partitioned by DAY on its configured dateField and clustered by its entityField; its
 * rows go in as one NDJSON load job that truncates the table, so a second load replaces them.
 */
export async function loadDuckDbIntoBigQuery(
  opts: SampleLoadOptions,
): Promise<{ tables: Record<string, number> }> {
  const instance = await DuckDBInstance.create(opts.duckDbPath, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  const dir = await mkdtemp(join(tmpdir(), 'almanac-bq-load-'));
  try {
    const described = await conn.runAndReadAll(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = 'main' ORDER BY table_name, ordinal_position`,
    );
    const tables = new Map<string, DuckTable>();
    for (const r of described.getRowObjectsJS()) {
      const name = String(r.table_name);
      const t = tables.get(name) ?? { name, columns: [] };
      t.columns.push({ name: String(r.column_name), type: String(r.data_type) });
      tables.set(name, t);
    }
    // every type is checked before anything is written
    const schemas = new Map<string, TableField[]>();
    for (const t of tables.values()) {
      schemas.set(
        t.name,
        t.columns.map((c) => {
          const type = bigQueryType(c.type);
          if (!type)
            throw new UnmappableColumnError(
              `table "${t.name}", column "${c.name}": DuckDB type ${c.type} has no BigQuery type in the sample loader (VARCHAR, DATE, TIMESTAMP, DOUBLE, BIGINT, INTEGER, DECIMAL, BOOLEAN)`,
            );
          return { name: c.name, type, mode: 'NULLABLE' };
        }),
      );
    }

    const dataset = withUploadHeaders(opts.bigquery).dataset(opts.dataset, {
      location: opts.location,
    });
    const [datasetExists] = await dataset.exists();
    if (!datasetExists) await dataset.create({ location: opts.location });

    const counts: Record<string, number> = {};
    for (const t of tables.values()) {
      const fields = schemas.get(t.name)!;
      const settings = opts.tables[t.name];
      const layout: Pick<TableMetadata, 'timePartitioning' | 'clustering'> = {
        ...(settings?.dateField && {
          timePartitioning: { type: 'DAY', field: settings.dateField },
        }),
        ...(settings && { clustering: { fields: [settings.entityField] } }),
      };
      const file = join(dir, `${t.name}.ndjson`);
      const rows = await writeNdjson(conn, t, file);
      const table = dataset.table(t.name, { location: opts.location });
      const [tableExists] = await table.exists();
      // a table with no rows has nothing to load: it is created afresh (empty) instead
      if (tableExists && rows === 0) await table.delete();
      if (!tableExists || rows === 0)
        await dataset.createTable(t.name, { schema: fields, ...layout });
      if (rows > 0)
        await table.load(file, {
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          writeDisposition: 'WRITE_TRUNCATE',
          createDisposition: 'CREATE_NEVER',
          schema: { fields },
          ...layout,
        });
      counts[t.name] = rows;
      opts.onTable?.(t.name, rows);
    }
    return { tables: counts };
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The table's rows as NDJSON, streamed chunk by chunk: doubles as the shortest text that reads
 * back the same, BIGINT and DECIMAL as exact decimal text (BigQuery's JSON load reads both).
 */
async function writeNdjson(
  conn: Awaited<ReturnType<DuckDBInstance['connect']>>,
  t: DuckTable,
  file: string,
): Promise<number> {
  const out = createWriteStream(file);
  let rows = 0;
  try {
    const result = await conn.stream(`SELECT * FROM "${t.name.replace(/"/g, '""')}"`);
    for await (const chunk of result.yieldRowObjectJson()) {
      let text = '';
      for (const row of chunk) text += `${JSON.stringify(row)}\n`;
      rows += chunk.length;
      if (!out.write(text)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'finish');
  }
  return rows;
}

/**
 * The BigQuery client's media uploads (load jobs) send no headers when it talks to a custom
 * endpoint (an emulator): it skips authentication, which is what adds them, and then fails
 * setting the multipart Content-Type on `undefined`. Giving every request a headers object
 * avoids that; against BigQuery itself the authenticated request has headers already.
 */
function withUploadHeaders(bigquery: BigQuery): BigQuery {
  const makeRequest = bigquery.makeAuthenticatedRequest;
  type Args = Parameters<typeof makeRequest>;
  bigquery.makeAuthenticatedRequest = ((reqOpts: Args[0], config?: Args[1]) =>
    makeRequest(
      { ...reqOpts, headers: { ...(reqOpts as { headers?: object }).headers } } as Args[0],
      config as Args[1],
    )) as typeof makeRequest;
  return bigquery;
}
