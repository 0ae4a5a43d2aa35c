import {
  eventIds,
  makeEvent,
  streams,
  type Envelope,
  type PlannedComputation,
} from '@almanac/contracts';
import { forcedComputations } from '@almanac/kernel';
import {
  describeRunRequestIssues,
  rejectionCode,
  runRequestIssues,
  type RunRequestRules,
} from './run-request.rules';

export const PLANNER = 'planner';

/** What the planner shell resolved for a request: the selected computations or why there are none. */
export type Selection =
  | { ok: true; computations: PlannedComputation[] }
  | {
      ok: false;
      code: 'unknown-computation' | 'invalid-manifest' | 'invalid-request';
      message: string;
    };

export interface PlanRun {
  type: 'PlanRun';
  request: Envelope<'RunRequested'>;
  selection: Selection;
  /** the rules every entry point checks; today is taken from `now` */
  rules: Omit<RunRequestRules, 'today'>;
  epoch: string;
  now: string;
}

export interface PlannerState {
  /** runs already planned or rejected */
  decided: Record<string, true>;
}

export const plannerDecider = {
  initialState: (): PlannerState => ({ decided: {} }),

  evolve(state: PlannerState, event: Envelope): PlannerState {
    if (event.type === 'RunPlanned' || event.type === 'RunRejected') {
      return { decided: { ...state.decided, [event.payload.runId]: true } };
    }
    return state;
  },

  decide(command: PlanRun, state: PlannerState): Envelope[] {
    const { request, selection, now } = command;
    const { runId, date } = request.payload;
    if (state.decided[runId]) return []; // a redelivered RunRequested: already answered
    const common = {
      streamId: streams.run(runId),
      correlationId: runId,
      causationId: request.eventId,
      producer: PLANNER,
      occurredAt: now,
    };
    const rejected = (code: Envelope<'RunRejected'>['payload']['code'], message: string) => [
      makeEvent({
        ...common,
        type: 'RunRejected',
        eventId: eventIds.runRejected(runId),
        payload: { runId, date, code, message },
      }),
    ];
    // The CLI and the api refuse a request that breaks these rules before appending anything. A
    // RunRequested that arrives over the bus anyway (another producer, an older version, a
    // hand-published message) cannot be refused to its sender, which is gone: it is rejected
    // here, with the message the CLI and the api would have given.
    const issues = runRequestIssues(request.payload, { ...command.rules, today: now.slice(0, 10) });
    if (issues.length) return rejected(rejectionCode(issues), describeRunRequestIssues(issues));
    if (!selection.ok) return rejected(selection.code, selection.message);
    if (selection.computations.length === 0)
      return rejected('invalid-request', 'there are no computations to run');
    const computations = compactPasses(selection.computations);
    const passes: string[][] = [];
    for (const c of computations) (passes[c.pass] ??= []).push(c.name);
    for (const p of passes) p.sort();
    const { targets, force, forceUpstream } = request.payload;
    const forced = forcedComputations(
      computations.map((c) => c.name),
      targets,
      { force, forceUpstream },
    ).sort();
    return [
      makeEvent({
        ...common,
        type: 'RunPlanned',
        eventId: eventIds.runPlanned(runId),
        payload: {
          runId,
          date,
          epoch: command.epoch,
          passes,
          computations,
          force,
          forced,
          dryRun: request.payload.dryRun,
          entityIds: request.payload.entityIds,
        },
      }),
      makeEvent({
        ...common,
        type: 'PassReady',
        eventId: eventIds.passReady(runId, 0),
        payload: { runId, date, pass: 0, computations: passes[0] },
      }),
    ];
  },
};

/** Renumbers the manifest's passes over the selected computations so that no pass is empty. */
export function compactPasses(selected: PlannedComputation[]): PlannedComputation[] {
  const used = [...new Set(selected.map((c) => c.pass))].sort((a, b) => a - b);
  const renumber = new Map(used.map((p, i) => [p, i]));
  return selected
    .map((c) => ({ ...c, pass: renumber.get(c.pass)! }))
    .sort((a, b) => a.pass - b.pass || a.name.localeCompare(b.name));
}
