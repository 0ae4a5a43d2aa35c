import { Cron } from 'croner';
import { z } from 'zod';
import { addDays } from './dates';

const Time = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time as HH:MM (00:00-23:59)');

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
type Weekday = (typeof WEEKDAYS)[number];

/**
 * When the data of a date is complete: `days` after that date, at `time` in the schedule's time
 * zone. `{ days: 1, time: '06:00' }`: the data of 2026-11-30 is complete on 2026-12-01 at 06:00.
 */
const AvailableAfter = z.strictObject({
  days: z.number().int().min(0).max(31),
  time: Time,
});

/** A schedule as written in a computation's config or the project's default: every field optional. */
export const ScheduleInput = z.strictObject({
  frequency: z.enum(['hourly', 'daily', 'weekly', 'monthly']).optional(),
  /** HH:MM; for hourly only the minutes count */
  time: Time.optional(),
  /** an IANA time zone name */
  timezone: z.string().min(1).optional(),
  /** weekly: days of the week (`'mon'`...); monthly: days of the month (1-31) */
  days: z
    .array(z.union([z.enum(WEEKDAYS), z.number().int().min(1).max(31)]))
    .min(1)
    .optional(),
  /** false: never scheduled (runs can still be requested by hand) */
  enabled: z.boolean().optional(),
  availableAfter: AvailableAfter.optional(),
});
export type ScheduleInput = z.output<typeof ScheduleInput>;

/** A computation's schedule with every default filled in. */
export interface Schedule {
  frequency: 'hourly' | 'daily' | 'weekly' | 'monthly';
  time: string;
  timezone: string;
  /** weekly: weekday names; monthly: days of the month; absent for hourly and daily */
  days?: Array<Weekday | number>;
  enabled: boolean;
  /** absent: the data of a date is complete when its slot comes */
  availableAfter?: { days: number; time: string };
}

const DEFAULT_SCHEDULE: Schedule = {
  frequency: 'daily',
  time: '02:00',
  timezone: 'UTC',
  enabled: true,
};

/** A schedule that cannot be used: `field` (e.g. `timezone`) and what is wrong with it. */
export class ScheduleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The schedule a computation runs on: its own fields over the project's defaults over
 * DEFAULT_SCHEDULE. `days` comes with the frequency that it belongs to (a computation that sets
 * its own frequency does not inherit the project's days). Throws ScheduleError naming the field.
 */
export function resolveSchedule(
  own: ScheduleInput | undefined,
  projectDefaults: ScheduleInput = {},
): Schedule {
  const mine = own ?? {};
  const frequency = mine.frequency ?? projectDefaults.frequency ?? DEFAULT_SCHEDULE.frequency;
  const inheritedDays = mine.frequency === undefined ? projectDefaults.days : undefined;
  const givenDays = mine.days ?? inheritedDays;
  const timezone = mine.timezone ?? projectDefaults.timezone ?? DEFAULT_SCHEDULE.timezone;
  if (!isTimeZone(timezone))
    throw new ScheduleError(
      'timezone',
      `unknown time zone "${timezone}" (expected an IANA name such as "Europe/Paris" or "UTC")`,
    );
  const schedule: Schedule = {
    frequency,
    time: mine.time ?? projectDefaults.time ?? DEFAULT_SCHEDULE.time,
    timezone,
    enabled: mine.enabled ?? projectDefaults.enabled ?? DEFAULT_SCHEDULE.enabled,
  };
  if (frequency === 'weekly' || frequency === 'monthly') {
    const days = givenDays ?? (frequency === 'weekly' ? ['mon' as const] : [1]);
    const wrong = days.filter((d) =>
      frequency === 'weekly' ? typeof d !== 'string' : typeof d !== 'number',
    );
    if (wrong.length)
      throw new ScheduleError(
        'days',
        frequency === 'weekly'
          ? `a weekly schedule takes weekday names (${WEEKDAYS.join(', ')}), got ${wrong.join(', ')}`
          : `a monthly schedule takes days of the month (1-31), got ${wrong.map((d) => `"${d}"`).join(', ')}`,
      );
    schedule.days = [...new Set(days)];
  } else if (mine.days !== undefined) {
    throw new ScheduleError(
      'days',
      `days applies to weekly and monthly schedules, not ${frequency}`,
    );
  }
  const availableAfter = mine.availableAfter ?? projectDefaults.availableAfter;
  if (availableAfter) schedule.availableAfter = { ...availableAfter };
  return schedule;
}

function cronPattern(s: Schedule): string {
  const [hour, minute] = s.time.split(':').map(Number);
  const days = s.days ?? [];
  switch (s.frequency) {
    case 'hourly':
      return `${minute} * * * *`;
    case 'daily':
      return `${minute} ${hour} * * *`;
    case 'weekly':
      return `${minute} ${hour} * * ${days.map((d) => WEEKDAYS.indexOf(d as Weekday)).join(',')}`;
    case 'monthly':
      return `${minute} ${hour} ${days.join(',')} * *`;
  }
}

const cronCache = new Map<string, Cron>();
function cronOf(s: Schedule): Cron {
  const key = `${cronPattern(s)}|${s.timezone}`;
  let cron = cronCache.get(key);
  if (!cron) {
    cron = new Cron(cronPattern(s), { timezone: s.timezone, paused: true });
    cronCache.set(key, cron);
  }
  return cron;
}

/**
 * The instants a schedule fires in (after, upTo]: croner's reading of the pattern in the time
 * zone, so a time skipped by a DST change fires at the first valid minute after it and a time
 * that occurs twice fires once, at its first occurrence. At most `max` slots, oldest first.
 */
export function slotsBetween(s: Schedule, after: Date, upTo: Date, max = 10_000): Date[] {
  const cron = cronOf(s);
  const out: Date[] = [];
  let prev = after;
  while (out.length < max) {
    const next = cron.nextRun(prev);
    if (!next || next.getTime() > upTo.getTime()) break;
    out.push(next);
    prev = next;
  }
  return out;
}

/** The next `n` instants a schedule fires after `after`. */
export function nextSlots(s: Schedule, after: Date, n: number): Date[] {
  return cronOf(s).nextRuns(n, after);
}

/** `YYYY-MM-DD` of an instant in a time zone. */
function localDate(instant: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * The date a slot runs: the day before the slot's day (in the schedule's time zone) for daily,
 * weekly and monthly schedules — a 02:00 slot on day X runs X-1, the last complete day — and
 * the slot's own day for hourly ones (the day in progress, re-run as its data arrives).
 */
export function dataDateOf(s: Schedule, slot: Date): string {
  const day = localDate(slot, s.timezone);
  return s.frequency === 'hourly' ? day : addDays(day, -1);
}

/**
 * When the data of `date` is complete under `s.availableAfter` (null: no delay, the slot's time
 * is enough): `days` after `date` at `time` in the schedule's time zone, read by croner as the
 * slots are (a time a DST change skips counts from the first valid minute after it).
 */
export function availableAt(s: Schedule, date: string): Date | null {
  if (!s.availableAfter) return null;
  const day = addDays(date, s.availableAfter.days);
  const [hour, minute] = s.availableAfter.time.split(':').map(Number);
  const [, month, dom] = day.split('-').map(Number);
  const cron = new Cron(`${minute} ${hour} ${dom} ${month} *`, {
    timezone: s.timezone,
    paused: true,
  });
  // from two days before the local day: every time zone's local midnight lies after it
  return cron.nextRun(new Date(Date.parse(`${addDays(day, -2)}T00:00:00Z`)));
}

/** `daily 02:00 UTC`, `weekly mon,thu 06:30 Europe/Paris`, `hourly at :15 UTC`. */
export function describeSchedule(s: Schedule): string {
  const days = s.days ? ` ${s.days.join(',')}` : '';
  const at = s.frequency === 'hourly' ? `at :${s.time.slice(3)}` : s.time;
  return `${s.frequency}${days} ${at} ${s.timezone}`;
}

/** Where the dependency gap is checked: 62 days over both spring DST changes of 2026. */
const GAP_WINDOW = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-05-01T00:00:00Z') };

/**
 * The first slot of `dependant` that comes after the latest slot of `dependency` at or before it
 * by more than 0 and less than `gapMinutes`, over GAP_WINDOW (null: the schedules keep the gap).
 * A slot at the same instant is allowed: computations due together share one run, in pass order.
 */
export function dependencyGapViolation(
  dependant: Schedule,
  dependency: Schedule,
  gapMinutes: number,
): { slot: Date; dependencySlot: Date; minutes: number } | null {
  const lead = new Date(GAP_WINDOW.from.getTime() - 40 * 86_400_000);
  const mine = slotsBetween(dependant, GAP_WINDOW.from, GAP_WINDOW.to, 2000);
  const theirs = slotsBetween(dependency, lead, GAP_WINDOW.to, 20_000);
  let j = 0;
  for (const slot of mine) {
    while (j + 1 < theirs.length && theirs[j + 1].getTime() <= slot.getTime()) j++;
    const dep = theirs[j];
    if (!dep || dep.getTime() > slot.getTime()) continue;
    const minutes = (slot.getTime() - dep.getTime()) / 60_000;
    if (minutes > 0 && minutes < gapMinutes) return { slot, dependencySlot: dep, minutes };
  }
  return null;
}
