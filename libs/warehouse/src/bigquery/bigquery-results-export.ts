import type { BigQuery, TableField } from '@google-cloud/bigquery';
import { canonicalJson, sha256 } from '@almanac/kernel';
import type { ObjectStore } from '@almanac/storage';
import { assertIsoDate } from '../duckdb-warehouse';
import type { ResultRow } from '../warehouse.port';

/** the result version of one (computation, date) that a run completed */
export interface ResultVersionRef {
  computation: string;
  date: string;
  version: string;
  runId: string;
}

export interface ResultsExportSummary {
  /** rows of the version, now the rows of its (computation, date) in the table */
  rows: number;
  /** project.dataset.table */
  table: string;
}

export interface BigQueryResultsExporter {
  /**
   * Makes the (computation, date) rows of the results table equal `rows` (the version's):
   * NDJSON staged in the object store, loaded into a staging table, one MERGE, staging removed.
   * Idempotent: exporting a version again changes nothing. Rejects with ResultsExportError.
   */
  exportResultVersion(ref: ResultVersionRef, rows: ResultRow[]): Promise<ResultsExportSummary>;
}

export interface BigQueryResultsExporterOptions {
  bigquery: BigQuery;
  /** where the NDJSON is staged; BigQuery loads it from store.uri(name) (gs://) */
  store: ObjectStore;
  dataset: string;
  table: string;
}

type ResultsExportStage = 'creating the results table' | 'staging' | 'loading' | 'merging';

/** An export that did not happen: the table is as it was. `retryable` unless the request was refused. */
export class ResultsExportError extends Error {
  readonly code = 'results-export-failed';
  readonly retryable: boolean;
  constructor(
    readonly ref: ResultVersionRef,
    readonly table: string,
    readonly stage: ResultsExportStage,
    detail: string,
    override readonly cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `export of ${ref.computation} ${ref.date} version ${ref.version} to ${table} failed while ${stage}${detail ? ` ${detail}` : ''}: ${why}`,
    );
    this.name = 'ResultsExportError';
    const status = (cause as { code?: unknown }).code;
    // 400 (bad request), 403 (denied) and 404 (no dataset, no bucket) do not heal by retrying
    this.retryable = !(typeof status === 'number' && [400, 403, 404].includes(status));
  }
}

const SCHEMA: TableField[] = [
  { name: 'computation', type: 'STRING', mode: 'REQUIRED' },
  { name: 'date', type: 'DATE', mode: 'REQUIRED' },
  { name: 'entity_id', type: 'STRING', mode: 'REQUIRED' },
  // canonical JSON, so equal results are equal strings (ADR 0026)
  { name: 'result', type: 'STRING' },
  { name: 'result_hash', type: 'STRING', mode: 'REQUIRED' },
  { name: 'version', type: 'STRING', mode: 'REQUIRED' },
  { name: 'run_id', type: 'STRING', mode: 'REQUIRED' },
];

export function createBigQueryResultsExporter(
  opts: BigQueryResultsExporterOptions,
): BigQueryResultsExporter {
  const { bigquery, store } = opts;
  const dataset = bigquery.dataset(opts.dataset);
  const projectId = bigquery.projectId;
  const tableName = `${projectId}.${opts.dataset}.${opts.table}`;
  let tableReady: Promise<void> | undefined;

  async function ensureTable(): Promise<void> {
    try {
      await dataset.createTable(opts.table, {
        schema: { fields: SCHEMA },
        timePartitioning: { type: 'DAY', field: 'date' },
        clustering: { fields: ['computation', 'entity_id'] },
      });
    } catch (e) {
      if ((e as { code?: unknown }).code === 409) return; // it exists
      // bqemulator answers 500 where BigQuery answers 404; either way, say which is missing
      const [exists] = await dataset.exists().catch(() => [true]);
      if (!exists)
        throw Object.assign(new Error(`dataset ${projectId}.${opts.dataset} does not exist`), {
          code: 404,
          cause: e,
        });
      throw e;
    }
  }

  return {
    async exportResultVersion(ref, rows) {
      assertIsoDate(ref.date, 'date');
      const fail = (stage: ResultsExportStage, detail: string) => (cause: unknown) => {
        throw new ResultsExportError(ref, tableName, stage, detail, cause);
      };
      tableReady ??= ensureTable().catch((e) => {
        tableReady = undefined;
        throw e;
      });
      await tableReady.catch(fail('creating the results table', ''));

      const objectName = `exports/${ref.computation}/${ref.date}/${ref.version}.ndjson`;
      const stagingId = `_staging_${sha256(canonicalJson([ref.computation, ref.date, ref.version])).slice(0, 24)}`;
      const staging = dataset.table(stagingId);
      try {
        const ndjson = rows
          .map((r) =>
            JSON.stringify({
              computation: ref.computation,
              date: ref.date,
              entity_id: r.entityId,
              result: canonicalJson(r.result),
              result_hash: r.resultHash,
              version: ref.version,
              run_id: ref.runId,
            }),
          )
          .join('\n');
        await store
          .put(objectName, ndjson, { contentType: 'application/x-ndjson' })
          .catch(fail('staging', store.uri(objectName)));
        await dataset
          .createTable(stagingId, { schema: { fields: SCHEMA } })
          .catch((e: unknown) => {
            if ((e as { code?: unknown }).code !== 409) throw e; // left by a crashed attempt
          })
          .catch(fail('loading', `into ${stagingId}`));
        if (rows.length > 0) {
          await bigquery
            .createJob({
              configuration: {
                load: {
                  sourceUris: [store.uri(objectName)],
                  sourceFormat: 'NEWLINE_DELIMITED_JSON',
                  destinationTable: { projectId, datasetId: opts.dataset, tableId: stagingId },
                  schema: { fields: SCHEMA },
                  writeDisposition: 'WRITE_TRUNCATE',
                },
              },
            })
            .then(([job]) => job.promise())
            .catch(fail('loading', `${store.uri(objectName)} into ${stagingId}`));
        }
        await bigquery
          .query({ query: mergeSql(tableName, `${projectId}.${opts.dataset}.${stagingId}`, ref) })
          .catch(fail('merging', `from ${stagingId}`));
        return { rows: rows.length, table: tableName };
      } finally {
        // also after a failure; what a crashed process leaves is reused and removed by the retry
        await Promise.allSettled([
          staging.delete({ ignoreNotFound: true }),
          store.delete(objectName),
        ]);
      }
    },
  };
}

/**
 * One statement, so the table never shows half a version: rows of the version that are new or
 * changed are written, rows of its (computation, date) that the version does not have are deleted,
 * and nothing else is touched. Equal rows are left alone (a re-export writes nothing).
 */
function mergeSql(table: string, staging: string, ref: ResultVersionRef): string {
  // the date is checked (assertIsoDate) and the computation is quoted as a string literal:
  // bqemulator ignores query parameters in a MERGE's NOT MATCHED BY SOURCE condition (ADR 0026)
  const computation = `'${ref.computation.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `MERGE \`${table}\` T
USING \`${staging}\` S
ON T.computation = S.computation AND T.date = S.date AND T.entity_id = S.entity_id
WHEN MATCHED AND (T.result_hash != S.result_hash OR T.version != S.version) THEN
  UPDATE SET result = S.result, result_hash = S.result_hash, version = S.version, run_id = S.run_id
WHEN NOT MATCHED BY TARGET THEN
  INSERT (computation, date, entity_id, result, result_hash, version, run_id)
  VALUES (S.computation, S.date, S.entity_id, S.result, S.result_hash, S.version, S.run_id)
WHEN NOT MATCHED BY SOURCE AND T.computation = ${computation} AND T.date = DATE '${ref.date}' THEN
  DELETE`;
}
