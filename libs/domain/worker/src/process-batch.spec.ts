import {
  Computation,
  resultDigest,
  type ComputationContext,
  type LogLine,
  type Row,
} from '@almanac/kernel';
import {
  mapWithConcurrency,
  processBatch,
  type TableSettingsLike,
  type WorkerComputation,
  type WorkerPorts,
} from './process-batch';

const DATE = '2026-01-15';
/** the version this batch's run writes, and the one earlier results were seeded in */
const VERSION = 'r1/1';
const OLD_VERSION = 'r0/1';

/**
 * A small in-memory warehouse and result store (a fake of I/O, not the component under test):
 * filters rows like the real adapters do and counts every call.
 */
class InMemoryPorts implements WorkerPorts {
  readonly calls = {
    fetchForEntities: [] as Array<{
      table: string;
      settings: TableSettingsLike;
      window: { from: string; to: string };
      entityIds: string[];
    }>,
    fetchWindow: [] as Array<{
      table: string;
      settings: TableSettingsLike;
      window: { from: string; to: string };
    }>,
    readResults: [] as Array<{
      computation: string;
      date: string;
      version: string;
      entityIds: string[];
    }>,
    writeResults: [] as Array<{
      computation: string;
      date: string;
      version: string;
      runId: string;
      entityIds: string[];
    }>,
  };
  /** `computation|date|version` -> entity -> result */
  readonly results = new Map<string, Map<string, unknown>>();

  constructor(
    private readonly tables: Record<string, { settings: TableSettingsLike; rows: Row[] }> = {},
  ) {}

  tableSettings(table: string): TableSettingsLike {
    const t = this.tables[table];
    if (!t) throw new Error(`unknown table "${table}"`);
    return t.settings;
  }

  private inWindow(
    table: string,
    settings: TableSettingsLike,
    window: { from: string; to: string },
  ): Row[] {
    const dateField = settings.dateField ?? 'date';
    return this.tables[table].rows.filter((r) => {
      const d = String(r[dateField]);
      return d >= window.from && d <= window.to;
    });
  }

  async fetchForEntities(
    table: string,
    settings: TableSettingsLike,
    window: { from: string; to: string },
    entityIds: string[],
  ) {
    this.calls.fetchForEntities.push({ table, settings, window, entityIds: [...entityIds] });
    const wanted = new Set(entityIds);
    const out = new Map<string, Row[]>();
    for (const r of this.inWindow(table, settings, window)) {
      const id = String(r[settings.entityField]);
      if (!wanted.has(id)) continue;
      out.set(id, [...(out.get(id) ?? []), r]);
    }
    return out;
  }

  async fetchWindow(
    table: string,
    settings: TableSettingsLike,
    window: { from: string; to: string },
  ) {
    this.calls.fetchWindow.push({ table, settings, window });
    return this.inWindow(table, settings, window);
  }

  seed(
    computation: string,
    date: string,
    byEntity: Record<string, unknown>,
    version = OLD_VERSION,
  ): void {
    const key = `${computation}|${date}|${version}`;
    this.results.set(key, new Map([...(this.results.get(key) ?? []), ...Object.entries(byEntity)]));
  }

  stored(computation: string, date: string, version = VERSION): Record<string, unknown> {
    return Object.fromEntries(this.results.get(`${computation}|${date}|${version}`) ?? new Map());
  }

  async readResults(computation: string, date: string, version: string, entityIds: string[]) {
    this.calls.readResults.push({ computation, date, version, entityIds: [...entityIds] });
    const stored = this.results.get(`${computation}|${date}|${version}`) ?? new Map();
    return new Map(
      entityIds
        .filter((id) => stored.has(id))
        .map((id) => [id, stored.get(id)] as [string, unknown]),
    );
  }

  async writeResults(
    computation: string,
    date: string,
    version: string,
    runId: string,
    rows: Array<{ entityId: string; result: unknown; resultHash: string }>,
  ) {
    this.calls.writeResults.push({
      computation,
      date,
      version,
      runId,
      entityIds: rows.map((r) => r.entityId),
    });
    this.seed(
      computation,
      date,
      Object.fromEntries(rows.map((r) => [r.entityId, r.result])),
      version,
    );
  }
}

/** trades of u1..u3 over 2026-01-10..15 (entity userId, date day); prices are global rows. */
function warehouse(): InMemoryPorts {
  const trades: Row[] = [];
  for (const user of ['u1', 'u2']) {
    for (const day of ['2026-01-10', '2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15']) {
      trades.push({ userId: user, day, amount: Number(day.slice(-2)) * (user === 'u1' ? 1 : 10) });
    }
  }
  const prices: Row[] = [
    { asset: 'BTC', day: '2026-01-14', price: 100 },
    { asset: 'ETH', day: '2026-01-15', price: 5 },
    { asset: 'BTC', day: '2026-01-15', price: 110 },
  ];
  return new InMemoryPorts({
    trades: { settings: { entityField: 'userId', dateField: 'day' }, rows: trades },
    prices: { settings: { entityField: 'asset', dateField: 'day' }, rows: prices },
  });
}

/** A per-entity computation whose process() is the given function. */
function computation(
  process: (
    ctx: ComputationContext,
    self: Computation & { say(m: string): void },
  ) => Promise<unknown>,
  over: Partial<WorkerComputation> = {},
): WorkerComputation {
  class TestComputation extends Computation {
    static override getConfig() {
      return { name: over.name ?? 'UserStats' };
    }
    say(m: string) {
      this.log('INFO', m);
    }
    async process(ctx: ComputationContext) {
      return process(ctx, this);
    }
  }
  return {
    name: 'UserStats',
    type: 'per-entity',
    requires: { trades: { lookback: 2, mandatory: true } },
    dependencies: [],
    isHistorical: false,
    create: () => new TestComputation(),
    ...over,
  };
}

const batch = (entityIds: string[], dryRun = false) => ({
  runId: 'r1',
  date: DATE,
  entityIds,
  dryRun,
  resultVersion: VERSION,
  // dependencies and the previous date are read from the versions the executor names
  readVersions: { Positions: OLD_VERSION, Market: OLD_VERSION, '@previous': OLD_VERSION },
});

describe('processBatch', () => {
  it('gives each entity its own rows of the lookback window, per table', async () => {
    const ports = warehouse();
    const comp = computation(async (ctx) => ({
      days: ctx.data.trades.map((r) => r.day),
      total: ctx.data.trades.reduce((s, r) => s + Number(r.amount), 0),
    }));
    const out = await processBatch(comp, batch(['u1', 'u2', 'u3']), ports);
    expect(out).toEqual({ processed: 3, saved: 3, failures: [] });
    // lookback 2 -> 2026-01-13..15: the 10th and 12th are outside
    expect(ports.stored('UserStats', DATE)).toEqual({
      u1: { days: ['2026-01-13', '2026-01-14', '2026-01-15'], total: 42 },
      u2: { days: ['2026-01-13', '2026-01-14', '2026-01-15'], total: 420 },
      u3: { days: [], total: 0 },
    });
    expect(ports.calls.fetchForEntities[0].window).toEqual({
      from: '2026-01-13',
      to: '2026-01-15',
    });
  });

  it('fetches each table once per batch, for all its entities, with the dateField override', async () => {
    const ports = warehouse();
    const ids = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const comp = computation(
      async (ctx) => ({ n: ctx.data.trades.length + ctx.data.prices.length }),
      {
        requires: {
          trades: { lookback: 0, mandatory: true },
          prices: { lookback: 1, mandatory: false, dateField: 'day' },
        },
      },
    );
    const out = await processBatch(comp, batch(ids), ports);
    expect(out.processed).toBe(50);
    expect(
      ports.calls.fetchForEntities.map((c) => [c.table, c.entityIds.length, c.window]),
    ).toEqual([
      ['trades', 50, { from: DATE, to: DATE }],
      ['prices', 50, { from: '2026-01-14', to: DATE }],
    ]);
    expect(ports.calls.fetchForEntities[1].settings).toEqual({
      entityField: 'asset',
      dateField: 'day',
    });
    expect(ports.calls.fetchWindow).toEqual([]);
  });

  it('prefetches dependency results (entities and _global) and the previous result in one read each', async () => {
    const ports = warehouse();
    ports.seed('Positions', DATE, { u1: { qty: 3 }, u2: { qty: 4 } });
    ports.seed('Market', DATE, { _global: { btc: 110 } });
    ports.seed('UserStats', '2026-01-14', { u1: { streak: 7 } });
    const comp = computation(
      async (ctx) => ({
        qty: ctx.getDependency<{ qty: number }>('Positions')?.qty ?? null,
        btc: ctx.getDependency<{ btc: number }>('Market', '_global')?.btc ?? null,
        streak: ((ctx.previousResult as { streak: number } | null)?.streak ?? 0) + 1,
      }),
      {
        dependencies: [
          { name: 'Positions', type: 'per-entity' },
          { name: 'Market', type: 'global' },
        ],
        isHistorical: true,
      },
    );
    const out = await processBatch(comp, batch(['u1', 'u2', 'u3']), ports);
    expect(out.failures).toEqual([]);
    expect(ports.calls.readResults).toEqual([
      {
        computation: 'Positions',
        date: DATE,
        version: OLD_VERSION,
        entityIds: ['u1', 'u2', 'u3', '_global'],
      },
      {
        computation: 'Market',
        date: DATE,
        version: OLD_VERSION,
        entityIds: ['u1', 'u2', 'u3', '_global'],
      },
      {
        computation: 'UserStats',
        date: '2026-01-14',
        version: OLD_VERSION,
        entityIds: ['u1', 'u2', 'u3'],
      },
    ]);
    expect(ports.stored('UserStats', DATE)).toEqual({
      u1: { qty: 3, btc: 110, streak: 8 },
      u2: { qty: 4, btc: 110, streak: 1 },
      u3: { qty: null, btc: 110, streak: 1 },
    });
  });

  it('gives previousResult null and reads no previous date when the computation is not historical', async () => {
    const ports = warehouse();
    ports.seed('UserStats', '2026-01-14', { u1: { streak: 7 } });
    const comp = computation(async (ctx) => ({ previous: ctx.previousResult }));
    await processBatch(comp, batch(['u1']), ports);
    expect(ports.calls.readResults).toEqual([]);
    expect(ports.stored('UserStats', DATE)).toEqual({ u1: { previous: null } });
  });

  it('an undeclared dependency is a failure naming it', async () => {
    const ports = warehouse();
    const comp = computation(async (ctx) => ctx.getDependency('Positions'));
    const out = await processBatch(comp, batch(['u1']), ports);
    expect(out).toEqual({
      processed: 1,
      saved: 0,
      failures: [
        {
          entityId: 'u1',
          message: '"UserStats" asked for "Positions", which is not among its dependencies',
        },
      ],
    });
  });

  describe('null and undefined results', () => {
    const nullFor12 = () =>
      computation(async (ctx) =>
        ctx.entityId === 'u1' ? null : ctx.entityId === 'u2' ? undefined : { v: 3 },
      );

    it("saves nothing for them, in the run's own version: earlier versions are left as they were", async () => {
      const ports = warehouse();
      ports.seed('UserStats', DATE, { u1: { old: true }, u2: { old: true }, u3: { old: true } });
      const out = await processBatch(nullFor12(), batch(['u1', 'u2', 'u3']), ports);
      expect(out).toEqual({ processed: 3, saved: 1, failures: [] });
      expect(ports.calls.writeResults).toEqual([
        { computation: 'UserStats', date: DATE, version: VERSION, runId: 'r1', entityIds: ['u3'] },
      ]);
      expect(ports.stored('UserStats', DATE)).toEqual({ u3: { v: 3 } });
      expect(ports.stored('UserStats', DATE, OLD_VERSION)).toEqual({
        u1: { old: true },
        u2: { old: true },
        u3: { old: true },
      });
    });
  });

  it('reads no results of a dependency that has no version (it produced nothing readable)', async () => {
    const ports = warehouse();
    ports.seed('Positions', DATE, { u1: { qty: 3 } });
    const comp = computation(async (ctx) => ({ qty: ctx.getDependency('Positions') }), {
      dependencies: [{ name: 'Positions', type: 'per-entity' }],
    });
    await processBatch(comp, { ...batch(['u1']), readVersions: { Positions: null } }, ports);
    expect(ports.calls.readResults).toEqual([]);
    expect(ports.stored('UserStats', DATE)).toEqual({ u1: { qty: null } });
  });

  it('saves each result with the sha256 of its canonical JSON', async () => {
    const ports = warehouse();
    const saved: Array<{ entityId: string; resultHash: string }> = [];
    const write = ports.writeResults.bind(ports);
    ports.writeResults = async (c, d, v, r, rows) => {
      saved.push(...rows.map(({ entityId, resultHash }) => ({ entityId, resultHash })));
      return write(c, d, v, r, rows);
    };
    await processBatch(
      computation(async () => ({ b: 2, a: [1, 'x'] })),
      batch(['u1']),
      ports,
    );
    expect(saved).toEqual([{ entityId: 'u1', resultHash: resultDigest({ a: [1, 'x'], b: 2 }) }]);
  });

  it('a throwing entity is a failure with its id and message; the others are saved', async () => {
    const ports = warehouse();
    const comp = computation(async (ctx) => {
      if (ctx.entityId === 'u2') throw new Error('amount is negative for u2');
      if (ctx.entityId === 'u4') throw 'plain string thrown';
      return { ok: ctx.entityId };
    });
    const out = await processBatch(comp, batch(['u4', 'u1', 'u2', 'u3']), ports);
    expect(out).toEqual({
      processed: 4,
      saved: 2,
      failures: [
        { entityId: 'u2', message: 'amount is negative for u2' },
        { entityId: 'u4', message: 'plain string thrown' },
      ],
    });
    expect(ports.stored('UserStats', DATE)).toEqual({ u1: { ok: 'u1' }, u3: { ok: 'u3' } });
  });

  it('a result that is not JSON-serialisable (BigInt, Map) is a failure saying so', async () => {
    const ports = warehouse();
    const comp = computation(async (ctx) =>
      ctx.entityId === 'u1'
        ? { total: 10n }
        : ctx.entityId === 'u2'
          ? { byAsset: new Map([['BTC', 1]]) }
          : { fine: 1 },
    );
    const out = await processBatch(comp, batch(['u1', 'u2', 'u3']), ports);
    expect(out.saved).toBe(1);
    expect(out.failures.map((f) => f.entityId)).toEqual(['u1', 'u2']);
    expect(out.failures[0].message).toContain('not JSON-serialisable');
    expect(out.failures[0].message).toContain('$.total');
    expect(out.failures[1].message).toContain('not JSON-serialisable');
    expect(out.failures[1].message).toContain('Map');
    expect(ports.stored('UserStats', DATE)).toEqual({ u3: { fine: 1 } });
  });

  it.each([
    [5, 5],
    [undefined, 20],
  ])('runs process() with at most %s entities at once (bound %s)', async (concurrency, bound) => {
    const ports = warehouse();
    let inFlight = 0;
    let maxSeen = 0;
    const comp = computation(async () => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return { x: 1 };
    });
    const ids = Array.from({ length: 60 }, (_, i) => `u${i}`);
    const out = await processBatch(comp, batch(ids), ports, { concurrency });
    expect(out.saved).toBe(60);
    expect(maxSeen).toBe(bound);
  });

  it('a dry run computes and reports failures but writes nothing', async () => {
    const ports = warehouse();
    ports.seed('UserStats', DATE, { u1: { old: true } });
    const comp = computation(async (ctx) =>
      ctx.entityId === 'u1'
        ? null
        : ctx.entityId === 'u2'
          ? { v: 2 }
          : Promise.reject(new Error('boom')),
    );
    const out = await processBatch(comp, batch(['u1', 'u2', 'u3'], true), ports);
    expect(out).toEqual({
      processed: 3,
      saved: 0,
      failures: [{ entityId: 'u3', message: 'boom' }],
    });
    expect(ports.calls.writeResults).toEqual([]);
    expect(ports.stored('UserStats', DATE)).toEqual({});
    expect(ports.stored('UserStats', DATE, OLD_VERSION)).toEqual({ u1: { old: true } });
  });

  it("a global computation runs once as '_global' over every row of the window", async () => {
    const ports = warehouse();
    ports.seed('Market', DATE, { _global: { btc: 110 } });
    const seen: string[] = [];
    const comp = computation(
      async (ctx) => {
        seen.push(ctx.entityId);
        return {
          assets: ctx.data.prices.map((r) => `${r.asset}@${r.day}`),
          btc: ctx.getDependency<{ btc: number }>('Market')?.btc,
        };
      },
      {
        name: 'MarketStats',
        type: 'global',
        requires: { prices: { lookback: 1, mandatory: true } },
        dependencies: [{ name: 'Market', type: 'global' }],
      },
    );
    // the entity ids of a global batch are ignored
    const out = await processBatch(comp, batch(['_global']), ports);
    expect(out).toEqual({ processed: 1, saved: 1, failures: [] });
    expect(seen).toEqual(['_global']);
    expect(ports.calls.fetchForEntities).toEqual([]);
    expect(ports.calls.fetchWindow.map((c) => [c.table, c.window])).toEqual([
      ['prices', { from: '2026-01-14', to: DATE }],
    ]);
    expect(ports.calls.readResults).toEqual([
      { computation: 'Market', date: DATE, version: OLD_VERSION, entityIds: ['_global'] },
    ]);
    expect(ports.stored('MarketStats', DATE)).toEqual({
      _global: { assets: ['BTC@2026-01-14', 'ETH@2026-01-15', 'BTC@2026-01-15'], btc: 110 },
    });
  });

  it('tags log lines with the computation and the entity', async () => {
    const ports = warehouse();
    const lines: LogLine[] = [];
    const comp = computation(async (ctx, self) => {
      await new Promise((resolve) => setTimeout(resolve, ctx.entityId === 'u1' ? 5 : 0));
      self.say(`done ${ctx.entityId}`);
      return { ok: true };
    });
    await processBatch(comp, batch(['u1', 'u2']), ports, { log: (l) => lines.push(l) });
    expect(lines).toEqual([
      { level: 'INFO', computation: 'UserStats', entityId: 'u2', message: 'done u2' },
      { level: 'INFO', computation: 'UserStats', entityId: 'u1', message: 'done u1' },
    ]);
  });
});

describe('mapWithConcurrency', () => {
  it('visits every item once', async () => {
    const seen: number[] = [];
    await mapWithConcurrency([1, 2, 3, 4, 5], 2, async (n) => {
      seen.push(n);
    });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});
