import { makeEvent, type Envelope } from '@almanac/contracts';
import { resolveSchedule, type ScheduleInput } from '@almanac/kernel';
import { specificationFor } from '@almanac/testing';
import {
  schedulerDecider,
  scheduledRunId,
  upcomingSlots,
  waitingSlots,
  type SchedulerCommand,
  type SchedulerState,
  type ScheduledComputation,
} from './scheduler.decider';

const spec = specificationFor<SchedulerCommand, Envelope, SchedulerState>(schedulerDecider);
const HOUR = 3_600_000;

const sched = (name: string, s: ScheduleInput = {}): ScheduledComputation => ({
  name,
  schedule: resolveSchedule(s),
});
const tick = (
  now: string,
  schedules: ScheduledComputation[],
  horizonMs = 60_000,
): SchedulerCommand => ({
  type: 'Tick',
  now,
  schedules,
  horizonMs,
});
/** what a tick requested: run id, date, targets */
const requested = (events: Envelope[]) =>
  events.map((e) => {
    expect(e.type).toBe('RunRequested');
    const p = (e as Envelope<'RunRequested'>).payload;
    expect(e.eventId).toBe(`RunRequested:${p.runId}`);
    expect([p.trigger, p.requestedBy, p.force]).toEqual(['schedule', 'scheduler', false]);
    return `${p.runId} ${p.date} ${p.targets.join(',')}`;
  });
const runRequested = (runId: string, date: string, targets: string[]) =>
  makeEvent({
    type: 'RunRequested',
    eventId: `RunRequested:${runId}`,
    streamId: `run-${runId}`,
    correlationId: runId,
    causationId: null,
    producer: 'scheduler',
    occurredAt: '2026-12-01T02:00:01.000Z',
    payload: { runId, date, targets, trigger: 'schedule', requestedBy: 'scheduler' },
  });
const paused = (computation: string, at: string, n = 1) =>
  makeEvent({
    type: 'SchedulePaused',
    eventId: `SchedulePaused:${computation}:${n}`,
    streamId: `schedule-${computation}`,
    correlationId: `schedule-${computation}`,
    causationId: null,
    producer: 'scheduler',
    occurredAt: at,
    payload: { computation, by: 'ops' },
  });
const resumed = (computation: string, at: string, n = 2) =>
  makeEvent({
    type: 'ScheduleResumed',
    eventId: `ScheduleResumed:${computation}:${n}`,
    streamId: `schedule-${computation}`,
    correlationId: `schedule-${computation}`,
    causationId: null,
    producer: 'scheduler',
    occurredAt: at,
    payload: { computation, by: 'ops' },
  });

describe('scheduler decider: Tick', () => {
  it('given daily 02:00 UTC, when it ticks at 02:00, then it requests the day before, with an id derived from the slot', () => {
    spec
      .given([])
      .when(tick('2026-12-01T02:00:20.000Z', [sched('A')]))
      .then((events) => {
        expect(requested(events)).toEqual(['sched-20261201T0200Z-2026-11-30 2026-11-30 A']);
        expect(events[0].occurredAt).toBe('2026-12-01T02:00:20.000Z');
      });
    expect(scheduledRunId('2026-12-01T02:00:00.000Z', '2026-11-30')).toBe(
      'sched-20261201T0200Z-2026-11-30',
    );
  });

  it('given the slot was already requested (by another replica), when it ticks again, then nothing', () => {
    spec
      .given([runRequested('sched-20261201T0200Z-2026-11-30', '2026-11-30', ['A'])])
      .when(tick('2026-12-01T02:00:40.000Z', [sched('A')]))
      .then([]);
  });

  it('given computations due at the same instant, then they share one run; another zone fires at its own 02:00', () => {
    const all = [sched('B'), sched('A'), sched('NewYork', { timezone: 'America/New_York' })];
    spec
      .given([])
      .when(tick('2026-12-01T02:00:00.000Z', all))
      .then((e) =>
        expect(requested(e)).toEqual(['sched-20261201T0200Z-2026-11-30 2026-11-30 A,B']),
      );
    spec
      .given([])
      .when(tick('2026-12-01T07:00:00.000Z', all))
      .then((e) =>
        expect(requested(e)).toEqual(['sched-20261201T0700Z-2026-11-30 2026-11-30 NewYork']),
      );
    spec.given([]).when(tick('2026-12-01T03:00:00.000Z', all)).then([]);
  });

  it('given daily 02:30 Europe/Berlin, when clocks go forward, then the slot is requested once, at 03:00 local', () => {
    const berlin = [sched('Berlin', { time: '02:30', timezone: 'Europe/Berlin' })];
    spec
      .given([])
      .when(tick('2026-03-29T01:00:30.000Z', berlin))
      .then((e) =>
        expect(requested(e)).toEqual(['sched-20260329T0100Z-2026-03-28 2026-03-28 Berlin']),
      );
    spec.given([]).when(tick('2026-03-29T00:30:30.000Z', berlin)).then([]);
    spec.given([]).when(tick('2026-03-29T01:30:30.000Z', berlin)).then([]);
  });

  it('given daily 02:30 Europe/Berlin, when clocks go back (02:30 twice), then only the first 02:30 requests', () => {
    const berlin = [sched('Berlin', { time: '02:30', timezone: 'Europe/Berlin' })];
    spec
      .given([])
      .when(tick('2026-10-25T00:30:30.000Z', berlin))
      .then((e) =>
        expect(requested(e)).toEqual(['sched-20261025T0030Z-2026-10-24 2026-10-24 Berlin']),
      );
    spec.given([]).when(tick('2026-10-25T01:30:30.000Z', berlin)).then([]);
  });

  it('given weekly mon and monthly 15, then only those days request', () => {
    const weekly = [sched('W', { frequency: 'weekly', days: ['mon'], time: '05:00' })];
    spec.given([]).when(tick('2026-12-01T05:00:00.000Z', weekly)).then([]); // a Tuesday
    spec
      .given([])
      .when(tick('2026-12-07T05:00:00.000Z', weekly))
      .then((e) => expect(requested(e)).toEqual(['sched-20261207T0500Z-2026-12-06 2026-12-06 W']));
    const monthly = [sched('M', { frequency: 'monthly', days: [15], time: '05:00' })];
    spec.given([]).when(tick('2026-12-14T05:00:00.000Z', monthly)).then([]);
    spec
      .given([])
      .when(tick('2026-12-15T05:00:00.000Z', monthly))
      .then((e) => expect(requested(e)).toEqual(['sched-20261215T0500Z-2026-12-14 2026-12-14 M']));
  });

  it('given hourly at :15, then each hour requests the day in progress', () => {
    spec
      .given([])
      .when(tick('2026-12-01T13:15:10.000Z', [sched('H', { frequency: 'hourly', time: '00:15' })]))
      .then((e) => expect(requested(e)).toEqual(['sched-20261201T1315Z-2026-12-01 2026-12-01 H']));
  });

  it('given three days of downtime, when it ticks with a 72 h horizon, then each missed slot is requested once, oldest first', () => {
    const now = '2026-12-01T10:00:00.000Z';
    spec
      .given([])
      .when(tick(now, [sched('A')], 72 * HOUR))
      .then((e) =>
        expect(requested(e)).toEqual([
          'sched-20261129T0200Z-2026-11-28 2026-11-28 A',
          'sched-20261130T0200Z-2026-11-29 2026-11-29 A',
          'sched-20261201T0200Z-2026-11-30 2026-11-30 A',
        ]),
      );
    // one of them already requested: the others only
    spec
      .given([runRequested('sched-20261130T0200Z-2026-11-29', '2026-11-29', ['A'])])
      .when(tick(now, [sched('A')], 72 * HOUR))
      .then((e) =>
        expect(requested(e)).toEqual([
          'sched-20261129T0200Z-2026-11-28 2026-11-28 A',
          'sched-20261201T0200Z-2026-11-30 2026-11-30 A',
        ]),
      );
    // a 24 h horizon catches up the last day only
    spec
      .given([])
      .when(tick(now, [sched('A')], 24 * HOUR))
      .then((e) => expect(requested(e)).toEqual(['sched-20261201T0200Z-2026-11-30 2026-11-30 A']));
  });

  it('given enabled: false, then never requested', () => {
    spec
      .given([])
      .when(tick('2026-12-01T02:00:00.000Z', [sched('A', { enabled: false })], 72 * HOUR))
      .then([]);
  });

  it('given a paused computation, then its slots are not requested; once resumed, slots before the resume are not caught up', () => {
    const both = [sched('A'), sched('B')];
    spec
      .given([paused('A', '2026-11-30T12:00:00.000Z')])
      .when(tick('2026-12-01T02:00:00.000Z', both))
      .then((e) => expect(requested(e)).toEqual(['sched-20261201T0200Z-2026-11-30 2026-11-30 B']));
    const history = [
      paused('A', '2026-11-30T12:00:00.000Z'),
      resumed('A', '2026-12-01T03:00:00.000Z'),
    ];
    spec
      .given(history)
      .when(tick('2026-12-01T04:00:00.000Z', [sched('A')], 24 * HOUR))
      .then([]);
    spec
      .given(history)
      .when(tick('2026-12-02T02:00:00.000Z', [sched('A')], 24 * HOUR))
      .then((e) => expect(requested(e)).toEqual(['sched-20261202T0200Z-2026-12-01 2026-12-01 A']));
  });

  it('given availableAfter 1 day 06:00, when the 02:00 slot comes, then it waits, and is requested at the first tick after 06:00', () => {
    const a = [sched('A', { availableAfter: { days: 1, time: '06:00' } })];
    spec.given([]).when(tick('2026-12-01T02:00:00.000Z', a)).then([]);
    expect(waitingSlots(new Date('2026-12-01T02:00:00.000Z'), a, 60_000)).toEqual([
      {
        computation: 'A',
        slot: '2026-12-01T02:00:00.000Z',
        date: '2026-11-30',
        dueAt: '2026-12-01T06:00:00.000Z',
        runId: 'sched-20261201T0600Z-2026-11-30',
      },
    ]);
    spec
      .given([])
      .when(tick('2026-12-01T06:00:30.000Z', a))
      .then((e) => expect(requested(e)).toEqual(['sched-20261201T0600Z-2026-11-30 2026-11-30 A']));
    expect(waitingSlots(new Date('2026-12-01T06:00:30.000Z'), a, 60_000)).toEqual([]);
  });

  it('lists the next slots with their dates', () => {
    expect(
      upcomingSlots(
        sched('A', { timezone: 'Asia/Tokyo' }),
        new Date('2026-12-01T00:00:00Z'),
        2,
      ).map((s) => `${s.slot} ${s.date}`),
    ).toEqual(['2026-12-01T17:00:00.000Z 2026-12-01', '2026-12-02T17:00:00.000Z 2026-12-02']);
  });
});

describe('scheduler decider: pause and resume', () => {
  const cmd = (
    type: 'PauseSchedule' | 'ResumeSchedule',
    computation: string,
  ): SchedulerCommand => ({
    type,
    computation,
    computations: ['UserBand', 'UserRiskScore'],
    by: 'ops',
    now: '2026-12-01T09:00:00.000Z',
  });

  it('given nothing, when paused, then SchedulePaused with the stream position in its id', () => {
    spec
      .given([])
      .when(cmd('PauseSchedule', 'UserBand'))
      .then((e) => {
        expect(e.map((x) => [x.type, x.eventId, x.streamId])).toEqual([
          ['SchedulePaused', 'SchedulePaused:UserBand:1', 'schedule-UserBand'],
        ]);
      });
  });

  it('given paused, when paused again, then nothing; when resumed, then ScheduleResumed as event 2', () => {
    spec
      .given([paused('UserBand', '2026-12-01T08:00:00.000Z')])
      .when(cmd('PauseSchedule', 'UserBand'))
      .then([]);
    spec
      .given([paused('UserBand', '2026-12-01T08:00:00.000Z')])
      .when(cmd('ResumeSchedule', 'UserBand'))
      .then((e) => expect(e.map((x) => x.eventId)).toEqual(['ScheduleResumed:UserBand:2']));
    spec.given([]).when(cmd('ResumeSchedule', 'UserBand')).then([]);
  });

  it('given an unknown computation, then the error names it and the closest one', () => {
    spec
      .given([])
      .when(cmd('PauseSchedule', 'UserBnad'))
      .thenThrows(/unknown computation "UserBnad" \(did you mean "UserBand"\?\)/);
  });
});
