import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { buildManifest, Computation, type ComputationClass } from '@almanac/kernel';
import { createInProcessBus } from '@almanac/messaging';
import {
  EventPublisher,
  initTracing,
  parseProjectConfig,
  type LoadedProject,
} from '@almanac/platform';
import { SchedulerService } from './scheduler.service';

// ADR 0022: the tick's span and the traces of the runs it requests
const memory = new InMemorySpanExporter();
initTracing({ service: 'scheduler', env: {}, processors: [new SimpleSpanProcessor(memory)] });

function comp(name: string, schedule?: unknown): ComputationClass {
  return class extends Computation {
    static override getConfig() {
      return { name, type: 'global', ...(schedule ? { schedule } : {}) };
    }
    async process() {
      return null;
    }
  };
}

const project = (defs: Array<[string, unknown?]>): LoadedProject => ({
  manifest: buildManifest(defs.map(([n, s]) => ({ ctor: comp(n, s), file: `${n}.ts` }))),
  planned: new Map(),
});
const settings = (over: Record<string, unknown> = {}) =>
  parseProjectConfig({
    warehouse: { path: 'w.duckdb' },
    tables: {},
    entities: { table: 'users', idField: 'user_id' },
    scheduler: over,
  }).scheduler;

const requestedRuns = async (store: EventStore) =>
  (await store.readAll())
    .filter((e) => e.type === 'RunRequested')
    .map((e) => (e.type === 'RunRequested' ? `${e.payload.runId} ${e.payload.targets}` : ''));

describe('scheduler service over a real SQLite log', () => {
  let dir: string;
  const stores: EventStore[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-sched-'));
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** a scheduler replica: its own connection to the log file, its own bus, its own clock */
  const replica = (p: LoadedProject, now: string, over: Record<string, unknown> = {}) => {
    const store = createSqliteEventStore(join(dir, 'events.sqlite'));
    stores.push(store);
    const service = new SchedulerService({
      store,
      publisher: new EventPublisher(store, createInProcessBus()),
      project: p,
      settings: settings(over),
      clock: () => new Date(now),
    });
    return { store, service };
  };

  it('given two replicas, when both tick the same minute, then the log holds exactly one run, and a third tick appends nothing', async () => {
    const p = project([['A'], ['B']]);
    const one = replica(p, '2026-12-01T02:00:05.000Z');
    const two = replica(p, '2026-12-01T02:00:41.000Z');
    const [r1, r2] = await Promise.all([one.service.tick(), two.service.tick()]);
    expect(await requestedRuns(one.store)).toEqual(['sched-20261201T0200Z-2026-11-30 A,B']);
    // exactly one of them appended it
    expect([...r1.requested, ...r2.requested].map((r) => r.runId)).toEqual([
      'sched-20261201T0200Z-2026-11-30',
    ]);
    const again = await one.service.tick(new Date('2026-12-01T02:00:59.000Z'));
    expect(again).toMatchObject({ requested: [], alreadyRequested: 1 });
    expect((await one.store.readAll()).length).toBe(1);
  });

  it('given the scheduler was down three days, when it ticks, then each missed slot within catchUpHours is requested once, oldest first', async () => {
    const p = project([['A']]);
    const r = replica(p, '2026-12-01T10:00:00.000Z', { catchUpHours: 48 });
    const result = await r.service.tick();
    expect(result.requested.map((x) => `${x.runId} ${x.date}`)).toEqual([
      'sched-20261130T0200Z-2026-11-29 2026-11-29',
      'sched-20261201T0200Z-2026-11-30 2026-11-30',
    ]);
    expect((await r.service.tick()).requested).toEqual([]);
  });

  it('given a pause, then ticks request nothing for it; the list says so; after resume the next slot is requested', async () => {
    const p = project([['A'], ['B', { time: '03:00' }]]);
    const r = replica(p, '2026-11-30T12:00:00.000Z', { catchUpHours: 0 });
    expect(await r.service.pause('A', 'ops', 'bad prices')).toBe(true);
    expect(await r.service.pause('A', 'ops')).toBe(false);
    const rows = await r.service.list(new Date('2026-11-30T12:00:00.000Z'), 1);
    expect(
      rows.map((x) => [x.computation, x.description, x.paused?.reason, x.next[0]?.slot]),
    ).toEqual([
      ['A', 'daily 02:00 UTC', 'bad prices', '2026-12-01T02:00:00.000Z'],
      ['B', 'daily 03:00 UTC', undefined, '2026-12-01T03:00:00.000Z'],
    ]);
    expect((await r.service.tick(new Date('2026-12-01T02:00:10.000Z'))).requested).toEqual([]);
    expect(await r.service.resume('A', 'ops')).toBe(true);
    expect(
      (await r.service.tick(new Date('2026-12-02T02:00:10.000Z'))).requested.map((x) => x.runId),
    ).toEqual(['sched-20261202T0200Z-2026-12-01']);
    expect((await r.store.readStream('schedule-A')).map((e) => `${e.type} ${e.eventId}`)).toEqual([
      'SchedulePaused SchedulePaused:A:1',
      'ScheduleResumed ScheduleResumed:A:2',
    ]);
  });

  it('given availableAfter, then the list and the tick say which date waits until when', async () => {
    const p = project([
      ['A', { timezone: 'Europe/Paris', availableAfter: { days: 1, time: '06:00' } }],
    ]);
    const r = replica(p, '2026-12-01T02:00:00.000Z', { catchUpHours: 0 });
    const t = await r.service.tick(new Date('2026-12-01T03:00:00.000Z'));
    expect(t.requested).toEqual([]);
    expect(t.waiting.map((w) => `${w.computation}: ${w.message}`)).toEqual([
      'A: waiting for data of 2026-11-30 until 2026-12-01 06:00 Europe/Paris',
    ]);
    expect((await r.service.list(new Date('2026-12-01T03:00:00.000Z')))[0].waiting).toHaveLength(1);
    expect(
      (await r.service.tick(new Date('2026-12-01T05:00:30.000Z'))).requested.map((x) => x.runId),
    ).toEqual(['sched-20261201T0500Z-2026-11-30']);
  });

  it('given a tick that requests two runs, then each run is a trace of its own (run.request), linked to the tick span', async () => {
    memory.reset();
    const r = replica(project([['A']]), '2026-12-01T10:00:00.000Z', { catchUpHours: 48 });
    const result = await r.service.tick();
    expect(result.requested).toHaveLength(2);
    const [tick] = memory.getFinishedSpans().filter((s) => s.name === 'scheduler.tick');
    const requests = memory.getFinishedSpans().filter((s) => s.name === 'run.request');
    expect(requests).toHaveLength(2);
    expect(requests.map((s) => s.links.map((l) => l.context.spanId))).toEqual([
      [tick.spanContext().spanId],
      [tick.spanContext().spanId],
    ]);
    const traces = (await r.store.readAll()).map((e) => e.metadata.traceId);
    expect(new Set(traces)).toEqual(new Set(requests.map((s) => s.spanContext().traceId)));
    expect(new Set(traces).size).toBe(2);
    expect(traces).not.toContain(tick.spanContext().traceId);
  });
});
