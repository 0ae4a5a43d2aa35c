import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import {
  startBigQueryEmulator,
  startStorageEmulator,
  type RunningHttpEmulator,
} from '@almanac/emulators';
import { createGcsObjectStore, type ObjectStore } from '@almanac/storage';
import { resultDigest } from '@almanac/kernel';
import type { ResultRow } from '../warehouse.port';
import {
  createBigQueryResultsExporter,
  ResultsExportError,
  type BigQueryResultsExporter,
} from './bigquery-results-export';

const PROJECT = 'almanac-test';
const DATASET = 'exports';
const TABLE = 'almanac_results';

let objectsDir: string;
let bqEmulator: RunningHttpEmulator;
let gcsEmulator: RunningHttpEmulator;
let bigquery: BigQuery;
let storage: Storage;
let store: ObjectStore;
let exporter: BigQueryResultsExporter;

beforeAll(async () => {
  // the two emulators share a folder: bqemulator loads gs://bucket/name from where fake-gcs-server keeps it
  objectsDir = mkdtempSync(join(tmpdir(), 'almanac-export-'));
  [bqEmulator, gcsEmulator] = await Promise.all([
    startBigQueryEmulator({ objectsDir }),
    startStorageEmulator({ objectsDir }),
  ]);
  bigquery = new BigQuery({ projectId: PROJECT, apiEndpoint: bqEmulator.endpoint });
  storage = new Storage({ projectId: PROJECT, apiEndpoint: gcsEmulator.endpoint });
  await storage.createBucket('almanac-exports');
  await bigquery.createDataset(DATASET);
  store = createGcsObjectStore({ storage, bucket: 'almanac-exports', prefix: 'almanac/' });
  exporter = createBigQueryResultsExporter({ bigquery, store, dataset: DATASET, table: TABLE });
}, 120_000);

afterAll(async () => {
  await Promise.all([bqEmulator?.stop(), gcsEmulator?.stop()]);
  if (objectsDir) rmSync(objectsDir, { recursive: true, force: true });
});

const row = (entityId: string, result: unknown): ResultRow => ({
  entityId,
  result,
  resultHash: resultDigest(result),
});

/** every row of the results table, as a sorted list of lines (the checksum of the table) */
async function tableLines(): Promise<string[]> {
  const [rows] = await bigquery.query(
    `SELECT computation, CAST(date AS STRING) AS date, entity_id, result, result_hash, version, run_id
       FROM \`${PROJECT}.${DATASET}.${TABLE}\``,
  );
  return (rows as Array<Record<string, string>>)
    .map((r) =>
      [r.computation, r.date, r.entity_id, r.result, r.result_hash, r.version, r.run_id].join('|'),
    )
    .sort();
}

async function datasetTables(): Promise<string[]> {
  const [tables] = await bigquery.dataset(DATASET).getTables();
  return tables.map((t) => t.id ?? '').sort();
}

const v1 = [row('u1', { n: 1 }), row('u2', { n: 2, tags: ['a'] }), row('u3', { n: 3 })];
const other = [row('u1', { n: 100 })];

describe('results export to BigQuery (bqemulator + fake-gcs-server)', () => {
  it('exports a version: the table holds its rows, with the result as canonical JSON', async () => {
    const summary = await exporter.exportResultVersion(
      { computation: 'UserStats', date: '2024-03-01', version: 'v1', runId: 'run-1' },
      v1,
    );
    expect(summary).toEqual({ rows: 3, table: `${PROJECT}.${DATASET}.${TABLE}` });
    // another date and another computation, which later exports must leave alone
    await exporter.exportResultVersion(
      { computation: 'UserStats', date: '2024-03-02', version: 'v9', runId: 'run-9' },
      other,
    );
    await exporter.exportResultVersion(
      { computation: 'Other', date: '2024-03-01', version: 'w1', runId: 'run-w' },
      other,
    );
    expect(await tableLines()).toEqual(
      [
        `Other|2024-03-01|u1|{"n":100}|${other[0].resultHash}|w1|run-w`,
        `UserStats|2024-03-01|u1|{"n":1}|${v1[0].resultHash}|v1|run-1`,
        `UserStats|2024-03-01|u2|{"n":2,"tags":["a"]}|${v1[1].resultHash}|v1|run-1`,
        `UserStats|2024-03-01|u3|{"n":3}|${v1[2].resultHash}|v1|run-1`,
        `UserStats|2024-03-02|u1|{"n":100}|${other[0].resultHash}|v9|run-9`,
      ].sort(),
    );
    const [meta] = await bigquery.dataset(DATASET).table(TABLE).getMetadata();
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'date' });
    expect(meta.clustering).toEqual({ fields: ['computation', 'entity_id'] });
  }, 120_000);

  it('re-exporting a version changes nothing, and leaves no staging table or object', async () => {
    const before = await tableLines();
    await exporter.exportResultVersion(
      { computation: 'UserStats', date: '2024-03-01', version: 'v1', runId: 'run-1-retry' },
      v1,
    );
    expect(await tableLines()).toEqual(before);
    expect(await datasetTables()).toEqual([TABLE]);
    expect(await store.list('exports/')).toEqual([]);
  }, 120_000);

  it('a new version replaces its (computation, date) only: changed, removed and added entities', async () => {
    const v2 = [row('u1', { n: 1 }), row('u2', { n: 20 }), row('u4', { n: 4 })];
    await exporter.exportResultVersion(
      { computation: 'UserStats', date: '2024-03-01', version: 'v2', runId: 'run-2' },
      v2,
    );
    expect(await tableLines()).toEqual(
      [
        `Other|2024-03-01|u1|{"n":100}|${other[0].resultHash}|w1|run-w`,
        `UserStats|2024-03-01|u1|{"n":1}|${v2[0].resultHash}|v2|run-2`,
        `UserStats|2024-03-01|u2|{"n":20}|${v2[1].resultHash}|v2|run-2`,
        `UserStats|2024-03-01|u4|{"n":4}|${v2[2].resultHash}|v2|run-2`,
        `UserStats|2024-03-02|u1|{"n":100}|${other[0].resultHash}|v9|run-9`,
      ].sort(),
    );
    expect(await datasetTables()).toEqual([TABLE]);
  }, 120_000);

  it('a version with no rows empties its (computation, date)', async () => {
    await exporter.exportResultVersion(
      { computation: 'UserStats', date: '2024-03-02', version: 'v10', runId: 'run-10' },
      [],
    );
    expect((await tableLines()).filter((l) => l.startsWith('UserStats|2024-03-02|'))).toEqual([]);
  }, 120_000);

  it('a failed export leaves the table as it was and says what failed', async () => {
    const before = await tableLines();
    const target = { computation: 'UserStats', date: '2024-03-01', version: 'v3', runId: 'run-3' };
    const v3 = [row('u9', { n: 9 })];

    const noBucket = createBigQueryResultsExporter({
      bigquery,
      store: createGcsObjectStore({ storage, bucket: 'no-such-bucket' }),
      dataset: DATASET,
      table: TABLE,
    });
    const staging = noBucket.exportResultVersion(target, v3);
    await expect(staging).rejects.toThrow(ResultsExportError);
    await expect(staging).rejects.toMatchObject({ stage: 'staging', retryable: false });
    await expect(staging).rejects.toThrow(
      /export of UserStats 2024-03-01 version v3 to almanac-test\.exports\.almanac_results failed while staging gs:\/\/no-such-bucket\/exports\/UserStats\/2024-03-01\/v3\.ndjson/,
    );

    const noDataset = createBigQueryResultsExporter({
      bigquery,
      store,
      dataset: 'missing_dataset',
      table: TABLE,
    });
    const creating = noDataset.exportResultVersion(target, v3);
    await expect(creating).rejects.toMatchObject({ retryable: false });
    await expect(creating).rejects.toThrow(
      /export of UserStats 2024-03-01 version v3 to almanac-test\.missing_dataset\.almanac_results failed while creating the results table: dataset almanac-test\.missing_dataset does not exist$/,
    );

    // the object is staged where BigQuery cannot read it (another Cloud Storage): the load fails,
    // and the staging table and the object are removed
    const elsewhere = await startStorageEmulator();
    try {
      const otherStorage = new Storage({ projectId: PROJECT, apiEndpoint: elsewhere.endpoint });
      await otherStorage.createBucket('almanac-exports');
      const unreadable = createGcsObjectStore({ storage: otherStorage, bucket: 'almanac-exports' });
      const loading = createBigQueryResultsExporter({
        bigquery,
        store: unreadable,
        dataset: DATASET,
        table: TABLE,
      }).exportResultVersion(target, v3);
      await expect(loading).rejects.toMatchObject({ stage: 'loading', retryable: true });
      await expect(loading).rejects.toThrow(
        /failed while loading gs:\/\/almanac-exports\/exports\/UserStats\/2024-03-01\/v3\.ndjson into _staging_[0-9a-f]{24}: /,
      );
      expect(await unreadable.list('exports/')).toEqual([]);
    } finally {
      await elsewhere.stop();
    }
    expect(await datasetTables()).toEqual([TABLE]);

    expect(await tableLines()).toEqual(before);
    expect(await store.list('exports/')).toEqual([]);
  }, 120_000);
});
