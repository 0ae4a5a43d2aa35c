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
