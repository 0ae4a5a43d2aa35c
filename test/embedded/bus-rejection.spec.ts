import { streams, type Envelope } from '@almanac/contracts';
import { addDays } from '@almanac/kernel';
import { InvalidRunRequestError, runRequestedEvent, type ValidRunRequest } from '@almanac/platform';
import { D, Fixture, STANDARD_CONFIG } from './fixture';

// Issue 9, item 3: the CLI and the api refuse a request that breaks the rules before appending
// anything. One that reaches the planner over the bus anyway (a producer that does not check)
// cannot be refused to its sender: the planner rejects the run, with the message they give.
describe('a RunRequested on the bus that breaks the rules of almanac.config.ts `dates`', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({
      config: { ...STANDARD_CONFIG, dates: { min: '2026-01-01', maxDaysAhead: 30 } },
    });
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('is rejected by the planner (RunRejected) with the message the entry points give', async () => {
    const max = addDays(new Date().toISOString().slice(0, 10), 30);
    const message = `invalid run request: date "2025-12-31" is outside the accepted range 2026-01-01 to ${max} (dates.min to today + dates.maxDaysAhead days, in almanac.config.ts)`;
    const engine = await f.open();

    // what engine.run (the CLI) refuses, appending nothing
    const before = (await engine.store.readAll()).length;
    const refused = await engine
      .run({ date: '2025-12-31', targets: ['OrderTotals'] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidRunRequestError);
    expect((refused as Error).message).toBe(message);
    expect((await engine.store.readAll()).length).toBe(before);

    // the same request published by a producer that skips the check
    const unchecked = { date: '2025-12-31', targets: ['OrderTotals'] } as ValidRunRequest;
    await engine.publisher.publish([runRequestedEvent('r-unchecked', new Date(), unchecked, 'x')]);
    await engine.bus.idle();
    const events = (await engine.store.readStream(streams.run('r-unchecked'))) as Envelope[];
    expect(events.map((e) => e.type)).toEqual(['RunRequested', 'RunRejected']);
    expect((events[1] as Envelope<'RunRejected'>).payload).toEqual({
      runId: 'r-unchecked',
      date: '2025-12-31',
      code: 'invalid-request',
      message,
    });

    // within the range, it runs
    expect((await engine.run({ date: D, targets: ['OrderTotals'] })).status).toBe('completed');
  });
});
