import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { warehouseConformance } from './conformance/warehouse.conformance';
import type {
  FixtureColumnKind,
  FixtureTable,
  FixtureValue,
} from './conformance/warehouse.conformance';
import { createDuckDbWarehouse } from './duckdb-warehouse';
import type { DuckDbWarehouseOptions } from './duckdb-warehouse';
import { quoteIdent } from './query-builder';
import type { Warehouse } from './warehouse.port';

const WEEK = { from: '2024-01-01', to: '2024-01-07' };

const DUCKDB_TYPES: Record<FixtureColumnKind, string> = {
  text: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  int32: 'INTEGER',
  int64: 'BIGINT',
  decimal: 'DECIMAL(18,2)',
  double: 'DOUBLE',
};

type Run = (text: string, values?: FixtureValue[]) => Promise<void>;

/** Runs statements on the file (no warehouse may hold it open: it reads it read-only). */
async function withFile(file: string, fn: (run: Run) => Promise<void>): Promise<void> {
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  try {
    await fn(async (text, values = []) => void (await c.run(text, values)));
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

const sql = (file: string, text: string, values: FixtureValue[] = []) =>
  withFile(file, (run) => run(text, values));

/** The fixture in a fresh DuckDB file: values bound as parameters and cast to the column types. */
async function loadDuckDb(tables: FixtureTable[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-warehouse-'));
  const file = path.join(dir, 'source.duckdb');
  const kinds = new Map(tables.map((t) => [t.name, new Map(t.columns)]));
  const cast = (table: string, column: string, placeholder: string) =>
    `CAST(${placeholder} AS ${DUCKDB_TYPES[kinds.get(table)!.get(column)!]})`;
  const insertWith = async (run: Run, table: string, rows: FixtureValue[][]) => {
    const columns = [...kinds.get(table)!.keys()];
    const values = columns.map((c, i) => cast(table, c, `$${i + 1}`)).join(', ');
    for (const row of rows) await run(`INSERT INTO ${quoteIdent(table)} VALUES (${values})`, row);
  };
  const insert = (table: string, rows: FixtureValue[][]) =>
    withFile(file, (run) => insertWith(run, table, rows));
  await withFile(file, async (run) => {
    for (const t of tables) {
      const columns = t.columns.map(([name, kind]) => `${quoteIdent(name)} ${DUCKDB_TYPES[kind]}`);
      await run(`CREATE TABLE ${quoteIdent(t.name)} (${columns.join(', ')})`);
      await insertWith(run, t.name, t.rows);
    }
  });
  const opened: Warehouse[] = [];
  return {
    file,
    async open(opts: Partial<DuckDbWarehouseOptions> = {}) {
      const w = await createDuckDbWarehouse({ path: file, ...opts });
      opened.push(w);
      return w;
    },
    insert,
    async update(
      table: string,
      set: Record<string, FixtureValue>,
      where: Record<string, FixtureValue>,
    ) {
      const s = Object.keys(set);
      const w = Object.keys(where);
      const assignments = s.map((c, i) => `${quoteIdent(c)} = ${cast(table, c, `$${i + 1}`)}`);
      const conditions = w.map(
        (c, i) => `${quoteIdent(c)} = ${cast(table, c, `$${s.length + i + 1}`)}`,
      );
      await sql(
        file,
        `UPDATE ${quoteIdent(table)} SET ${assignments.join(', ')} WHERE ${conditions.join(' AND ')}`,
        [...Object.values(set), ...Object.values(where)],
      );
    },
    async dispose() {
      for (const w of opened.splice(0)) await w.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

warehouseConformance('duckdb', {
  load: loadDuckDb,
  ordersTypes: ['VARCHAR', 'DATE', 'DECIMAL(18,2)'],
  closedError: /the DuckDB session is closed/,
});

describe('DuckDB warehouse', () => {
  let fx: Awaited<ReturnType<typeof loadDuckDb>>;
  let file: string;
  const open = (opts: Partial<DuckDbWarehouseOptions> = {}) => fx.open(opts);

  beforeEach(async () => {
    fx = await loadDuckDb([
      {
        name: 'users',
        columns: [
          ['user_id', 'text'],
          ['country', 'text'],
        ],
        rows: [
          ['u1', 'FR'],
          ['u2', 'DE'],
          ['u9', 'IT'],
        ],
      },
    ]);
    file = fx.file;
  });
  afterEach(async () => {
    await fx.dispose();
  });

  it('renders HUGEINT as a number when safe and as its decimal text beyond 2^53', async () => {
    await sql(
      file,
      `CREATE TABLE huge (id VARCHAR, big HUGEINT);
       INSERT INTO huge VALUES ('a', 1), ('b', 170141183460469231731687303715884105727)`,
    );
    const w = await open();
    expect(await w.fetchWindow('huge', { entityField: 'id' }, WEEK)).toEqual([
      { id: 'a', big: 1 },
      { id: 'b', big: '170141183460469231731687303715884105727' },
    ]);
  });

  it('opens the source read-only by default, several times at once', async () => {
    const a = await open();
    const b = await open();
    expect((await a.fetchWindow('users', { entityField: 'user_id' }, WEEK)).length).toBe(3);
    expect((await b.fetchWindow('users', { entityField: 'user_id' }, WEEK)).length).toBe(3);
    // file locks are per process: a writer in another process is refused while readers hold the file
    const writer = spawnSync(
      process.execPath,
      [
        '-e',
        `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(file)}).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })`,
      ],
      { cwd: path.resolve(__dirname, '../../..'), encoding: 'utf8' },
    );
    expect(writer.status).toBe(3);
    expect(writer.stderr).toMatch(/Conflicting lock is held/);
  });
});
