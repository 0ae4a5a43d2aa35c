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
const cmd = (selection: PlanRun['selection']): PlanRun => ({
  type: 'PlanRun',
  request,
  selection,
  epoch: '1',
  now,
});

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
