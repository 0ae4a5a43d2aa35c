import { readViews } from '@almanac/api';
import { ALL_COMPLETED, D, duplicatingBus, Fixture, statuses } from './fixture';

/** The log's events with the run id taken out, so two runs of the same work compare equal. */
async function logOf(f: Fixture, runId: string) {
  const engine = await f.open();
  const events = await engine.store.readAll();
  const views = await readViews(engine.store);
  await f.close();
  const strip = (s: string) => s.split(runId).join('<run>');
  return {
    events: events
      .filter((e) => e.correlationId === runId)
      .map((e) => `${e.type} ${strip(e.eventId)}`)
      .sort(),
    decisions: Object.fromEntries(
      Object.entries(views.decisions).map(([k, v]) => [
        k,
        v.history.map((d) => [d.status, d.resultHash, d.entities]),
      ]),
    ),
    hashIndex: Object.fromEntries(
      Object.entries(views.hashIndex).map(([k, v]) => [
        k,
        [v.compositeHash, v.resultHash, v.valid],
      ]),
    ),
  };
}

// DESIGN §5 invariant 1: delivering every message twice gives the same log, projections and results.
describe('embedded engine: every message delivered twice', () => {
  const fixtures: Fixture[] = [];
  afterEach(async () => {
    await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
  });

  it('records the same events, projections and results as a single delivery', async () => {
    const once = await Fixture.create();
    const twice = await Fixture.create();
    fixtures.push(once, twice);

    const a = await once.run({ date: D });
    const b = await twice.run({ date: D }, { bus: duplicatingBus() });

    expect(statuses(a)).toEqual(ALL_COMPLETED);
    expect(statuses(b)).toEqual(ALL_COMPLETED);
    const logA = await logOf(once, a.runId);
    const logB = await logOf(twice, b.runId);
    expect(logB.events).toEqual(logA.events);
    expect(logB.events.length).toBeGreaterThan(10);
    expect(logB.hashIndex).toEqual(logA.hashIndex);
    expect(logB.decisions).toEqual(logA.decisions);
    for (const name of Object.keys(a.computations)) {
      expect(b.computations[name].resultHash).toBe(a.computations[name].resultHash);
      expect(b.computations[name].saved).toBe(a.computations[name].saved);
    }
  });
});
