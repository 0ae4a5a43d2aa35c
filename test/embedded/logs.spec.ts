import { makeEvent, topics } from '@almanac/contracts';
import { computationLogSink, createLogger, LABELS_FIELD, type Logger } from '@almanac/platform';
import { computation, D, Fixture, STANDARD_FILES } from './fixture';

type Line = { severity: string; message: string; [LABELS_FIELD]: Record<string, string> } & Record<
  string,
  unknown
>;

// A computation that logs for every entity: its lines must reach the structured log from the worker.
const NOISY = computation({
  className: 'Noisy',
  config: { name: 'Noisy', type: 'per-entity', requires: { orders: { lookback: 0 } } },
  body: `    this.log(ctx.entityId === 'u3' ? 'WARN' : 'INFO', \`\${ctx.data.orders.length} orders\`);
    return { n: ctx.data.orders.length };`,
});

const PAYLOAD = {
  invalidationId: 'inv-test',
  computations: ['OrderTotals'],
  from: D,
  to: D,
  reason: 'late orders',
  requestedBy: 'test',
};
const invalidated = () =>
  makeEvent({
    type: 'ComputationsInvalidated',
    eventId: 'ComputationsInvalidated:test',
    streamId: 'invalidations',
    correlationId: 'inv-test',
    causationId: null,
    producer: 'cli',
    occurredAt: '2026-01-10T00:00:00.000Z',
    payload: PAYLOAD,
  });

describe('structured logs of the embedded services', () => {
  let f: Fixture;
  let lines: string[];
  let logger: Logger;
  const parsed = () => lines.map((l) => JSON.parse(l) as Line);

  beforeEach(async () => {
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'noisy.ts': NOISY } });
    lines = [];
    logger = createLogger({ service: 'cli', format: 'json', write: (l) => lines.push(l) });
  });
  afterEach(() => f.cleanup());

  it("a computation's this.log() line reaches the log from the worker, labelled with its entity, computation, run and batch", async () => {
    const run = await f.run(
      { date: D, targets: ['Noisy'] },
      { logger, log: computationLogSink(logger) },
    );
    expect(run.status).toBe('completed');
    const noisy = parsed().filter((l) => l[LABELS_FIELD].computation === 'Noisy');
    const u1 = noisy.find((l) => l[LABELS_FIELD].entity === 'u1');
    // batches of 2 (the fixture's batchSize) over u1..u5, in entity order
    expect(u1).toMatchObject({ severity: 'INFO', message: '1 orders' });
    expect(u1![LABELS_FIELD]).toEqual({
      service: 'worker',
      run: run.runId,
      computation: 'Noisy',
      batch: '0',
      entity: 'u1',
    });
    const u3 = noisy.find((l) => l[LABELS_FIELD].entity === 'u3');
    expect(u3).toMatchObject({ severity: 'WARNING', message: '0 orders' });
    expect(u3![LABELS_FIELD]).toMatchObject({ run: run.runId, batch: '1' });
  });

  it("logs the services' decisions labelled with the run: requested, planned, dispatched, done, completed", async () => {
    const run = await f.run({ date: D, targets: ['Noisy'] }, { logger });
    const decisions = parsed().filter((l) => typeof l.event === 'string');
    const said = decisions.map((l) => `${l[LABELS_FIELD].service} ${l.message}`);
    expect(said).toEqual(
      expect.arrayContaining([
        'cli run requested for 2026-01-10 (Noisy)',
        'planner run planned: 1 computations in 1 passes',
        'planner pass 0 ready: Noisy',
        'executor batch dispatched (2 entities)',
        'worker batch done: 2 processed, 2 saved, 0 failed',
        'executor computation completed: first-run',
        'executor run completed',
      ]),
    );
    for (const l of decisions) expect(l[LABELS_FIELD].run).toBe(run.runId);
    // no computation lines without a sink: only decisions
    expect(parsed().some((l) => l[LABELS_FIELD].entity)).toBe(false);
  });

  it('logs a decision once: appending the same event again (a redelivery answered twice) adds no line', async () => {
    const engine = await f.open(f.config, { logger });
    const event = invalidated();
    await engine.publisher.publish([event]);
    await engine.publisher.publish([event]);
    await f.close();
    const lines = parsed().filter((l) => l.event === 'ComputationsInvalidated');
    expect(lines.map((l) => l.message)).toEqual([
      `invalidated OrderTotals for ${D}..${D}: late orders`,
    ]);
  });

  it('logs each failed handling of a message as a warning and its dead-lettering as an error', async () => {
    const engine = await f.open(f.config, { logger });
    await engine.bus.publish(topics.runs, [{ data: 'this is not an event' }]);
    await engine.bus.idle();
    await f.close();
    const planner = parsed().filter((l) => l[LABELS_FIELD].service === 'planner');
    expect(planner.map((l) => [l.severity, l.attempt])).toEqual([
      ['WARNING', 1],
      ['WARNING', 2],
      ['WARNING', 3],
      ['WARNING', 4],
      ['ERROR', 5],
    ]);
    expect(planner[4].message).toMatch(/^message dead-lettered after 5 attempts: .*JSON/);
    expect(planner[0].message).toMatch(/^handling failed, to be redelivered: /);
  });
});
