import { streams } from '@almanac/contracts';
import {
  dueSlots,
  schedulerDecider,
  upcomingSlots,
  waitingSlots,
  type ScheduledComputation,
  type SchedulerCommand,
  type SchedulerState,
} from '@almanac/domain/scheduler';
import { WrongExpectedVersionError, type EventStore } from '@almanac/eventlog';
import { describeSchedule, type Schedule } from '@almanac/kernel';
import {
  inSpan,
  type EventPublisher,
  type LoadedProject,
  type ProjectConfig,
} from '@almanac/platform';

/** A run a tick requested. */
export interface RequestedRun {
  runId: string;
  date: string;
  targets: string[];
  dueAt: string;
}

/** A slot that has fired and waits for its date's data. */
export interface WaitingSlot {
  slot: string;
  date: string;
  until: string;
  /** `waiting for data of 2026-11-30 until 2026-12-01 06:00 UTC` */
  message: string;
}

/** What `almanac schedule tick` and POST /tick answer. */
export interface TickResult {
  at: string;
  requested: RequestedRun[];
  /** slots due in the horizon that were already requested (by this or another replica) */
  alreadyRequested: number;
  waiting: Array<WaitingSlot & { computation: string }>;
}

/** One row of `almanac schedule list` and GET /schedules. */
export interface ScheduleRow {
  computation: string;
  schedule: Schedule;
  /** `daily 02:00 UTC` */
  description: string;
  enabled: boolean;
  paused: { since: string; by: string; reason?: string } | null;
  next: Array<{ slot: string; date: string; dueAt: string }>;
  waiting: WaitingSlot[];
}

/** Local `YYYY-MM-DD HH:MM <zone>` of an instant. */
function localTime(iso: string, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${timezone}`;
}

/**
 * The scheduler's shell: reads what the log says (pauses, the scheduled runs of the horizon),
 * asks the decider, appends what it decides. Two replicas ticking the same instant append one
 * RunRequested per slot: the second's has the same id and the log keeps the first.
 */
export class SchedulerService {
  constructor(
    private readonly deps: {
      store: EventStore;
      publisher: EventPublisher;
      project: LoadedProject;
      settings: ProjectConfig['scheduler'];
      clock: () => Date;
    },
  ) {}

  /** the scheduler's clock (its timer's retention sweeps go by it too) */
  now(): Date {
    return this.deps.clock();
  }

  schedules(): ScheduledComputation[] {
    return [...this.deps.project.manifest.entries.values()]
      .map((e) => ({ name: e.name, schedule: e.config.schedule }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** how far back a tick looks: the catch-up horizon, and at least one tick interval */
  private horizonMs(): number {
    const { catchUpHours, tickIntervalMs } = this.deps.settings;
    return Math.max(catchUpHours * 3_600_000, tickIntervalMs);
  }

  /** The pauses of every schedule, and whether the given runs are in the log. */
  private async state(runIds: string[]): Promise<SchedulerState> {
    const { store } = this.deps;
    let state = (await store.readStreamsByPrefix('schedule-')).reduce(
      schedulerDecider.evolve,
      schedulerDecider.initialState(),
    );
    const runs = await Promise.all(
      [...new Set(runIds)].map((r) => store.readStream(streams.run(r))),
    );
    for (const events of runs) state = events.reduce(schedulerDecider.evolve, state);
    return state;
  }

  /** The tick at `at` (default: now): requests every due slot not yet requested. */
  /** In a span `scheduler.tick`: each run it requests is a trace of its own, linked to it (ADR 0022). */
  tick(at: Date = this.deps.clock()): Promise<TickResult> {
    return inSpan('scheduler.tick', { 'almanac.at': at.toISOString() }, () => this.tickAt(at));
  }

  private async tickAt(at: Date): Promise<TickResult> {
    const schedules = this.schedules();
    const horizonMs = this.horizonMs();
    const due = dueSlots(at, schedules, horizonMs);
    const state = await this.state(due.map((s) => s.runId));
    const events = schedulerDecider.decide(
      { type: 'Tick', now: at.toISOString(), schedules, horizonMs },
      state,
    );
    const fresh = new Set((await this.deps.publisher.publish(events)).map((e) => e.eventId));
    const requested: RequestedRun[] = [];
    for (const e of events) {
      if (e.type !== 'RunRequested' || !fresh.has(e.eventId)) continue;
      const { runId, date, targets } = e.payload;
      requested.push({ runId, date, targets, dueAt: e.metadata.dueAt ?? e.occurredAt });
    }
    const byName = new Map(schedules.map((s) => [s.name, s.schedule]));
    return {
      at: at.toISOString(),
      requested,
      alreadyRequested: new Set(due.map((s) => s.runId)).size - requested.length,
      waiting: waitingSlots(at, schedules, horizonMs).map((s) => ({
        computation: s.computation,
        ...this.waiting(s, byName.get(s.computation)!),
      })),
    };
  }

  private waiting(
    s: { slot: string; date: string; dueAt: string },
    schedule: Schedule,
  ): WaitingSlot {
    return {
      slot: s.slot,
      date: s.date,
      until: s.dueAt,
      message: `waiting for data of ${s.date} until ${localTime(s.dueAt, schedule.timezone)}`,
    };
  }

  /** Each computation's schedule, pause, waiting slots and next `count` slots after `at`. */
  async list(at: Date = this.deps.clock(), count = 3): Promise<ScheduleRow[]> {
    const state = await this.state([]);
    const horizonMs = this.horizonMs();
    return this.schedules().map((c) => {
      const waiting = waitingSlots(at, [c], horizonMs);
      return {
        computation: c.name,
        schedule: c.schedule,
        description: describeSchedule(c.schedule),
        enabled: c.schedule.enabled,
        paused: state.paused[c.name] ?? null,
        next: c.schedule.enabled
          ? upcomingSlots(c, at, count).map(({ slot, date, dueAt }) => ({ slot, date, dueAt }))
          : [],
        waiting: waiting.map((s) => this.waiting(s, c.schedule)),
      };
    });
  }

  /** Pauses a computation's schedule; false when it was already paused. */
  async pause(computation: string, by: string, reason?: string): Promise<boolean> {
    return this.change({ type: 'PauseSchedule', computation, by, reason }, computation);
  }

  /** Resumes a paused schedule; false when it was not paused. */
  async resume(computation: string, by: string): Promise<boolean> {
    return this.change({ type: 'ResumeSchedule', computation, by }, computation);
  }

  private async change(
    command:
      | Omit<Extract<SchedulerCommand, { type: 'PauseSchedule' }>, 'computations' | 'now'>
      | Omit<Extract<SchedulerCommand, { type: 'ResumeSchedule' }>, 'computations' | 'now'>,
    computation: string,
  ): Promise<boolean> {
    const computations = [...this.deps.project.manifest.entries.keys()];
    for (let attempt = 0; ; attempt++) {
      const state = await this.state([]);
      const events = schedulerDecider.decide(
        { ...command, computations, now: this.deps.clock().toISOString() } as SchedulerCommand,
        state,
      );
      if (events.length === 0) return false;
      try {
        await this.deps.publisher.publish(events, {
          expectedVersion: state.versions[computation] ?? 0,
        });
        return true;
      } catch (e) {
        // another operator changed the schedule since it was read: decide again on the new state
        if (!(e instanceof WrongExpectedVersionError) || attempt >= 3) throw e;
      }
    }
  }
}
