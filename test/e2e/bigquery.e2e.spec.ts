import { rmSync } from 'node:fs';
import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import { combineResultHashes } from '@almanac/kernel';
import { loadDuckDbIntoBigQuery, loadProjectConfig } from '@almanac/platform';
import { BIGQUERY_PROJECT, writeSampleProject } from '../cluster/bigquery-project';
import { REPO_ROOT, startCluster, type Cluster } from '../cluster/cluster';
import {
  E2E_DATE,
  requestRun,
  resultHashes,
  sampleWithBaseline,
  waitForRun,
} from '../cluster/e2e-run';

const BUCKET = 'almanac-e2e';
const DATASET = 'sample';
const EXPORTS = 'exports';

// The five services as separate OS processes reading the sample from the BigQuery emulator,
// staging per-entity inputs in the Cloud Storage emulator, and exporting results to BigQuery.
describe('distributed Almanac over BigQuery and Cloud Storage (e2e)', () => {
  let sample: Awaited<ReturnType<typeof sampleWithBaseline>>;
  let cluster: Cluster | undefined;
  const loaded: Record<string, number> = {};

  beforeAll(async () => {
    sample = await sampleWithBaseline('almanac-bq-e2e-', 60);
    writeSampleProject(sample.dir, {
      kind: 'bigquery',
      dataset: DATASET,
      storage: { bucket: BUCKET },
      exportDataset: EXPORTS,
    });
    cluster = await startCluster({
      warehousePath: sample.warehouse,
      env: { ALMANAC_PROJECT_ROOT: sample.dir },
      dataPlane: {
        bucket: BUCKET,
        async beforeServices({ bigquery }) {
          const client = new BigQuery({
            projectId: BIGQUERY_PROJECT,
            apiEndpoint: bigquery.endpoint,
          });
          await client.createDataset(EXPORTS);
          const { tables } = await loadDuckDbIntoBigQuery({
            duckDbPath: sample.warehouse,
            bigquery: client,
            dataset: DATASET,
            tables: loadProjectConfig(REPO_ROOT).tables,
          });
          Object.assign(loaded, tables);
        },
      },
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    if (sample) rmSync(sample.dir, { recursive: true, force: true });
  }, 60_000);

  it('runs a date with the result hashes of the embedded DuckDB profile, staging inputs in the bucket', async () => {
    const { apiUrl, emulators } = cluster!;
    expect(Object.keys(loaded).sort()).toEqual(['logins', 'orders', 'prices', 'users']);

    const runId = await requestRun(apiUrl, { date: E2E_DATE });
    const run = await waitForRun(apiUrl, runId, 240_000);
    expect(run.status).toBe('completed');
    const statuses = Object.values(run.computations).map((c) => [c.name, c.status]);
    expect(statuses.length).toBe(Object.keys(sample.baseline).length);
    expect(statuses.filter(([, s]) => s !== 'completed')).toEqual([]);
    expect(resultHashes(run)).toEqual(sample.baseline);

    // the executor staged per-entity inputs in the bucket for the workers
    const storage = new Storage({
      projectId: BIGQUERY_PROJECT,
      apiEndpoint: emulators.storage!.endpoint,
    });
    const [files] = await storage.bucket(BUCKET).getFiles();
    const staged = files.map((f) => f.name).filter((n) => n.includes('stage/'));
    expect(staged.some((n) => n.endsWith('manifest.json'))).toBe(true);
    expect(staged.some((n) => /batch-\d+\.json$/.test(n))).toBe(true);

    // every completed result version is exported: the table's rows of each computation give its
    // result hash, and the run's status says so
    const exported = await waitForExports(apiUrl, runId, Object.keys(sample.baseline), 180_000);
    const bigquery = new BigQuery({
      projectId: BIGQUERY_PROJECT,
      apiEndpoint: emulators.bigquery!.endpoint,
    });
    for (const [name, hash] of Object.entries(sample.baseline)) {
      const [rows] = await bigquery.query({
        query: `SELECT entity_id, result_hash FROM \`${BIGQUERY_PROJECT}.${EXPORTS}.almanac_results\`
                WHERE computation = @c AND date = CAST(@d AS DATE)`,
        params: { c: name, d: E2E_DATE },
      });
      const pairs = (rows as Array<{ entity_id: string; result_hash: string }>).map(
        (r): [string, string] => [r.entity_id, r.result_hash],
      );
      expect([name, combineResultHashes(pairs)]).toEqual([name, hash]);
      expect(exported[name]).toMatchObject({ status: 'exported', rows: pairs.length });
    }
    // the audit of a result names the version exported (the api folds the log as it goes)
    const name = Object.keys(sample.baseline)[0];
    const audit = await waitForAudit(apiUrl, name);
    expect(audit.exported).toMatchObject({ runId, rows: exported[name].rows });
    // the staged inputs were deleted when their computations completed
    const [after] = await storage.bucket(BUCKET).getFiles({ prefix: 'stage/' });
    expect(after.map((f) => f.name)).toEqual([]);
  });
});

/** Polls GET /runs/:id until each of `names` has an export recorded (exported or failed for good) */
async function waitForExports(
  apiUrl: string,
  runId: string,
  names: string[],
  timeoutMs: number,
): Promise<Record<string, { status: string; rows?: number }>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, { status: string; rows?: number }> = {};
  while (Date.now() < deadline) {
    const res = await fetch(`${apiUrl}/runs/${runId}`);
    const run = (await res.json()) as {
      computations: Record<
        string,
        { name: string; export: { status: string; rows?: number } | null }
      >;
    };
    last = Object.fromEntries(
      Object.values(run.computations)
        .filter((c) => c.export)
        .map((c) => [c.name, c.export!]),
    );
    if (names.every((n) => last[n]?.status === 'exported')) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`exports of ${runId} not all recorded: ${JSON.stringify(last)}`);
}

/** GET /audit/:name/:date until it names an export */
async function waitForAudit(apiUrl: string, name: string): Promise<{ exported: unknown }> {
  for (let i = 0; i < 120; i++) {
    const res = await fetch(`${apiUrl}/audit/${name}/${E2E_DATE}`);
    const body = (await res.json()) as { exported: unknown };
    if (res.status === 200 && body.exported) return body;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the audit of ${name} ${E2E_DATE} names no export`);
}
