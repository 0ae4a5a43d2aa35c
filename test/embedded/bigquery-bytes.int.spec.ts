import { BigQuery } from '@google-cloud/bigquery';
import { startBigQueryEmulator, type RunningHttpEmulator } from '@almanac/emulators';
import type { DateWindow, Warehouse } from '@almanac/warehouse';
import { serveEmbedded } from '@almanac/embedded';
import type { ProjectConfigInput } from '@almanac/platform';
import { cli } from './cli-harness';
import { computation, D, Fixture, statuses } from './fixture';

/**
 * Bytes per run on BigQuery (ADR 0026, "Bytes are money"): about one scan of the window. The emulator bills nothing (its jobs
 * say 0 bytes), so each read the engine makes through the warehouse port is priced by BigQuery's
 * on-demand rule: the columns of every partition of the window, whatever the entity filter
 * (clustering aside). The window's size is computed on the emulator with BigQuery's data sizes.
 */
const DATASET = 'bytes';
const USERS = 30;
const WINDOW_DAYS = 7;

const ORDER_TOTALS = computation({
  className: 'OrderTotals',
  config: {
    name: 'OrderTotals',
    type: 'per-entity',
    requires: { orders: { lookback: WINDOW_DAYS - 1 } },
  },
  body: `    const rows = ctx.data.orders;
    return { count: rows.length, total: rows.reduce((s, r) => s + Number(r.amount), 0) };`,
});

type Read = { kind: 'data' | 'fingerprint'; table: string; window: DateWindow | null };

/** records each read of the port with its table and window, and reads the real warehouse */
function ledger(reads: Read[]) {
  return (w: Warehouse): Warehouse => ({
    ...w,
    fetchWindow: (table, settings, window) => {
      reads.push({ kind: 'data', table, window: settings.dateField ? window : null });
      return w.fetchWindow(table, settings, window);
    },
    fetchForEntities: (table, settings, window, ids) => {
      reads.push({ kind: 'data', table, window: settings.dateField ? window : null });
      return w.fetchForEntities(table, settings, window, ids);
    },
    fingerprint: (table, settings, window) => {
      reads.push({ kind: 'fingerprint', table, window: settings.dateField ? window : null });
      return w.fingerprint(table, settings, window);
    },
    // one scan gives the fingerprint and the rows (its result pages cost nothing)
    readWindow:
      w.readWindow &&
      ((table, settings, window) => {
        reads.push({ kind: 'data', table, window: settings.dateField ? window : null });
        return w.readWindow!(table, settings, window);
      }),
    fingerprintWindows: undefined,
  });
}

describe('bytes billed per run on BigQuery (emulator)', () => {
  let emulator: RunningHttpEmulator;
  let bigquery: BigQuery;
  const fixtures: Fixture[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    emulator = await startBigQueryEmulator();
    process.env.ALMANAC_BIGQUERY_ENDPOINT = emulator.endpoint;
    process.env.GOOGLE_CLOUD_PROJECT = 'almanac-test';
    bigquery = new BigQuery({ projectId: 'almanac-test', apiEndpoint: emulator.endpoint });
    const [dataset] = await bigquery.createDataset(DATASET);
    const [users] = await dataset.createTable('users', {
      schema: [
        { name: 'user_id', type: 'STRING' },
        { name: 'signup_date', type: 'DATE' },
      ],
    });
    const ids = Array.from({ length: USERS }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    await users.insert(ids.map((user_id) => ({ user_id, signup_date: '2026-01-01' })));
    const [orders] = await dataset.createTable('orders', {
      schema: [
        { name: 'order_id', type: 'INT64' },
        { name: 'user_id', type: 'STRING' },
        { name: 'order_date', type: 'DATE' },
        { name: 'amount', type: 'FLOAT64' },
      ],
      timePartitioning: { type: 'DAY', field: 'order_date' },
      clustering: { fields: ['user_id'] },
    });
    // 14 days of orders: the run's 7-day window holds half of them
    const rows = Array.from({ length: 14 * USERS }, (_, i) => ({
      order_id: i,
      user_id: ids[i % USERS],
      order_date: `2026-01-${String(Math.floor(i / USERS) + 1).padStart(2, '0')}`,
      amount: (i % 17) + 0.5,
    }));
    await orders.insert(rows);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.cleanup()));
    process.env = saved;
    await emulator?.stop();
  });

  /** BigQuery's on-demand bytes of reading `table` over `window` (all of it when null) */
  async function windowBytes(table: string, window: DateWindow | null): Promise<number> {
    const sizes: Record<string, string> = {
      orders: `IF(order_id IS NULL, 0, 8) + IF(user_id IS NULL, 0, 2 + BYTE_LENGTH(user_id)) + IF(order_date IS NULL, 0, 8) + IF(amount IS NULL, 0, 8)`,
      users: `IF(user_id IS NULL, 0, 2 + BYTE_LENGTH(user_id)) + IF(signup_date IS NULL, 0, 8)`,
    };
    const where = window
      ? ` WHERE order_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)`
      : '';
    const [rows] = await bigquery.query({
      query: `SELECT COALESCE(SUM(${sizes[table]}), 0) AS bytes FROM \`almanac-test.${DATASET}.${table}\`${where}`,
      params: window ? { from: window.from, to: window.to } : {},
    });
    return Number(rows[0].bytes);
  }

  const config = (bigquery: { runBudgetBytes?: number } = {}): ProjectConfigInput => ({
    warehouse: {
      path: 'warehouse.duckdb',
      kind: 'bigquery',
      bigquery: { dataset: DATASET, pricePerTiB: 6.25, ...bigquery },
    },
    tables: {
      users: { entityField: 'user_id' },
      orders: { entityField: 'user_id', dateField: 'order_date' },
    },
    entities: { table: 'users', idField: 'user_id', dateField: 'signup_date' },
    // 30 users in batches of 3: 10 batches
    execution: { batchSize: 3, workerConcurrency: 2, breaker: { retries: 0 } },
  });

  async function runOnce(staging: 'staged' | 'unstaged') {
    const f = await Fixture.create({
      files: { 'order-totals.ts': ORDER_TOTALS },
      config: config(),
    });
    fixtures.push(f);
    const reads: Read[] = [];
    const view = await f.run(
      { date: D },
      { wrapWarehouse: ledger(reads), ...(staging === 'unstaged' && { staging: null }) },
    );
    const bytesOf = async (kind: Read['kind']) => {
      let sum = 0;
      for (const r of reads.filter((x) => x.table === 'orders' && x.kind === kind))
        sum += await windowBytes(r.table, r.window);
      return sum;
    };
    return {
      view,
      dataReads: reads.filter((r) => r.table === 'orders' && r.kind === 'data').length,
      dataBytes: await bytesOf('data'),
      fingerprintBytes: await bytesOf('fingerprint'),
    };
  }

  it('given a 10-batch computation, when it runs staged, then the run bills one scan of the window (fingerprint included), not eleven', async () => {
    const window = await windowBytes('orders', { from: '2026-01-04', to: D });
    expect(window).toBeGreaterThan(0);
    const staged = await runOnce('staged');
    const unstaged = await runOnce('unstaged');
    expect(statuses(staged.view)).toEqual({ OrderTotals: 'completed' });
    expect(staged.view.computations.OrderTotals.resultHash).toBe(
      unstaged.view.computations.OrderTotals.resultHash,
    );
    console.log(
      `bytes per run, orders window ${window} B: staged ${staged.dataBytes} B in ${staged.dataReads} read(s) ` +
        `+ fingerprint ${staged.fingerprintBytes} B; unstaged ${unstaged.dataBytes} B in ${unstaged.dataReads} reads ` +
        `+ fingerprint ${unstaged.fingerprintBytes} B`,
    );
    // one scan of the window per run: the read that gives the fingerprint gives the staged rows
    expect(staged.dataReads).toBe(1);
    expect(staged.dataBytes).toBe(window);
    expect(staged.fingerprintBytes).toBe(0);
    // what staging saves: without it each of the 10 batches is billed the whole window, and the
    // fingerprint's digest once more
    expect(unstaged.dataReads).toBe(10);
    expect(unstaged.dataBytes).toBe(10 * window);
    expect(unstaged.fingerprintBytes).toBe(window);
  });

  it('given a run budget, when the dry runs estimate more, then analyze shows it and run refuses until --confirm-cost', async () => {
    const MIB = 1024 ** 2;
    const input = config({ runBudgetBytes: 5 * MIB });
    const f = await Fixture.create({ files: { 'order-totals.ts': ORDER_TOTALS }, config: input });
    fixtures.push(f);
    f.writeConfigFile(input);
    f.loadNewCode();

    const analyzed = await cli(['analyze', '--date', D, '--project', f.dir, '--json']);
    expect(analyzed.code).toBe(0);
    // the emulator's dry runs say 0 bytes processed; BigQuery bills 10 MiB at least per table read
    expect(JSON.parse(analyzed.stdout)).toEqual([
      expect.objectContaining({
        computation: 'OrderTotals',
        prediction: 'run',
        scan: {
          bytesProcessed: 0,
          bytesBilled: 10 * MIB,
          cost: 0,
          tables: [{ table: 'orders', bytesProcessed: 0 }],
        },
      }),
    ]);
    // the api answers the same (POST /analyze of `almanac serve`)
    const api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: {} });
    try {
      const res = await fetch(`${api.url}/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ date: D }),
      });
      const body = (await res.json()) as { computations: unknown[] };
      expect(body.computations).toEqual(JSON.parse(analyzed.stdout));
    } finally {
      await api.close();
    }
    const table = await cli(['analyze', '--date', D, '--project', f.dir]);
    expect(table.stdout).toMatch(/OrderTotals\s+0\s+run\s+0 B\s+10\.0 MiB\s+\$0\.00/);
    expect(table.stdout).toContain('a run would bill 10.0 MiB, about $0.00');

    const refused = await cli(['run', '--date', D, '--project', f.dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `the run of ${D} would bill 10.0 MiB (about $0.00), above warehouse.bigquery.runBudgetBytes 5.0 MiB`,
    );
    expect(refused.stderr).toContain('--confirm-cost');
    const confirmed = await cli([
      'run',
      '--date',
      D,
      '--project',
      f.dir,
      '--confirm-cost',
      '--json',
    ]);
    expect(confirmed.code).toBe(0);
    expect(JSON.parse(confirmed.stdout).computations.OrderTotals.status).toBe('completed');
  });
});
