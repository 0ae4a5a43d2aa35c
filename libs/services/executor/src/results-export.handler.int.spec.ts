import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import { makeEvent, streams, type Envelope, type PayloadInput } from '@almanac/contracts';
import {
  startBigQueryEmulator,
  startStorageEmulator,
  type RunningHttpEmulator,
} from '@almanac/emulators';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { resultDigest } from '@almanac/kernel';
import { createInProcessBus } from '@almanac/messaging';
import { EventPublisher } from '@almanac/platform';
import { createGcsObjectStore } from '@almanac/storage';
import {
  createBigQueryResultsExporter,
  createDuckDbResultStore,
  type ResultStore,
} from '@almanac/warehouse';
import { exportCompletedResults, type ResultsExportDeps } from './results-export.handler';

const PROJECT = 'almanac-test';
let dir: string;
let bqEmulator: RunningHttpEmulator;
let gcsEmulator: RunningHttpEmulator;
let bigquery: BigQuery;
let results: ResultStore;
let store: EventStore;
let deps: ResultsExportDeps;
/** computation|date -> the version readers see (the executor's hash index, in production) */
const current = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'almanac-export-handler-'));
  const objectsDir = join(dir, 'objects');
  mkdirSync(objectsDir);
  [bqEmulator, gcsEmulator] = await Promise.all([
    startBigQueryEmulator({ objectsDir }),
    startStorageEmulator({ objectsDir }),
  ]);
  bigquery = new BigQuery({ projectId: PROJECT, apiEndpoint: bqEmulator.endpoint });
  const storage = new Storage({ projectId: PROJECT, apiEndpoint: gcsEmulator.endpoint });
  await storage.createBucket('almanac');
  await bigquery.createDataset('exports');
  results = await createDuckDbResultStore({ path: join(dir, 'results.duckdb') });
  store = createSqliteEventStore(':memory:');
  deps = {
    store,
    publisher: new EventPublisher(store, createInProcessBus()),
    results,
    exporter: createBigQueryResultsExporter({
      bigquery,
      store: createGcsObjectStore({ storage, bucket: 'almanac', prefix: 'almanac/' }),
      dataset: 'exports',
      table: 'results',
    }),
    clock: () => new Date('2026-01-15T03:00:00.000Z'),
    producer: 'executor',
    currentVersion: async (c, d) => current.get(`${c}|${d}`) ?? null,
  };
}, 120_000);

afterAll(async () => {
  await results?.close();
  await store?.close();
  await Promise.all([bqEmulator?.stop(), gcsEmulator?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const date = '2026-01-15';
function completed(
  runId: string,
  extra: Partial<PayloadInput<'ComputationCompleted'>> = {},
): Envelope<'ComputationCompleted'> {
  return makeEvent({
    type: 'ComputationCompleted',
    eventId: `ComputationCompleted:${runId}:A`,
    streamId: streams.computation(runId, 'A'),
    correlationId: runId,
    causationId: null,
    producer: 'executor',
    occurredAt: '2026-01-15T02:00:00.000Z',
    payload: {
      runId,
      date,
      computation: 'A',
      pass: 0,
      status: 'completed',
      reason: { code: 'first-run' },
      compositeHash: 'h',
      hashParts: null,
      resultHash: 'r',
      resultVersion: `${runId}/1`,
      entities: { total: 2, succeeded: 2, failed: 0, saved: 2 },
      failedEntities: [],
      scoped: false,
      dryRun: false,
      forced: false,
      durationMs: 5,
      ...extra,
    },
  }) as Envelope<'ComputationCompleted'>;
}

async function tableRows(): Promise<string[]> {
  const [rows] = await bigquery.query(
    `SELECT entity_id, result, version FROM \`${PROJECT}.exports.results\``,
  );
  return (rows as Array<Record<string, string>>)
    .map((r) => `${r.entity_id}|${r.result}|${r.version}`)
    .sort();
}

const exportEvents = async (runId: string) =>
  (await store.readStream(streams.run(runId))).map((e) =>
    e.type === 'ResultsExported'
      ? `exported ${e.payload.version} ${e.payload.rows} rows to ${e.payload.table}`
      : e.type === 'ResultsExportFailed'
        ? `failed ${e.payload.version} attempt ${e.payload.attempt} retryable ${e.payload.retryable}`
        : e.type,
  );

describe('export on ComputationCompleted (bqemulator + fake-gcs-server)', () => {
  it("exports the completed version from the result store and records it in the run's stream, once", async () => {
    const rows = [
      { entityId: 'u1', result: { n: 1 }, resultHash: resultDigest({ n: 1 }) },
      { entityId: 'u2', result: { n: 2 }, resultHash: resultDigest({ n: 2 }) },
    ];
    await results.write('A', date, 'r1/1', 'r1', rows);
    current.set(`A|${date}`, 'r1/1');
    await exportCompletedResults(deps, completed('r1'));
    // a redelivered ComputationCompleted: the MERGE changes nothing, the event is not appended again
    await exportCompletedResults(deps, completed('r1'));
    expect(await tableRows()).toEqual(['u1|{"n":1}|r1/1', 'u2|{"n":2}|r1/1']);
    expect(await exportEvents('r1')).toEqual([
      'exported r1/1 2 rows to almanac-test.exports.results',
    ]);
  }, 120_000);

  it('exports nothing for a skip, a failure or a dry run', async () => {
    await exportCompletedResults(
      deps,
      completed('r2', { status: 'skipped', resultVersion: 'r1/1' }),
    );
    await exportCompletedResults(deps, completed('r3', { status: 'failed', resultVersion: null }));
    await exportCompletedResults(deps, completed('r4', { dryRun: true }));
    for (const run of ['r2', 'r3', 'r4']) expect(await exportEvents(run)).toEqual([]);
  }, 120_000);

  it('a failed export is recorded with its attempt and rethrown (so the message is redelivered)', async () => {
    await results.write('A', date, 'r5/1', 'r5', [
      { entityId: 'u1', result: { n: 5 }, resultHash: resultDigest({ n: 5 }) },
    ]);
    current.set(`A|${date}`, 'r5/1');
    const broken: ResultsExportDeps = {
      ...deps,
      exporter: createBigQueryResultsExporter({
        bigquery,
        store: createGcsObjectStore({
          storage: new Storage({ projectId: PROJECT, apiEndpoint: gcsEmulator.endpoint }),
          bucket: 'almanac',
        }),
        dataset: 'no_such_dataset',
        table: 'results',
      }),
    };
    await expect(exportCompletedResults(broken, completed('r5'))).rejects.toThrow(
      /dataset almanac-test\.no_such_dataset does not exist/,
    );
    await expect(exportCompletedResults(broken, completed('r5'))).rejects.toThrow();
    expect(await exportEvents('r5')).toEqual([
      'failed r5/1 attempt 1 retryable false',
      'failed r5/1 attempt 2 retryable false',
    ]);
    // the redelivery that finds the table: exported, and the table holds the new version
    await exportCompletedResults(deps, completed('r5'));
    expect(await exportEvents('r5')).toHaveLength(3);
    expect(await tableRows()).toEqual(['u1|{"n":5}|r5/1']);
  }, 120_000);

  it('does not export a version that a later completion replaced (a late redelivery)', async () => {
    // r5/1 is current (previous test); r1's ComputationCompleted arrives again
    await exportCompletedResults(deps, completed('r1'));
    expect(await tableRows()).toEqual(['u1|{"n":5}|r5/1']);
    expect(await exportEvents('r1')).toHaveLength(1);
  }, 120_000);
});
