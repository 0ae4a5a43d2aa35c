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
