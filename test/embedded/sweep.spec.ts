import { topics, type Envelope } from '@almanac/contracts';
import { createInProcessBus, type InProcessBus } from '@almanac/messaging';
import { parseProjectConfig } from '@almanac/platform';
import { ALL_COMPLETED, D, Fixture, STANDARD_CONFIG, statuses } from './fixture';

/**
 * An in-process bus that loses the first message of a type for OrderTotals on a topic: acked,
 * never handled (a message lost between services).
 */
function losingBus(topic: string, type: Envelope['type']): InProcessBus & { lost: string[] } {
  const bus = createInProcessBus();
  const lost: string[] = [];
  return {
    ...bus,
    lost,
    subscribe: (onTopic, subscription, handler, opts) =>
      bus.subscribe(
        onTopic,
        subscription,
        async (m) => {
          if (onTopic === topic && lost.length === 0) {
            const e = JSON.parse(m.data) as Envelope;
            if (
              e.type === type &&
              (e.payload as { computation?: string }).computation === 'OrderTotals'
            ) {
              lost.push(e.eventId);
              return;
            }
          }
          await handler(m);
        },
        opts,
      ),
    close: () => bus.close(),
    idle: () => bus.idle(),
  };
}

// DESIGN §5 invariant 2: work nobody moves on is taken over by the executor's sweep, on its timer.
describe('embedded engine: the sweep picks up work whose messages were lost', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });
  // seconds would do; the tests use a fraction of one
  const quickSweep = () =>
    parseProjectConfig({
      ...STANDARD_CONFIG,
      execution: { ...STANDARD_CONFIG.execution, zombieThresholdMs: 400, sweepIntervalMs: 100 },
    });

  it('a batch request lost before any worker saw it: after the zombie threshold a new attempt runs, and the run completes', async () => {
    f = await Fixture.create();
    const config = quickSweep();
    const bus = losingBus(topics.batches, 'BatchRequested');
    const engine = await f.open(config, { bus });
    const t0 = Date.now();
    const run = await engine.run({ date: D });
    const took = Date.now() - t0;
    await f.close();

    expect(bus.lost).toHaveLength(1);
    expect(statuses(run)).toEqual(ALL_COMPLETED);
    // the lost answer's attempt was replaced by a second one, started by the sweep
    expect(run.computations.OrderTotals.attempt).toBe(2);
    expect(run.computations.UserBand.attempt).toBe(1);
    // no sooner than the threshold: a computation that makes progress is never taken over
    expect(took).toBeGreaterThanOrEqual(400);
    // every batch's results, the lost one's included (written by the second attempt)
    expect(await f.results('OrderTotals', D, ['u1', 'u3', 'u5'])).toEqual({
      u1: { count: 2, total: 30 },
      u3: { count: 1, total: 7 },
      u5: { count: 0, total: 0 },
    });
  });

  it('an answer lost on its way to the executor: the sweep moves the attempt on from the log, without a new attempt', async () => {
    f = await Fixture.create();
    const config = quickSweep();
    const bus = losingBus(topics.batchResults, 'BatchDone');
    // one batch in flight at a time: the lost answer is the only thing that would request the next
    config.execution.maxInFlight = 1;
    const engine = await f.open(config, { bus });
    const run = await engine.run({ date: D });
    await f.close();

    expect(bus.lost).toHaveLength(1);
    expect(statuses(run)).toEqual(ALL_COMPLETED);
    expect(run.computations.OrderTotals.attempt).toBe(1);
  });
});
