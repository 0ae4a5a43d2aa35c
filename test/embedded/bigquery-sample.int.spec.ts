import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { EmbeddedEngine } from '@almanac/embedded';
import { startBigQueryEmulator, type RunningHttpEmulator } from '@almanac/emulators';
import { loadProjectConfig } from '@almanac/platform';
import { BIGQUERY_PROJECT, writeSampleProject } from '../cluster/bigquery-project';
import { E2E_DATE, resultHashes } from '../cluster/e2e-run';
import { cli } from './cli-harness';

const SAMPLE = ['--users', '40', '--days', '3', '--end-date', E2E_DATE];

/** every file under a folder, recursively */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });

// `almanac sample-data --target bigquery` and the embedded profile reading the loaded dataset
describe('sample data in BigQuery (bqemulator)', () => {
  let emulator: RunningHttpEmulator | undefined;
  let bigquery: BigQuery;
  let dir: string;
  const endpointBefore = process.env.ALMANAC_BIGQUERY_ENDPOINT;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-bq-sample-'));
    emulator = await startBigQueryEmulator();
    process.env.ALMANAC_BIGQUERY_ENDPOINT = emulator.endpoint;
    bigquery = new BigQuery({ projectId: BIGQUERY_PROJECT, apiEndpoint: emulator.endpoint });
  }, 120_000);

  afterAll(async () => {
    if (endpointBefore === undefined) delete process.env.ALMANAC_BIGQUERY_ENDPOINT;
    else process.env.ALMANAC_BIGQUERY_ENDPOINT = endpointBefore;
    await emulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  jest.setTimeout(300_000);

  it('sample-data --help documents --target', async () => {
    const r = await cli(['sample-data', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[--target duckdb|bigquery]');
    expect(r.stdout).toMatch(/--target bigquery +also load every table/);
  });

  it('sample-data --target bigquery without warehouse.bigquery fails saying what to set', async () => {
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    writeSampleProject(plain, { kind: 'duckdb' });
    const r = await cli(['sample-data', ...SAMPLE, '--target', 'bigquery', '--project', plain]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target bigquery needs warehouse.bigquery');
    expect(existsSync(join(plain, 'warehouse.duckdb'))).toBe(false);
  });

  it('loads the sample into the dataset (twice: the same rows), and the embedded profile over it gives the DuckDB run’s result hashes', async () => {
    const project = join(dir, 'bq');
    mkdirSync(project);
    writeSampleProject(project, { kind: 'bigquery', dataset: 'sample' });
    const load = async () => {
      const r = await cli([
        'sample-data',
        ...SAMPLE,
        '--target',
        'bigquery',
        '--json',
        '--project',
        project,
      ]);
      expect(`${r.code} ${r.code ? r.stderr : ''}`).toBe('0 ');
      return JSON.parse(r.stdout) as {
        tables: Record<string, number>;
        bigquery: { project: string; dataset: string; tables: Record<string, number> };
      };
    };
    const first = await load();
    expect(first.bigquery).toEqual({
      project: BIGQUERY_PROJECT,
      dataset: 'sample',
      tables: first.tables,
    });
    expect(Object.keys(first.tables).sort()).toEqual(['logins', 'orders', 'prices', 'users']);
    const second = await load();
    expect(second.bigquery.tables).toEqual(first.tables);
    const [counts] = await bigquery.query(
      Object.keys(first.tables)
        .map((t) => `SELECT '${t}' AS t, COUNT(*) AS n FROM \`${BIGQUERY_PROJECT}.sample.${t}\``)
        .join(' UNION ALL '),
    );
    expect(
      Object.fromEntries((counts as Array<{ t: string; n: number }>).map((c) => [c.t, c.n])),
    ).toEqual(first.tables);

    // progress per table on stderr without --json
    const shown = await cli([
      'sample-data',
      ...SAMPLE,
      '--target',
      'bigquery',
      '--project',
      project,
    ]);
    expect(shown.code).toBe(0);
    for (const t of Object.keys(first.tables))
      expect(shown.stderr).toContain(`${BIGQUERY_PROJECT}.sample.${t}: ${first.tables[t]} rows`);

    // the same sample data read from the DuckDB file and from BigQuery
    const run = async (kind: 'duckdb' | 'bigquery') => {
      const config = loadProjectConfig(project);
      const engine = await EmbeddedEngine.open({
        root: project,
        config: {
          ...config,
          warehouse: { ...config.warehouse, kind },
          dataDir: join(project, `.almanac-${kind}`),
        },
      });
      try {
        return await engine.run({ date: E2E_DATE });
      } finally {
        await engine.close();
      }
    };
    const overDuckDb = await run('duckdb');
    const overBigQuery = await run('bigquery');
    expect(overDuckDb.status).toBe('completed');
    expect(overBigQuery.status).toBe('completed');
    const hashes = resultHashes(overBigQuery);
    expect(Object.values(hashes).every((h) => typeof h === 'string')).toBe(true);
    expect(hashes).toEqual(resultHashes(overDuckDb));
    // the BigQuery run staged per-entity inputs in the data folder, and deleted them once its
    // computations completed
    const staging = join(project, '.almanac-bigquery', 'staging');
    expect(existsSync(join(staging, 'stage'))).toBe(true);
    expect(filesUnder(staging)).toEqual([]);
    expect(readdirSync(join(project, '.almanac-duckdb'))).not.toContain('staging');
  });
});
