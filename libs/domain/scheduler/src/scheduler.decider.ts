import { eventIds, makeEvent, streams, type Envelope } from '@almanac/contracts';
import {
  availableAt,
  closestNames,
  dataDateOf,
  didYouMean,
  nextSlots,
  slotsBetween,
  type Schedule,
} from '@almanac/kernel';

export const SCHEDULER = 'scheduler';

/** A computation and the schedule it runs on (the manifest's, defaults filled in). */
export interface ScheduledComputation {
  name: string;
  schedule: Schedule;
}

export interface SchedulerState {
  /** paused computations: since when, by whom */
  paused: Record<string, { since: string; by: string; reason?: string }>;
  /** when each computation was last resumed: slots due until then are not caught up */
  resumedAt: Record<string, string>;
  /** events in each computation's schedule stream (ids and expected versions of the next one) */
  versions: Record<string, number>;
  /** scheduled runs already in the log (their RunRequested) */
  requested: Record<string, true>;
}

/** The tick at `now`: every slot due since the horizon and not yet requested is requested. */
export interface Tick {
  type: 'Tick';
  now: string;
  schedules: ScheduledComputation[];
  /** how far back missed slots are caught up (ms; the shell passes at least one tick interval) */
  horizonMs: number;
}

export interface PauseSchedule {
  type: 'PauseSchedule';
  computation: string;
  computations: string[];
  by: string;
  reason?: string;
  now: string;
}

export interface ResumeSchedule {
  type: 'ResumeSchedule';
  computation: string;
  computations: string[];
  by: string;
  now: string;
}

export type SchedulerCommand = Tick | PauseSchedule | ResumeSchedule;

/** A pause or resume of a computation that is not in the manifest. */
export class UnknownScheduleError extends Error {
  readonly code = 'unknown-computation';
  constructor(
    readonly computation: string,
    known: string[],
  ) {
    super(
      `unknown computation "${computation}"${didYouMean(closestNames(computation, known))}; known: ${[...known].sort().join(', ')}`,
    );
    this.name = 'UnknownScheduleError';
  }
}

/** One slot of one computation: when it fires, the date it runs, when that date's data is there. */
export interface Slot {
  computation: string;
  slot: string;
  date: string;
  /** the slot, or later when the date's data is not available at the slot (availableAfter) */
  dueAt: string;
  /** the run that requests it: computations due at the same instant for the same date share it */
  runId: string;
}

/** `2026-12-01T02:00:00.000Z` -> `20261201T0200Z`. */
function compact(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\d{2}\.\d{3}Z$/, 'Z');
}

/**
 * The id of the run a slot is requested in: derived from the instant it is due and the date, so
 * every scheduler replica that ticks then derives the same id and the log keeps one RunRequested.
 */
export function scheduledRunId(dueAt: string, date: string): string {
  return `sched-${compact(dueAt)}-${date}`;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

function slotOf(c: ScheduledComputation, instant: Date): Slot {
  const date = dataDateOf(c.schedule, instant);
  const available = availableAt(c.schedule, date);
  const due = available && available.getTime() > instant.getTime() ? available : instant;
  const dueAt = due.toISOString();
  return {
    computation: c.name,
    slot: instant.toISOString(),
    date,
    dueAt,
    runId: scheduledRunId(dueAt, date),
  };
}

/**
 * The slots of enabled computations whose due time is in (now - horizon, now], oldest first:
 * the candidates of a tick. A slot fires before it is due when its data comes later
 * (availableAfter), so slots are looked for from `availableAfter.days + 2` days further back.
 */
export function dueSlots(now: Date, schedules: ScheduledComputation[], horizonMs: number): Slot[] {
  const from = now.getTime() - horizonMs;
  const out: Slot[] = [];
  for (const c of schedules) {
    if (!c.schedule.enabled) continue;
    const wait = c.schedule.availableAfter ? (c.schedule.availableAfter.days + 2) * DAY : 0;
    for (const instant of slotsBetween(c.schedule, new Date(from - wait), now)) {
      const s = slotOf(c, instant);
      const due = Date.parse(s.dueAt);
      if (due > from && due <= now.getTime()) out.push(s);
    }
  }
  return out.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.date.localeCompare(b.date));
}

/** Slots that have fired but wait for their date's data (availableAfter), oldest first. */
export function waitingSlots(
  now: Date,
  schedules: ScheduledComputation[],
  horizonMs: number,
): Slot[] {
  const out: Slot[] = [];
  for (const c of schedules) {
    if (!c.schedule.enabled || !c.schedule.availableAfter) continue;
    const wait = (c.schedule.availableAfter.days + 2) * DAY;
    const since = new Date(now.getTime() - Math.max(horizonMs, MINUTE) - wait);
    for (const instant of slotsBetween(c.schedule, since, now)) {
      const s = slotOf(c, instant);
      if (Date.parse(s.dueAt) > now.getTime()) out.push(s);
    }
  }
  return out.sort((a, b) => a.dueAt.localeCompare(b.dueAt));
}

/** The next `n` slots of a computation after `now`. */
export function upcomingSlots(c: ScheduledComputation, now: Date, n: number): Slot[] {
  return nextSlots(c.schedule, now, n).map((instant) => slotOf(c, instant));
}

function isPausedAt(state: SchedulerState, computation: string, dueAt: string): boolean {
  if (state.paused[computation]) return true;
  const resumed = state.resumedAt[computation];
  return resumed !== undefined && dueAt <= resumed;
}

/** Where a pause or resume goes: the n-th event of the computation's schedule stream. */
function scheduleEnvelope(
  type: 'SchedulePaused' | 'ScheduleResumed',
  command: PauseSchedule | ResumeSchedule,
  state: SchedulerState,
) {
  const n = (state.versions[command.computation] ?? 0) + 1;
  return {
    eventId: eventIds.scheduleChanged(command.computation, type, n),
    streamId: streams.schedule(command.computation),
    correlationId: streams.schedule(command.computation),
    causationId: null,
    producer: SCHEDULER,
    occurredAt: command.now,
    metadata: { now: command.now },
  };
}

export const schedulerDecider = {
  initialState: (): SchedulerState => ({ paused: {}, resumedAt: {}, versions: {}, requested: {} }),

  evolve(state: SchedulerState, event: Envelope): SchedulerState {
    switch (event.type) {
      case 'RunRequested':
        if (event.payload.trigger !== 'schedule') return state;
        return { ...state, requested: { ...state.requested, [event.payload.runId]: true } };
      case 'SchedulePaused': {
        const c = event.payload.computation;
        const { reason } = event.payload;
        return {
          ...state,
          paused: {
            ...state.paused,
            [c]: { since: event.occurredAt, by: event.payload.by, ...(reason ? { reason } : {}) },
          },
          versions: { ...state.versions, [c]: (state.versions[c] ?? 0) + 1 },
        };
      }
      case 'ScheduleResumed': {
        const c = event.payload.computation;
        const paused = { ...state.paused };
        delete paused[c];
        return {
          ...state,
          paused,
          resumedAt: { ...state.resumedAt, [c]: event.occurredAt },
          versions: { ...state.versions, [c]: (state.versions[c] ?? 0) + 1 },
        };
      }
      default:
        return state;
    }
  },

  decide(command: SchedulerCommand, state: SchedulerState): Envelope[] {
    switch (command.type) {
      case 'Tick': {
        const now = new Date(command.now);
        const runs = new Map<string, { date: string; dueAt: string; targets: string[] }>();
        for (const s of dueSlots(now, command.schedules, command.horizonMs)) {
          if (state.requested[s.runId] || isPausedAt(state, s.computation, s.dueAt)) continue;
          const run = runs.get(s.runId) ?? { date: s.date, dueAt: s.dueAt, targets: [] };
          run.targets.push(s.computation);
          runs.set(s.runId, run);
        }
        return [...runs].map(([runId, run]) =>
          makeEvent({
            type: 'RunRequested',
            eventId: eventIds.runRequested(runId),
            streamId: streams.run(runId),
            correlationId: runId,
            causationId: null,
            producer: SCHEDULER,
            occurredAt: command.now,
            payload: {
              runId,
              date: run.date,
              targets: [...run.targets].sort(),
              requestedBy: SCHEDULER,
              trigger: 'schedule',
            },
            metadata: { now: command.now, dueAt: run.dueAt },
          }),
        );
      }
      case 'PauseSchedule': {
        if (!command.computations.includes(command.computation))
          throw new UnknownScheduleError(command.computation, command.computations);
        if (state.paused[command.computation]) return [];
        return [
          makeEvent({
            type: 'SchedulePaused',
            ...scheduleEnvelope('SchedulePaused', command, state),
            payload: {
              computation: command.computation,
              by: command.by,
              ...(command.reason ? { reason: command.reason } : {}),
            },
          }),
        ];
      }
      case 'ResumeSchedule': {
        if (!command.computations.includes(command.computation))
          throw new UnknownScheduleError(command.computation, command.computations);
        if (!state.paused[command.computation]) return [];
        return [
          makeEvent({
            type: 'ScheduleResumed',
            ...scheduleEnvelope('ScheduleResumed', command, state),
            payload: { computation: command.computation, by: command.by },
          }),
        ];
      }
      default: {
        const never: never = command;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
};
