import {
  backfillIds,
  eventIds,
  makeEvent,
  streams,
  type Envelope,
  type PayloadOf,
} from '@almanac/contracts';
import { addDays } from '@almanac/kernel';

export const BACKFILL_PRODUCER = 'scheduler';

/** Request the runs a backfill may have open now (after its request, or one of its runs' ends). */
export interface AdvanceBackfill {
  type: 'AdvanceBackfill';
  /** the event this answers (the BackfillRequested, or a RunCompleted of its runs) */
  causationId: string;
  /** the deciding process's clock (ISO) */
  now: string;
  /** the process that requests the runs (metadata.process, see the embedded recoverDeadRuns) */
  process: string;
}

interface DateState {
  requested: boolean;
  /** its run ended: RunCompleted (any status) or RunRejected */
  ended: boolean;
  /** the historical computations its run decided (ComputationCompleted, any status) */
  historicalDone: string[];
}

export interface BackfillState {
  request: PayloadOf<'BackfillRequested'> | null;
  /** date -> what happened to its run */
  dates: Record<string, DateState>;
}

/** The dates of a backfill, from `from` to `to` inclusive, in order. */
export function backfillDates(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
  return dates;
}

const dateOf = (state: BackfillState, date: string): DateState =>
  state.dates[date] ?? { requested: false, ended: false, historicalDone: [] };

function withDate(state: BackfillState, date: string, change: Partial<DateState>): BackfillState {
  return { ...state, dates: { ...state.dates, [date]: { ...dateOf(state, date), ...change } } };
}

/**
 * The backfill decider. Fold it over the backfill's BackfillRequested and its runs' events
 * (RunRequested, ComputationCompleted, RunCompleted, RunRejected); other events change nothing.
 *
 * The rule: dates are requested in order, so the requested dates are always a prefix of the range,
 * at most `concurrency` of them without an end; a date whose run includes historical computations
 * waits until the previous date's run decided every one of them. Each run's id is derived from
 * (backfill, date), so two replicas, or two deliveries of one message, request each date once.
 */
export const backfillDecider = {
  initialState: (): BackfillState => ({ request: null, dates: {} }),

  evolve(state: BackfillState, event: Envelope): BackfillState {
    switch (event.type) {
      case 'BackfillRequested':
        return { ...state, request: event.payload };
      case 'RunRequested':
      case 'RunCompleted':
      case 'RunRejected':
      case 'ComputationCompleted': {
        const run = backfillIds.ofRun(event.payload.runId);
        if (!run || run.backfillId !== state.request?.backfillId) return state;
        if (event.type === 'RunRequested') return withDate(state, run.date, { requested: true });
        if (event.type === 'ComputationCompleted') {
          const done = dateOf(state, run.date).historicalDone;
          const c = event.payload.computation;
          if (!state.request.historical.includes(c) || done.includes(c)) return state;
          return withDate(state, run.date, { historicalDone: [...done, c] });
        }
        return withDate(state, run.date, { ended: true });
      }
      default:
        return state;
    }
  },

  decide(command: AdvanceBackfill, state: BackfillState): Envelope[] {
    const request = state.request;
    if (!request) return [];
    const dates = backfillDates(request.from, request.to);
    let open = dates.filter((d) => dateOf(state, d).requested && !dateOf(state, d).ended).length;
    const out: Envelope[] = [];
    for (const [i, date] of dates.entries()) {
      if (open >= request.concurrency) break;
      if (dateOf(state, date).requested) continue;
      if (i > 0 && !historicalReleased(state, dates[i - 1], request.historical)) break;
      out.push(runRequested(request, date, command));
      open++;
      // what this call requested is neither ended nor done: the next date waits for it
      state = withDate(state, date, { requested: true });
    }
    return out;
  },
};

/** The previous date's run decided every historical computation (or ended without them). */
function historicalReleased(state: BackfillState, previous: string, historical: string[]): boolean {
  if (historical.length === 0) return true;
  const p = dateOf(state, previous);
  return p.ended || historical.every((c) => p.historicalDone.includes(c));
}

function runRequested(
  request: PayloadOf<'BackfillRequested'>,
  date: string,
  command: AdvanceBackfill,
): Envelope {
  const runId = backfillIds.run(request.backfillId, date);
  return makeEvent({
    type: 'RunRequested',
    eventId: eventIds.runRequested(runId),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: command.causationId,
    producer: BACKFILL_PRODUCER,
    occurredAt: command.now,
    metadata: { now: command.now, backfillId: request.backfillId, process: command.process },
    payload: {
      runId,
      date,
      targets: request.targets,
      force: request.force,
      requestedBy: request.requestedBy,
      trigger: 'backfill',
    },
  });
}
