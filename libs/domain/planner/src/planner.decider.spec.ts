import { makeEvent, type Envelope, type PlannedComputation } from '@almanac/contracts';
import { specificationFor } from '@almanac/testing';
import { plannerDecider, type PlanRun } from './planner.decider';

const now = '2026-01-15T02:00:00.000Z';
const request = makeEvent({
  type: 'RunRequested',
  eventId: 'RunRequested:r1',
  streamId: 'run-r1',
  correlationId: 'r1',
  causationId: null,
  producer: 'cli',
  occurredAt: now,
  payload: { runId: 'r1', date: '2026-01-15', targets: ['C'] },
});
const planned = (name: string, pass: number, dependencies: string[] = []): PlannedComputation => ({
  name,
  pass,
  type: 'per-entity',
  dependencies,
  codeHash: `code-${name}`,
  codeFiles: {},
});
const spec = specificationFor<PlanRun, Envelope, ReturnType<typeof plannerDecider.initialState>>(
  plannerDecider,
);
const cmd = (
  selection: PlanRun['selection'],
  req: Envelope<'RunRequested'> = request,
): PlanRun => ({
  type: 'PlanRun',
  request: req,
  selection,
  rules: { computations: ['A', 'B', 'C', 'D'], dates: { min: '1970-01-01', maxDaysAhead: 365 } },
  epoch: '1',
  now,
});
const requestWith = (payload: {
  targets: string[];
  force?: boolean;
  forceUpstream?: boolean;
}): Envelope<'RunRequested'> =>
  makeEvent({ ...request, type: 'RunRequested', payload: { ...request.payload, ...payload } });
/** C depends on B, B on A; D stands alone. */
const chain = [planned('A', 0), planned('B', 1, ['A']), planned('C', 2, ['B']), planned('D', 0)];
const forcedOf = (events: Envelope[]) => (events[0] as Envelope<'RunPlanned'>).payload.forced;

describe('planner', () => {
  it('plans the selection by passes, with no empty pass, and makes pass 0 ready', () => {
    // A (pass 0) and C (pass 2) selected; pass 1 of the manifest is not part of this run
    spec
      .given([])
      .when(cmd({ ok: true, computations: [planned('C', 2, ['A']), planned('A', 0)] }))
      .then((events) => {
        expect(events.map((e) => e.type)).toEqual(['RunPlanned', 'PassReady']);
        const [plannedEvent, passReady] = events as [Envelope<'RunPlanned'>, Envelope<'PassReady'>];
        expect(plannedEvent.payload.passes).toEqual([['A'], ['C']]);
        expect(plannedEvent.payload.computations.map((c) => [c.name, c.pass])).toEqual([
          ['A', 0],
          ['C', 1],
        ]);
        expect(passReady.eventId).toBe('PassReady:r1:0');
        expect(passReady.payload.computations).toEqual(['A']);
        expect(passReady.causationId).toBe('RunRequested:r1');
      });
  });

  describe('which computations a run forces (RunPlanned.forced)', () => {
    const selectedForC = { ok: true as const, computations: chain.slice(0, 3) };

    it('none without force', () => {
      spec
        .given([])
        .when(cmd(selectedForC, requestWith({ targets: ['C'] })))
        .then((events) => expect(forcedOf(events)).toEqual([]));
    });

    it('force: the targets only, not the dependencies the run includes', () => {
      spec
        .given([])
        .when(cmd(selectedForC, requestWith({ targets: ['C'], force: true })))
        .then((events) => expect(forcedOf(events)).toEqual(['C']));
    });

    it('force without targets: every computation (they are all targets)', () => {
      spec
        .given([])
        .when(cmd({ ok: true, computations: chain }, requestWith({ targets: [], force: true })))
        .then((events) => expect(forcedOf(events)).toEqual(['A', 'B', 'C', 'D']));
    });

    it('forceUpstream: the targets and every computation they depend on', () => {
      spec
        .given([])
        .when(cmd(selectedForC, requestWith({ targets: ['C'], forceUpstream: true })))
        .then((events) => expect(forcedOf(events)).toEqual(['A', 'B', 'C']));
    });
  });

  it('rejects a request for an unknown computation with the reason', () => {
    spec
      .given([])
      .when(
        cmd({
          ok: false,
          code: 'unknown-computation',
          message: 'unknown computation "Cx" (did you mean "C"?)',
        }),
      )
      .then((events) => {
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          type: 'RunRejected',
          payload: { code: 'unknown-computation', message: expect.stringContaining('"Cx"') },
        });
      });
  });

  describe('a RunRequested that reaches it over the bus breaking the rules the CLI and the api check', () => {
    const onBus = (payload: Record<string, unknown>) =>
      makeEvent({ ...request, type: 'RunRequested', payload: { ...request.payload, ...payload } });
    const selected = { ok: true as const, computations: chain };

    it.each([
      [
        { date: '0000-01-01' },
        'invalid-request',
        'invalid run request: date "0000-01-01" is outside the accepted range 1970-01-01 to 2027-01-15 (dates.min to today + dates.maxDaysAhead days, in almanac.config.ts)',
      ],
      [
        { date: '9999-12-31' },
        'invalid-request',
        'invalid run request: date "9999-12-31" is outside the accepted range 1970-01-01 to 2027-01-15 (dates.min to today + dates.maxDaysAhead days, in almanac.config.ts)',
      ],
      [
        { targets: ['Cx', 'Nope'] },
        'unknown-computation',
        'invalid run request: unknown computations "Cx" (did you mean "C"?), "Nope"; known: A, B, C, D',
      ],
      [
        { entityIds: ['u1', '_global'] },
        'invalid-request',
        'invalid run request: entity id "_global" is reserved for the results of global computations',
      ],
      [
        { force: true, forceUpstream: true },
        'invalid-request',
        'invalid run request: force and forceUpstream (--force and --force-upstream) cannot be combined: forceUpstream already re-runs the targets, and their dependencies too',
      ],
    ])('%j: rejected (%s), naming why', (payload, code, message) => {
      spec
        .given([])
        .when(cmd(selected, onBus(payload)))
        .then([
          expect.objectContaining({
            type: 'RunRejected',
            causationId: 'RunRequested:r1',
            payload: { runId: 'r1', date: expect.any(String), code, message },
          }),
        ]);
    });

    it("a date up to a year ahead of the planner's clock is planned", () => {
      spec
        .given([])
        .when(cmd(selected, onBus({ date: '2027-01-15' })))
        .then((events) => expect(events.map((e) => e.type)).toEqual(['RunPlanned', 'PassReady']));
    });
  });

  it('does nothing for a redelivered request that was already planned', () => {
    const first = plannerDecider.decide(
      cmd({ ok: true, computations: [planned('A', 0)] }),
      plannerDecider.initialState(),
    );
    spec
      .given(first)
      .when(cmd({ ok: true, computations: [planned('A', 0)] }))
      .then([]);
  });
});
