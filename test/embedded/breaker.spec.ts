import type { ResultStore } from '@almanac/warehouse';
import { computation, D, Fixture, STANDARD_CONFIG } from './fixture';

const USERS = Array.from({ length: 30 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);

/** A result store whose writes fail, as a flaky database would, for 2 entities in 5. */
function failingWrites(store: ResultStore): ResultStore {
  return {
    ...store,
    write: async (computationName, date, version, runId, rows) => {
      if (computationName === 'Scores' && rows.some((r) => Number(r.entityId.slice(1)) % 5 < 2)) {
        throw Object.assign(new Error('results database unavailable'), { retryable: true });
      }
      return store.write(computationName, date, version, runId, rows);
    },
    close: () => store.close(),
  };
}

// DESIGN §5 "Executor and the breaker": batches failing at >= 30 % open the breaker after 20 calls.
describe('embedded engine: the circuit breaker', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('opens when batches keep failing, records CircuitOpened, stops dispatching, fails the computation and blocks its dependants', async () => {
    f = await Fixture.create({
      files: {
        'scores.ts': computation({
          className: 'Scores',
          config: { name: 'Scores', type: 'per-entity' },
          body: 'return { id: ctx.entityId };',
        }),
        'ranks.ts': computation({
          className: 'Ranks',
          config: { name: 'Ranks', type: 'per-entity', dependencies: ['Scores'] },
          body: "return ctx.getDependency('Scores');",
        }),
      },
      data: [
        'CREATE TABLE users (user_id VARCHAR, signup_date DATE)',
        'CREATE TABLE orders (user_id VARCHAR, order_date DATE, amount DOUBLE)',
        `INSERT INTO users VALUES ${USERS.map((u) => `('${u}', DATE '2026-01-01')`).join(', ')}`,
      ],
      // one entity per batch, one batch at a time, no retries: every call is one breaker call
      config: {
        ...STANDARD_CONFIG,
        execution: { batchSize: 1, maxInFlight: 1, workerConcurrency: 1, breaker: { retries: 0 } },
      },
    });
    const engine = await f.open(f.config, { wrapResults: failingWrites });
    const run = await engine.run({ date: D });
    const log = (await engine.store.readAll()).filter(
      (e) =>
        e.correlationId === run.runId &&
        (e.payload as { computation?: string }).computation === 'Scores',
    );
    const metrics = await engine.metrics.render();
    await f.close();

    expect(run.computations.Scores.status).toBe('failed');
    expect(run.computations.Scores.reason).toMatchObject({ code: 'circuit-open' });
    expect(run.computations.Ranks.status).toBe('blocked');
    const opened = log.filter((e) => e.type === 'CircuitOpened');
    expect(opened).toHaveLength(1);
    expect(opened[0].payload).toMatchObject({ calls: 20, failures: 8 });
    // u01,u02 fail, u03..u05 pass, u06,u07 fail...: 8 of the first 20 calls; nothing after call 20
    expect(log.filter((e) => e.type === 'BatchRequested')).toHaveLength(20);
    // what /metrics says about it: the breaker open, 8 failed and 12 good answers of 20 batches
    const series = (s: string) => metrics.split('\n').find((l) => l.startsWith(`${s} `));
    expect(series('almanac_breaker_state{computation="Scores"}')).toBe(
      'almanac_breaker_state{computation="Scores"} 2',
    );
    expect(series('almanac_batches_dispatched_total{computation="Scores"}')).toMatch(/ 20$/);
    expect(series('almanac_batches_failed_total{computation="Scores"}')).toMatch(/ 8$/);
    expect(series('almanac_batches_done_total{computation="Scores"}')).toMatch(/ 12$/);
  });
});
