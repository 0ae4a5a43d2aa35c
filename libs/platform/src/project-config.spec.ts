import { parseProjectConfig } from './project-config';

describe('parseProjectConfig: defaults', () => {
  it('gives a config without an execution section the execution defaults', () => {
    const config = parseProjectConfig({
      warehouse: { path: 'warehouse.duckdb' },
      tables: {},
      entities: { table: 'users', idField: 'user_id' },
    });
    expect(config.execution).toMatchObject({
      batchSize: 1000,
      entityConcurrency: 20,
      maxInFlight: 100,
      workerConcurrency: 4,
      zombieThresholdMs: 60 * 60_000,
      sweepIntervalMs: 60_000,
      resultRetentionDays: 7,
    });
    expect(config.execution.breaker.retries).toEqual(expect.any(Number));
    expect(config.dates).toEqual({ min: '1970-01-01', maxDaysAhead: 365 });
  });
});

describe('parseProjectConfig: sample data', () => {
  const base = {
    warehouse: { path: 'warehouse.duckdb' },
    tables: {},
    entities: { table: 'users', idField: 'user_id' },
  };
  const sample = (date: string) => ({ module: 'gen.ts', date, users: 10, days: 3 });

  it('given a sample date that is no calendar date, then the config is refused, naming the field', () => {
    expect(() => parseProjectConfig({ ...base, sample: sample('2026-02-30') })).toThrow(
      /sample\.date/,
    );
  });

  it('given a calendar date, then it is kept', () => {
    expect(parseProjectConfig({ ...base, sample: sample('2024-02-29') }).sample?.date).toBe(
      '2024-02-29',
    );
  });
});

describe('parseProjectConfig: the scheduler timer runs retention', () => {
  const base = {
    warehouse: { path: 'warehouse.duckdb' },
    tables: {},
    entities: { table: 'users', idField: 'user_id' },
  };
  const interval = (retentionIntervalMs?: unknown) =>
    parseProjectConfig({
      ...base,
      scheduler: retentionIntervalMs === undefined ? {} : { retentionIntervalMs },
    }).scheduler.retentionIntervalMs;

  it('given no setting, then it sweeps at most once an hour', () => {
    expect(interval()).toBe(3_600_000);
  });

  it('given 0 or null, then both are kept (the timer sweeps never)', () => {
    expect([interval(0), interval(null)]).toEqual([0, null]);
  });

  it('given a negative or fractional interval, then the config is refused, naming the field', () => {
    expect(() => interval(-1)).toThrow(/scheduler\.retentionIntervalMs/);
    expect(() => interval(1.5)).toThrow(/scheduler\.retentionIntervalMs/);
  });
});

describe('parseProjectConfig: BigQuery, Cloud Storage and export (ADR 0026)', () => {
  const base = {
    tables: {},
    entities: { table: 'users', idField: 'user_id' },
  };
  it('given no warehouse kind, then the DuckDB file is the warehouse', () => {
    const config = parseProjectConfig({ ...base, warehouse: { path: 'w.duckdb' } });
    expect(config.warehouse.kind).toBe('duckdb');
  });
  it('given kind bigquery without its settings, then the config is refused, naming the field', () => {
    expect(() =>
      parseProjectConfig({ ...base, warehouse: { path: 'w.duckdb', kind: 'bigquery' } }),
    ).toThrow(/warehouse\.bigquery: warehouse\.kind is "bigquery" but warehouse\.bigquery/);
  });
  it('given an export without storage, then the config is refused, saying that the export is staged there', () => {
    expect(() =>
      parseProjectConfig({
        ...base,
        warehouse: { path: 'w.duckdb' },
        export: { bigquery: { dataset: 'out' } },
      }),
    ).toThrow(/export: export\.bigquery is set but storage is not/);
  });
  it('given kind bigquery with a dataset, then the price and location defaults are filled in', () => {
    const config = parseProjectConfig({
      ...base,
      warehouse: { path: 'w.duckdb', kind: 'bigquery', bigquery: { dataset: 'src' } },
      storage: { bucket: 'b' },
      export: { bigquery: { dataset: 'out' } },
    });
    expect(config.warehouse.bigquery).toEqual({
      dataset: 'src',
      location: 'US',
      pricePerTiB: 6.25,
    });
    expect(config.storage).toEqual({
      bucket: 'b',
      prefix: 'almanac/',
      claimCheckBytes: 9 * 1024 * 1024,
    });
    expect(config.export?.bigquery).toEqual({ dataset: 'out', table: 'almanac_results' });
  });
});
