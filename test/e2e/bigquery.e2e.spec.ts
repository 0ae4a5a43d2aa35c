import { rmSync } from 'node:fs';
import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
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

// The five services as separate OS processes reading the sample from the BigQuery emulator and
// staging per-entity inputs in the Cloud Storage emulator.
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
    });
    cluster = await startCluster({
      warehousePath: sample.warehouse,
      env: { ALMANAC_PROJECT_ROOT: sample.dir },
      dataPlane: {
        bucket: BUCKET,
        async beforeServices({ bigquery }) {
          const { tables } = await loadDuckDbIntoBigQuery({
            duckDbPath: sample.warehouse,
            bigquery: new BigQuery({ projectId: BIGQUERY_PROJECT, apiEndpoint: bigquery.endpoint }),
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
  });
});
