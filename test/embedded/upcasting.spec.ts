import { type Envelope, eventIds, makeEvent, streams, topics } from '@almanac/contracts';
import { readViews } from '@almanac/api';
import { createSqliteCheckpointStore } from '@almanac/eventlog';
import { nextSchemas } from '@almanac/testing';
import { ALL_COMPLETED, ALL_SKIPPED, D, Fixture, statuses } from './fixture';

// ADR 0011: code one schema version on (nextSchemas: ComputationCompleted and BatchRequested at v2)
// meets what code of today wrote: a log, and a message still in flight.
describe('embedded engine: upcasting', () => {
  let f: Fixture;
  beforeEach(async () => (f = await Fixture.create()));
  afterEach(async () => {
    await f.cleanup();
  });

  it('handles a v1 BatchRequested still in flight on the bus: the worker works it as v2', async () => {
    const engine = await f.open(f.config, { schemas: nextSchemas });
    const answers: Envelope[] = [];
    await engine.bus.subscribe(topics.batchResults, 'test.batch-results', async (m) => {
      answers.push(JSON.parse(m.data) as Envelope);
    });
    // sent by an executor of today, before results were versioned: no resultVersion (the run id)
    const request = makeEvent({
      type: 'BatchRequested',
      eventId: eventIds.batchRequested('r-old', 'OrderTotals', 1, 0),
      streamId: streams.batch('r-old', 'OrderTotals', 0),
      correlationId: 'r-old',
      causationId: null,
      producer: 'executor',
      occurredAt: '2026-01-10T02:00:00.000Z',
      payload: {
        runId: 'r-old',
        date: D,
        computation: 'OrderTotals',
        attempt: 1,
        batch: 0,
        entityIds: ['u1', 'u2'],
        dryRun: false,
      },
    });
    expect(request).toMatchObject({ schemaVersion: 1 });
    expect(request.payload).not.toHaveProperty('resultVersion');

    await engine.bus.publish(topics.batches, [
      { data: JSON.stringify(request), attributes: { type: 'BatchRequested' } },
    ]);
    await engine.bus.idle();

    expect(engine.deadLetters).toEqual([]);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({
      type: 'BatchDone',
      causationId: request.eventId,
      payload: { processed: 2, saved: 2, failures: [] },
    });
    // the step from v1 named the run id as the version the results go to
    expect(
      Object.fromEntries(await engine.results.read('OrderTotals', D, 'r-old', ['u1', 'u2'])),
    ).toEqual({ u1: { count: 2, total: 30 }, u2: { count: 1, total: 5 } });
    await f.close();
  });

  it("reads a log of today's code as v2: after the upgrade nothing runs again, and the views equal today's", async () => {
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_COMPLETED);
    let engine = await f.open();
    const today = await readViews(engine.store);
    await f.close();
    const executorFingerprint = async () => {
      const checkpoints = createSqliteCheckpointStore(engine.paths.checkpoints);
      const saved = await checkpoints.load('executor');
      await checkpoints.close();
      return saved!.fingerprint;
    };
    const todayFingerprint = await executorFingerprint();

    engine = await f.open(f.config, { schemas: nextSchemas });
    const all = await engine.store.readAll();
    const completed = all.filter((e) => e.type === 'ComputationCompleted');
    expect(completed).toHaveLength(4);
    expect(completed.map((e) => e.schemaVersion)).toEqual([2, 2, 2, 2]);
    expect(await readViews(engine.store)).toEqual(today);
    // the executor's skip rule reads the hash index folded from the upcast events
    expect(statuses(await engine.run({ date: D }))).toEqual(ALL_SKIPPED);
    await f.close();
    // its checkpoint of today's views was not resumed: folded again, saved under v2's fingerprint
    expect(await executorFingerprint()).not.toBe(todayFingerprint);
  });
});
