import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EmbeddedEngine, type EngineOptions } from '@almanac/embedded';
import { createInProcessBus, type InProcessBus } from '@almanac/messaging';
import {
  parseProjectConfig,
  type ProjectConfig,
  type ProjectConfigInput,
  type RunRequest,
} from '@almanac/platform';

export type RunView = Awaited<ReturnType<EmbeddedEngine['run']>>;

/** The date most tests run for; its window with lookback 1 is D_1..D. */
export const D = '2026-01-10';
export const D_1 = '2026-01-09';

/** Source of a computation file; `body` is the body of process(ctx). */
export function computation(o: {
  className: string;
  config: Record<string, unknown>;
  body: string;
  imports?: string;
}): string {
  return [
    `import { Computation, type ComputationContext } from '@almanac/kernel';`,
    o.imports ?? '',
    ``,
    `export class ${o.className} extends Computation {`,
    `  static getConfig() {`,
    `    return ${JSON.stringify(o.config)};`,
    `  }`,
    ``,
    `  async process(ctx: ComputationContext): Promise<unknown> {`,
    o.body,
    `  }`,
    `}`,
    ``,
  ].join('\n');
}

/** Modules under computations/shared and computations/rules that the standard computations import. */
const MONEY_MODULE = `export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
`;
const TENURE_RULES = `export function tenureDays(signup: string, date: string): number {
  return Math.round((Date.parse(date) - Date.parse(signup)) / 86400000);
}
`;

/** Per-entity: the user's orders over D-1..D. */
const ORDER_TOTALS = computation({
  className: 'OrderTotals',
  imports: `import { round2 } from './shared/money';`,
  config: { name: 'OrderTotals', type: 'per-entity', requires: { orders: { lookback: 1 } } },
  body: `    const rows = ctx.data.orders;
    const total = rows.reduce((s, r) => s + Number(r.amount), 0);
    return { count: rows.length, total: round2(total) };`,
});

/** Per-entity, depends on OrderTotals: a band from its total. */
const USER_BAND = computation({
  className: 'UserBand',
  config: { name: 'UserBand', type: 'per-entity', dependencies: ['OrderTotals'] },
  body: `    const t = ctx.getDependency<{ total: number }>('OrderTotals');
    return { band: t && t.total >= 10 ? 'high' : 'low' };`,
});

/** Global: the volume of the date; the date must have orders. */
const DAILY_VOLUME = computation({
  className: 'DailyVolume',
  imports: `import { round2 } from './shared/money';`,
  config: {
    name: 'DailyVolume',
    type: 'global',
    requires: { orders: { lookback: 0, mandatory: true } },
  },
  body: `    return { volume: round2(ctx.data.orders.reduce((s, r) => s + Number(r.amount), 0)) };`,
});

/** Per-entity, reads only users (a dimension table here). */
const SIGNUP_INFO = computation({
  className: 'SignupInfo',
  imports: `import { tenureDays } from './rules/tenure';`,
  config: { name: 'SignupInfo', type: 'per-entity', requires: { users: {} } },
  body: `    const u = ctx.data.users[0];
    return { tenure: tenureDays(String(u.signup_date), ctx.date) };`,
});

/** The four standard computations plus their shared modules, as file -> source. */
export const STANDARD_FILES: Record<string, string> = {
  'order-totals.ts': ORDER_TOTALS,
  'user-band.ts': USER_BAND,
  'daily-volume.ts': DAILY_VOLUME,
  'signup-info.ts': SIGNUP_INFO,
  'shared/money.ts': MONEY_MODULE,
  'rules/tenure.ts': TENURE_RULES,
};

/**
 * Five users who signed up on 2026-01-01. Orders: u1 10 (D-1) + 20 (D); u2 5 (D); u3 7 (D-1);
 * u4 1 + 2 (D); u5 none. Order ids make single rows easy to update.
 */
export const STANDARD_DATA = [
  `CREATE TABLE users (user_id VARCHAR, signup_date DATE)`,
  `INSERT INTO users VALUES ('u1','2026-01-01'),('u2','2026-01-01'),('u3','2026-01-01'),('u4','2026-01-01'),('u5','2026-01-01')`,
  `CREATE TABLE orders (order_id INTEGER, user_id VARCHAR, order_date DATE, amount DOUBLE)`,
  `INSERT INTO orders VALUES (1,'u1','${D_1}',10),(2,'u1','${D}',20),(3,'u2','${D}',5),(4,'u3','${D_1}',7),(5,'u4','${D}',1),(6,'u4','${D}',2)`,
];

export const STANDARD_CONFIG: ProjectConfigInput = {
  warehouse: { path: 'warehouse.duckdb' },
  tables: {
    // users as a dimension: every user row is in every window
    users: { entityField: 'user_id' },
    orders: { entityField: 'user_id', dateField: 'order_date' },
  },
  entities: { table: 'users', idField: 'user_id', dateField: 'signup_date' },
  execution: { batchSize: 2, workerConcurrency: 2, breaker: { retries: 0 } },
};

interface FixtureOptions {
  /** file (relative to computations/) -> source; default STANDARD_FILES */
  files?: Record<string, string>;
  /** SQL run against a fresh warehouse; default STANDARD_DATA */
  data?: string[];
  config?: ProjectConfigInput;
}

type OpenOptions = Pick<
  EngineOptions,
  'bus' | 'wrapResults' | 'schemas' | 'backfills' | 'logger' | 'log' | 'staging' | 'wrapWarehouse'
>;

/** A temporary project: computations folder, DuckDB warehouse, and the engine's data folder. */
export class Fixture {
  private engine: EmbeddedEngine | null = null;
  private codeChanged = true;

  private constructor(
    readonly dir: string,
    readonly config: ProjectConfig,
  ) {}

  static async create(opts: FixtureOptions = {}): Promise<Fixture> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-embedded-'));
    const config = parseProjectConfig(opts.config ?? STANDARD_CONFIG);
    const f = new Fixture(dir, config);
    fs.mkdirSync(path.join(dir, config.computationsDir), { recursive: true });
    for (const [file, source] of Object.entries(opts.files ?? STANDARD_FILES))
      f.write(file, source);
    await f.sql(...(opts.data ?? STANDARD_DATA));
    return f;
  }

  get warehousePath(): string {
    return path.resolve(this.dir, this.config.warehouse.path);
  }

  /** Writes a file under computations/ (the next open() loads the new code). */
  write(file: string, source: string): void {
    const abs = path.join(this.dir, this.config.computationsDir, file);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, source);
    this.codeChanged = true;
  }

  read(file: string): string {
    return fs.readFileSync(path.join(this.dir, this.config.computationsDir, file), 'utf8');
  }

  /** Rewrites a file with `from` replaced by `to` (which must occur). */
  edit(file: string, from: string, to: string): void {
    const source = this.read(file);
    if (!source.includes(from)) throw new Error(`fixture: "${from}" not found in ${file}`);
    this.write(file, source.replace(from, to));
  }

  /** Runs statements against the warehouse, read-write; the engine (read-only) must be closed. */
  async sql(...statements: string[]): Promise<void> {
    if (this.engine) throw new Error('fixture: close the engine before writing to the warehouse');
    const instance = await DuckDBInstance.create(this.warehousePath);
    const connection = await instance.connect();
    try {
      for (const s of statements) await connection.run(s);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  /**
   * Computations are loaded with require and Jest caches modules: after a code change the cache
   * is reset so the next engine loads the new code. open() calls it; call it before anything else
   * that loads the project (the CLI).
   */
  loadNewCode(): void {
    if (this.codeChanged) {
      jest.resetModules();
      this.codeChanged = false;
    }
  }

  /** Writes almanac.config.ts (for the CLI) from the fixture's config input. */
  writeConfigFile(input: ProjectConfigInput = STANDARD_CONFIG): void {
    fs.writeFileSync(
      path.join(this.dir, 'almanac.config.ts'),
      `export default ${JSON.stringify(input, null, 2)};\n`,
    );
  }

  async open(config: ProjectConfig = this.config, opts: OpenOptions = {}): Promise<EmbeddedEngine> {
    if (this.engine) throw new Error('fixture: an engine is already open');
    this.loadNewCode();
    this.engine = await EmbeddedEngine.open({ root: this.dir, config, ...opts });
    return this.engine;
  }

  async close(): Promise<void> {
    const e = this.engine;
    this.engine = null;
    await e?.close();
  }

  /** open, run, close */
  async run(request: RunRequest, opts: OpenOptions = {}): Promise<RunView> {
    const engine = await this.open(this.config, opts);
    try {
      return await engine.run(request);
    } finally {
      await this.close();
    }
  }

  /** Stored results of a computation for a date (opens and closes an engine). */
  async results(
    computation: string,
    date: string,
    ids: string[],
  ): Promise<Record<string, unknown>> {
    const engine = await this.open();
    try {
      return Object.fromEntries(await engine.readResults(computation, date, ids));
    } finally {
      await this.close();
    }
  }

  async cleanup(): Promise<void> {
    await this.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** computation -> status */
export function statuses(view: RunView): Record<string, string> {
  return Object.fromEntries(Object.entries(view.computations).map(([n, c]) => [n, c.status]));
}

/** computation -> reason code */
export function reasonCodes(view: RunView): Record<string, string | null> {
  return Object.fromEntries(
    Object.entries(view.computations).map(([n, c]) => [n, c.reason?.code ?? null]),
  );
}

export const ALL_COMPLETED = {
  OrderTotals: 'completed',
  UserBand: 'completed',
  DailyVolume: 'completed',
  SignupInfo: 'completed',
};
export const ALL_SKIPPED = {
  OrderTotals: 'skipped',
  UserBand: 'skipped',
  DailyVolume: 'skipped',
  SignupInfo: 'skipped',
};

/** An in-process bus that hands every message to its handler twice (at-least-once at its worst). */
export function duplicatingBus(): InProcessBus {
  const bus = createInProcessBus();
  return {
    ...bus,
    publish: (topic, messages) => bus.publish(topic, messages),
    subscribe: (topic, subscription, handler, opts) =>
      bus.subscribe(
        topic,
        subscription,
        async (m) => {
          await handler(m);
          await handler(m);
        },
        opts,
      ),
    close: () => bus.close(),
    idle: () => bus.idle(),
  };
}
