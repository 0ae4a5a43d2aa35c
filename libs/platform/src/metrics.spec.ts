import { eventIds, makeEvent, streams, type Envelope } from '@almanac/contracts';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import {
  ageSeconds,
  AlmanacMetrics,
  breakerStateValue,
  instrumentEventStore,
  projectionLagSeconds,
} from './metrics';

/** the value of one sample of the exposition text (undefined: absent) */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const RUN = 'run-1';
const requested = (batch: number): Envelope =>
  makeEvent({
    type: 'BatchRequested',
    eventId: eventIds.batchRequested(RUN, 'Scores', 1, batch, 0),
    streamId: streams.batch(RUN, 'Scores', batch),
    correlationId: RUN,
    causationId: null,
    producer: 'executor',
    occurredAt: '2026-01-15T02:00:00.000Z',
    payload: {
      runId: RUN,
      date: '2026-01-15',
      computation: 'Scores',
      attempt: 1,
      batch,
      retry: 0,
      entityIds: ['u1', 'u2', 'u3'],
      dryRun: false,
      scoped: false,
      readVersions: {},
    },
  });
const done = (batch: number, failed: string[], durationMs: number): Envelope =>
  makeEvent({
    type: 'BatchDone',
    eventId: eventIds.batchDone(RUN, 'Scores', 1, batch, 0),
    streamId: streams.batch(RUN, 'Scores', batch),
    correlationId: RUN,
    causationId: null,
    producer: 'worker',
    occurredAt: '2026-01-15T02:00:01.000Z',
    payload: {
      runId: RUN,
      date: '2026-01-15',
      computation: 'Scores',
      attempt: 1,
      batch,
      retry: 0,
      processed: 3,
      saved: 3 - failed.length,
      failures: failed.map((entityId) => ({ entityId, message: 'boom' })),
      durationMs,
    },
  });

describe('metrics', () => {
  describe('breakerStateValue: opossum states as gauge values', () => {
    it('closed 0, half-open 1, open 2', () => {
      expect(breakerStateValue({ opened: false })).toBe(0);
      expect(breakerStateValue({ opened: false, halfOpen: true })).toBe(1);
      expect(breakerStateValue({ opened: true })).toBe(2);
    });
  });

  describe('ageSeconds: the lag of a message or an event', () => {
    const now = new Date('2026-01-15T02:00:10.000Z');
    it('is now minus the time, in seconds, with sub-millisecond stamps', () => {
      expect(ageSeconds('2026-01-15T02:00:07.500Z', now)).toBe(2.5);
      expect(ageSeconds('2026-01-15T02:00:09.000123456Z', now)).toBe(1);
    });
    it('is 0 for a time ahead of this clock, an absent or an unreadable one', () => {
      expect(ageSeconds('2026-01-15T02:00:11.000Z', now)).toBe(0);
      expect(ageSeconds(undefined, now)).toBe(0);
      expect(ageSeconds('yesterday', now)).toBe(0);
    });
  });

  describe('over a SQLite log', () => {
    let raw: EventStore;
    let metrics: AlmanacMetrics;
    let store: EventStore;
    beforeEach(() => {
      raw = createSqliteEventStore(':memory:');
      metrics = new AlmanacMetrics();
      store = instrumentEventStore(raw, metrics);
    });
    afterEach(() => store.close());

    it('projection lag: the age of the first event after the position, 0 at the head', async () => {
      expect(await projectionLagSeconds(store, null, new Date())).toBe(0);
      await store.append(streams.batch(RUN, 'Scores', 0), [requested(0)]);
      const [first] = await store.readAll();
      const later = new Date(Date.parse(first.recordedAt) + 4_000);
      expect(await projectionLagSeconds(store, null, later)).toBe(4);
      expect(await projectionLagSeconds(store, first.position, later)).toBe(0);
    });

    it('counts what an append recorded by type, never a duplicate, and times every append', async () => {
      await store.append(streams.batch(RUN, 'Scores', 0), [requested(0)]);
      await store.append(streams.batch(RUN, 'Scores', 1), [requested(1)]);
      await store.append(streams.batch(RUN, 'Scores', 0), [requested(0)]); // a duplicate
      await store.append(streams.batch(RUN, 'Scores', 0), [done(0, ['u2'], 1500)]);
      await store.append(streams.batch(RUN, 'Scores', 1), [done(1, [], 250)]);
      const text = await metrics.render();
      expect(sample(text, 'almanac_events_appended_total{type="BatchRequested"}')).toBe(2);
      expect(sample(text, 'almanac_events_appended_total{type="BatchDone"}')).toBe(2);
      expect(sample(text, 'almanac_event_append_duration_seconds_count')).toBe(5);
      // what the events say: dispatched by the executor, worked by the worker
      expect(sample(text, 'almanac_batches_dispatched_total{computation="Scores"}')).toBe(2);
      expect(sample(text, 'almanac_entities_processed_total{computation="Scores"}')).toBe(6);
      expect(sample(text, 'almanac_entities_failed_total{computation="Scores"}')).toBe(1);
      expect(sample(text, 'almanac_batch_duration_seconds_count{computation="Scores"}')).toBe(2);
      expect(sample(text, 'almanac_batch_duration_seconds_sum{computation="Scores"}')).toBe(1.75);
      expect(
        sample(text, 'almanac_batch_duration_seconds_bucket{le="1",computation="Scores"}'),
      ).toBe(1);
    });

    it('serves the tracked projection lag and outbox count at scrape time, and the process metrics', async () => {
      await store.append(streams.batch(RUN, 'Scores', 0), [requested(0)]);
      // scraped 5 s after the append
      const recordedAt = Date.parse((await store.readAll())[0].recordedAt);
      metrics = new AlmanacMetrics({ clock: () => new Date(recordedAt + 5_000) });
      let position: string | null = null;
      metrics.trackProjection('views', store, () => position);
      let pending = 7;
      metrics.trackOutbox(async () => pending);
      let text = await metrics.render();
      expect(sample(text, 'almanac_projection_lag_seconds{group="views"}')).toBe(5);
      expect(sample(text, 'almanac_outbox_pending')).toBe(7);
      expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      position = (await store.readAll())[0].position;
      pending = 0;
      text = await metrics.render();
      expect(sample(text, 'almanac_projection_lag_seconds{group="views"}')).toBe(0);
      expect(sample(text, 'almanac_outbox_pending')).toBe(0);
    });

    it('serves no outbox count where nothing relays it', async () => {
      expect(await metrics.render()).not.toContain('almanac_outbox_pending');
    });
  });
});
