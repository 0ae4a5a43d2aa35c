// Deterministic sample warehouse for the example brokerage domain (users, orders, prices, logins).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DuckDBDataChunkWriter,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';

/** Default date the sample data ends on (and the date examples run for). */
export const SAMPLE_DATE = '2026-01-15';
export const SAMPLE_DAYS = 14;
export const SAMPLE_USERS = 1000;
export const SAMPLE_SEED = 42;

export const SAMPLE_SYMBOLS = [
  'AAPL',
  'AMZN',
  'BABA',
  'COST',
  'CRM',
  'DIS',
  'GOOG',
  'INTC',
  'JPM',
  'KO',
  'META',
  'MSFT',
  'NFLX',
  'NKE',
  'NVDA',
  'ORCL',
  'PEP',
  'TSLA',
  'V',
  'XOM',
] as const;

/** Table settings for the project config (almanac.config.ts). */
export const sampleTableSettings = {
  users: { entityField: 'user_id', dateField: 'signup_date' },
  orders: { entityField: 'user_id', dateField: 'order_date' },
  prices: { entityField: 'symbol', dateField: 'price_date' },
  logins: { entityField: 'user_id', dateField: 'login_date' },
} as const satisfies Record<string, { entityField: string; dateField?: string }>;

export interface GenerateSampleDataOptions {
  /** DuckDB file to (re)create */
  path: string;
  users: number;
  /** days of activity ending on endDate (inclusive) */
  days: number;
  endDate: string;
  seed?: number;
  /** called after each step (users, prices, then each day) */
  onProgress?: (done: number, total: number) => void;
}

export interface SampleDataSummary {
  /** row counts per table */
  tables: Record<string, number>;
}

export class SampleDataError extends Error {
  readonly code = 'invalid-option';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`sample data: option "${option}": ${message}`);
    this.name = 'SampleDataError';
  }
}

const DAY_MS = 86_400_000;
const DAY_US = 86_400_000_000n;
/** Share of users who signed up inside the window; the rest signed up in the year before. */
const SIGNUP_IN_WINDOW = 0.15;
const LOGIN_RATE = 0.3;
const ORDER_RATE = 0.1;
const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'NL', 'ES', 'IT', 'CA'];
const TIERS = ['basic', 'basic', 'basic', 'basic', 'basic', 'basic', 'plus', 'plus', 'plus', 'pro'];
const DEVICES = ['ios', 'ios', 'android', 'android', 'web'];

const TABLES_DDL = [
  'CREATE TABLE users (user_id VARCHAR, signup_date DATE, country VARCHAR, tier VARCHAR)',
  'CREATE TABLE orders (order_id VARCHAR, user_id VARCHAR, order_date DATE, symbol VARCHAR, side VARCHAR, quantity INTEGER, price DOUBLE)',
  'CREATE TABLE prices (symbol VARCHAR, price_date DATE, close DOUBLE, volume BIGINT)',
  'CREATE TABLE logins (user_id VARCHAR, login_date DATE, login_at TIMESTAMP, device VARCHAR)',
];

/** mulberry32: tiny, fast, good enough for sample data, and identical on every platform. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One independent stream per table, so changing one table's logic leaves the others identical. */
function stream(seed: number, salt: number): () => number {
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt, 0xc2b2ae35));
}

function dayNumber(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new SampleDataError(
      'endDate',
      `expected a calendar date as YYYY-MM-DD, got ${JSON.stringify(date)}`,
    );
  }
  return ms / DAY_MS;
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function validate(opts: GenerateSampleDataOptions): void {
  if (typeof opts.path !== 'string' || opts.path.length === 0)
    throw new SampleDataError('path', 'expected a file path');
  if (!Number.isInteger(opts.users) || opts.users < 1)
    throw new SampleDataError('users', `expected an integer >= 1, got ${opts.users}`);
  if (!Number.isInteger(opts.days) || opts.days < 1)
    throw new SampleDataError('days', `expected an integer >= 1, got ${opts.days}`);
  if (opts.seed !== undefined && !Number.isInteger(opts.seed))
    throw new SampleDataError('seed', `expected an integer, got ${opts.seed}`);
}

/** Appends whole data chunks: far fewer native calls than one append per value. */
async function tableWriter(connection: DuckDBConnection, table: string) {
  const appender = await connection.createAppender(table);
  const writer = DuckDBDataChunkWriter.forAppender(appender);
  return {
    row: (values: DuckDBValue[]) => writer.appendRow(values),
    close: () => {
      writer.flush();
      appender.closeSync();
    },
  };
}

function removeDbFiles(file: string): void {
  for (const f of [file, `${file}.wal`]) fs.rmSync(f, { force: true });
}

/**
 * Writes a fresh DuckDB file with the four source tables. The same options give identical
 * table contents. Written under a temporary name and renamed at the end, so a crash leaves
 * no half-written file at `path`.
 */
export async function generateSampleData(
  opts: GenerateSampleDataOptions,
): Promise<SampleDataSummary> {
  validate(opts);
  const endDay = dayNumber(opts.endDate);
  const startDay = endDay - opts.days + 1;
  const seed = opts.seed ?? SAMPLE_SEED;
  const target = path.resolve(opts.path);
  const tmp = `${target}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  removeDbFiles(target);
  removeDbFiles(tmp);

  const total = opts.days + 2;
  let done = 0;
  const progress = () => opts.onProgress?.(++done, total);
  const counts = { users: 0, prices: 0, logins: 0, orders: 0 };

  const instance = await DuckDBInstance.create(tmp);
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    for (const ddl of TABLES_DDL) await connection.run(ddl);

    // users: signup day per user; index order = user id order
    const idWidth = Math.max(6, String(opts.users).length);
    const userIds = new Array<string>(opts.users);
    const signup = new Int32Array(opts.users);
    {
      const rng = stream(seed, 1);
      const app = await tableWriter(connection, 'users');
      for (let i = 0; i < opts.users; i++) {
        const id = `u${String(i + 1).padStart(idWidth, '0')}`;
        const day =
          rng() < SIGNUP_IN_WINDOW
            ? startDay + Math.floor(rng() * opts.days)
            : startDay - 1 - Math.floor(rng() * 365);
        userIds[i] = id;
        signup[i] = day;
        app.row([id, new DuckDBDateValue(day), pick(rng, COUNTRIES), pick(rng, TIERS)]);
      }
      app.close();
      counts.users = opts.users;
      progress();
    }

    // prices: a geometric random walk per symbol, one close per day of the window
    const closes: number[][] = [];
    {
      const rng = stream(seed, 2);
      const app = await tableWriter(connection, 'prices');
      for (const symbol of SAMPLE_SYMBOLS) {
        let close = round2(20 + rng() * 480);
        const series: number[] = [];
        for (let d = 0; d < opts.days; d++) {
          if (d > 0) {
            // Box-Muller normal with a 2 % daily volatility
            const z = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
            close = Math.max(1, round2(close * Math.exp(0.02 * z)));
          }
          series.push(close);
          app.row([
            symbol,
            new DuckDBDateValue(startDay + d),
            close,
            BigInt(100_000 + Math.floor(rng() * 4_900_000)),
          ]);
          counts.prices++;
        }
        closes.push(series);
      }
      app.close();
      progress();
    }

    // activity: each day, ~30 % of signed-up users log in and ~10 % place 1-3 orders
    {
      const loginRng = stream(seed, 3);
      const orderRng = stream(seed, 4);
      const logins = await tableWriter(connection, 'logins');
      const orders = await tableWriter(connection, 'orders');
      let orderSeq = 0;
      for (let d = 0; d < opts.days; d++) {
        const day = startDay + d;
        const date = new DuckDBDateValue(day);
        const dayStartUs = BigInt(day) * DAY_US;
        for (let i = 0; i < opts.users; i++) {
          if (signup[i] > day) continue;
          if (loginRng() < LOGIN_RATE) {
            const n = loginRng() < 0.25 ? 2 : 1;
            for (let k = 0; k < n; k++) {
              const second = Math.floor(loginRng() * 86_400);
              const at = new DuckDBTimestampValue(dayStartUs + BigInt(second) * 1_000_000n);
              logins.row([userIds[i], date, at, pick(loginRng, DEVICES)]);
              counts.logins++;
            }
          }
          if (orderRng() < ORDER_RATE) {
            const n = 1 + Math.floor(orderRng() * 3);
            for (let k = 0; k < n; k++) {
              const s = Math.floor(orderRng() * SAMPLE_SYMBOLS.length);
              const side = orderRng() < 0.6 ? 'buy' : 'sell';
              const quantity = 1 + Math.floor(orderRng() * orderRng() * 200);
              // fills within 0.5 % of the close
              const price = round2(closes[s][d] * (1 + (orderRng() - 0.5) * 0.01));
              const id = `o${String(++orderSeq).padStart(9, '0')}`;
              orders.row([id, userIds[i], date, SAMPLE_SYMBOLS[s], side, quantity, price]);
              counts.orders++;
            }
          }
        }
        progress();
      }
      logins.close();
      orders.close();
    }

    await connection.run('CHECKPOINT');
    connection.closeSync();
    connection = undefined;
    instance.closeSync();
    fs.rmSync(`${tmp}.wal`, { force: true });
    fs.renameSync(tmp, target);
    return { tables: { ...counts } };
  } catch (e) {
    connection?.closeSync();
    instance.closeSync();
    removeDbFiles(tmp);
    throw e;
  }
}
