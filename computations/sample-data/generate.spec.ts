import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  generateSampleData,
  SAMPLE_SYMBOLS,
  SampleDataError,
  sampleTableSettings,
} from './generate';

const TABLES = ['users', 'orders', 'prices', 'logins'] as const;

async function query(file: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<
      Record<string, unknown>
    >;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Row count and an order-independent digest of every row, per table. */
async function digests(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const [r] = await query(file, `SELECT count(*) AS n, sum(hash(t)::HUGEINT) AS h FROM ${t} t`);
    out[t] = `${r.n}:${r.h}`;
  }
  return out;
}

describe('generateSampleData', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-sample-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const opts = (file: string, seed?: number) => ({
    path: path.join(dir, file),
    users: 200,
    days: 5,
    endDate: '2026-01-15',
    seed,
  });

  it('is deterministic: the same options give identical tables, another seed does not', async () => {
    const progress: string[] = [];
    const a = await generateSampleData({
      ...opts('a.duckdb'),
      onProgress: (d, t) => progress.push(`${d}/${t}`),
    });
    const b = await generateSampleData(opts('b.duckdb'));
    await generateSampleData(opts('c.duckdb', 7));
    expect(b.tables).toEqual(a.tables);
    const da = await digests(path.join(dir, 'a.duckdb'));
    expect(await digests(path.join(dir, 'b.duckdb'))).toEqual(da);
    const dc = await digests(path.join(dir, 'c.duckdb'));
    for (const t of ['users', 'orders', 'prices', 'logins']) expect(dc[t]).not.toBe(da[t]);
    expect(progress).toEqual(['1/7', '2/7', '3/7', '4/7', '5/7', '6/7', '7/7']);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.duckdb', 'b.duckdb', 'c.duckdb']);
  });

  it('has the documented shape at a small scale', async () => {
    const file = path.join(dir, 's.duckdb');
    const { tables } = await generateSampleData(opts('s.duckdb'));
    expect(tables.users).toBe(200);
    expect(tables.prices).toBe(SAMPLE_SYMBOLS.length * 5);
    // about 185 eligible users a day (15 % sign up inside the window): 30 % log in (1-2 times), 10 % order (1-3 times)
    expect(tables.logins).toBeGreaterThanOrEqual(250);
    expect(tables.logins).toBeLessThanOrEqual(450);
    expect(tables.orders).toBeGreaterThanOrEqual(110);
    expect(tables.orders).toBeLessThanOrEqual(270);

    const counts = await query(
      file,
      `SELECT (SELECT count(*)::INTEGER FROM users) AS users, (SELECT count(*)::INTEGER FROM orders) AS orders,
              (SELECT count(*)::INTEGER FROM prices) AS prices, (SELECT count(*)::INTEGER FROM logins) AS logins`,
    );
    expect(counts[0]).toEqual(tables);

    const [checks] = await query(
      file,
      `SELECT
        (SELECT count(*)::INTEGER FROM users WHERE signup_date > DATE '2026-01-15') AS late_signups,
        (SELECT count(*)::INTEGER FROM users WHERE signup_date >= DATE '2026-01-11') AS window_signups,
        (SELECT count(DISTINCT user_id)::INTEGER FROM users) AS distinct_users,
        (SELECT count(*)::INTEGER FROM (SELECT symbol FROM prices GROUP BY symbol HAVING count(DISTINCT price_date)::INTEGER = 5)) AS full_series,
        (SELECT count(*)::INTEGER FROM orders o JOIN users u USING (user_id) WHERE o.order_date < u.signup_date) AS orders_before_signup,
        (SELECT count(*)::INTEGER FROM logins l JOIN users u USING (user_id) WHERE l.login_date < u.signup_date) AS logins_before_signup,
        (SELECT count(*)::INTEGER FROM orders WHERE order_date NOT BETWEEN DATE '2026-01-11' AND DATE '2026-01-15') AS orders_outside,
        (SELECT count(*)::INTEGER FROM logins WHERE CAST(login_at AS DATE) <> login_date) AS login_day_mismatch,
        (SELECT count(*)::INTEGER FROM orders WHERE side NOT IN ('buy', 'sell') OR quantity < 1 OR price <= 0) AS bad_orders,
        (SELECT count(DISTINCT order_id)::INTEGER FROM orders) AS distinct_orders`,
    );
    expect(checks).toMatchObject({
      late_signups: 0,
      distinct_users: 200,
      full_series: 20,
      orders_before_signup: 0,
      logins_before_signup: 0,
      orders_outside: 0,
      login_day_mismatch: 0,
      bad_orders: 0,
      distinct_orders: tables.orders,
    });
    expect(checks.window_signups as number).toBeGreaterThan(10);
    expect(checks.window_signups as number).toBeLessThan(60);
  });

  it('replaces an existing file and exposes the table settings', async () => {
    const file = path.join(dir, 'x.duckdb');
    fs.writeFileSync(file, 'not a database');
    await generateSampleData(opts('x.duckdb'));
    expect((await query(file, 'SELECT count(*)::INTEGER AS n FROM users'))[0].n).toBe(200);
    expect(sampleTableSettings.orders).toEqual({ entityField: 'user_id', dateField: 'order_date' });
    expect(Object.keys(sampleTableSettings).sort()).toEqual([
      'logins',
      'orders',
      'prices',
      'users',
    ]);
  });

  it('leaves nothing behind when it fails half-way', async () => {
    const file = path.join(dir, 'crash.duckdb');
    fs.writeFileSync(file, 'old');
    const run = generateSampleData({
      ...opts('crash.duckdb'),
      onProgress: (done) => {
        if (done === 3) throw new Error('disk full');
      },
    });
    await expect(run).rejects.toThrow('disk full');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('generates 100k users x 14 days (its time is printed, not asserted: speed is for benchmarks)', () => {
    // timed in a plain node process: jest's module sandbox makes this loop several times slower
    const script = `
      const { generateSampleData } = require(${JSON.stringify(path.join(__dirname, 'generate.ts'))});
      const started = process.hrtime.bigint();
      generateSampleData({ path: ${JSON.stringify(path.join(dir, 'big.duckdb'))}, users: 100000, days: 14, endDate: '2026-01-15' })
        .then((r) => process.stdout.write(JSON.stringify({ ...r, seconds: Number(process.hrtime.bigint() - started) / 1e9 })));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }),
    );
    expect(out.tables.users).toBe(100_000);
    expect(out.tables.prices).toBe(280);
    expect(out.tables.orders).toBeGreaterThan(200_000);
    process.stderr.write(`sample data, 100k users x 14 days: ${out.seconds.toFixed(1)} s\n`);
  });

  it('rejects bad options before touching the disk', async () => {
    const file = path.join(dir, 'bad.duckdb');
    const err = await generateSampleData({ ...opts('bad.duckdb'), endDate: '2026-02-30' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SampleDataError);
    expect((err as SampleDataError).code).toBe('invalid-option');
    expect((err as Error).message).toBe(
      'sample data: option "endDate": expected a calendar date as YYYY-MM-DD, got "2026-02-30"',
    );
    await expect(generateSampleData({ ...opts('bad.duckdb'), users: 0 })).rejects.toThrow(
      'option "users": expected an integer >= 1, got 0',
    );
    expect(fs.existsSync(file)).toBe(false);
  });
});
