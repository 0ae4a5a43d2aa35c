import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { makeEvent } from '@almanac/contracts';
import { createSqliteCheckpointStore } from './checkpoints/sqlite-checkpoint-store';
import { eventStoreConformance } from './conformance/event-store.conformance';
import { upcastingScenarios } from './conformance/upcasting.scenarios';
import {
  createSqliteEventStore,
  openSqliteEventStoreReadOnly,
  STREAMS_IN_RANGE_SQL,
} from './sqlite-event-store';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-eventlog-'));

eventStoreConformance('sqlite file', async () => {
  const dir = tempDir();
  const store = createSqliteEventStore(path.join(dir, 'events.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

eventStoreConformance('sqlite :memory:', async () => {
  const store = createSqliteEventStore(':memory:');
  return { store, cleanup: () => store.close() };
});

upcastingScenarios('sqlite file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'events.db');
  const checkpoints = createSqliteCheckpointStore(path.join(dir, 'checkpoints.db'));
  return {
    open: (schemas) => createSqliteEventStore(file, { schemas }),
    checkpoints,
    rows: async () => {
      const db = new Database(file, { readonly: true });
      try {
        return db
          .prepare('SELECT * FROM events ORDER BY position')
          .all()
          .map((row) => JSON.stringify(row));
      } finally {
        db.close();
      }
    },
    cleanup: async () => {
      await checkpoints.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

const event = (eventId: string, streamId: string) =>
  makeEvent({
    type: 'RunRequested',
    eventId,
    streamId,
    correlationId: 'r1',
    causationId: null,
    producer: 'test',
    occurredAt: '2026-01-15T00:00:00.000Z',
    payload: { runId: 'r1', date: '2026-01-15' },
  });

describe('SQLite event store', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'events.db');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses zero-padded positions that sort as strings and survive a reopen', async () => {
    const store = createSqliteEventStore(file);
    for (let i = 0; i < 12; i++) await store.append(`s${i % 2}`, [event(`e${i}`, `s${i % 2}`)]);
    await store.close();

    const reopened = createSqliteEventStore(file);
    const all = await reopened.readAll();
    expect(all.map((e) => e.position).slice(0, 2)).toEqual([
      '0000000000000001',
      '0000000000000002',
    ]);
    expect([...all.map((e) => e.position)].reverse().sort()).toEqual(all.map((e) => e.position));
    expect(all.map((e) => e.eventId)).toEqual(Array.from({ length: 12 }, (_, i) => `e${i}`));
    expect(await reopened.streamVersion('s1')).toBe(6);
    await reopened.close();
  });

  it('opens the file in WAL mode and refuses UPDATE and DELETE in the database itself', async () => {
    const store = createSqliteEventStore(file);
    await store.append('s', [event('e1', 's')]);
    await store.close();

    const raw = new Database(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(() => raw.prepare("UPDATE events SET type = 'X'").run()).toThrow(
      'events are append-only: UPDATE is not allowed',
    );
    expect(() => raw.prepare('DELETE FROM events').run()).toThrow(
      'events are append-only: DELETE is not allowed',
    );
    expect(raw.prepare('SELECT COUNT(*) AS n FROM events').get()).toEqual({ n: 1 });
    raw.close();
  });

  it('sees appends from another connection to the same file (two processes share one log)', async () => {
    const a = createSqliteEventStore(file);
    const b = createSqliteEventStore(file);
    await a.append('s', [event('e1', 's')], { expectedVersion: 0 });
    await expect(b.append('s', [event('e2', 's')], { expectedVersion: 0 })).rejects.toThrow(
      'stream "s": expected version 0, found 1',
    );
    await b.append('s', [event('e2', 's')], { expectedVersion: 1 });
    expect((await a.readStream('s')).map((e) => e.eventId)).toEqual(['e1', 'e2']);
    await a.close();
    await b.close();
  });

  it('reads through a read-only store and refuses to append there', async () => {
    const store = createSqliteEventStore(file);
    await store.append('s', [event('e1', 's')]);
    const reader = openSqliteEventStoreReadOnly(file);
    expect((await reader.readAll()).map((e) => e.eventId)).toEqual(['e1']);
    await expect(reader.append('s', [event('e2', 's')])).rejects.toMatchObject({
      code: 'event-store-read-only',
    });
    await store.append('s', [event('e2', 's')]);
    expect(await reader.streamVersion('s')).toBe(2);
    await reader.close();
    await store.close();
  });

  it('reads streams by prefix with a range search on the stream index, not a scan of the log', async () => {
    const store = createSqliteEventStore(file);
    await store.append('run-A-X#b0', [event('e1', 'run-A-X#b0')]);
    await store.close();

    const raw = new Database(file, { readonly: true });
    const plan = raw
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${STREAMS_IN_RANGE_SQL}`)
      .all('run-A-X', 'run-A-Y', 0, -1)
      .map((r) => r.detail);
    raw.close();
    expect(plan[0]).toMatch(
      /^SEARCH events USING (COVERING )?INDEX \S+ \(stream_id>\? AND stream_id<\?\)$/,
    );
    expect(plan.some((step) => step.startsWith('SCAN events'))).toBe(false);
  });

  it('reads streams by prefix through a read-only store', async () => {
    const store = createSqliteEventStore(file);
    await store.append('run-A-X', [event('e1', 'run-A-X')]);
    await store.append('run-B', [event('e2', 'run-B')]);
    await store.append('run-A-X#b0', [event('e3', 'run-A-X#b0')]);
    const reader = openSqliteEventStoreReadOnly(file);
    expect((await reader.readStreamsByPrefix('run-A-')).map((e) => e.eventId)).toEqual([
      'e1',
      'e3',
    ]);
    await reader.close();
    await store.close();
  });

  it('rejects a cursor it did not produce, a bad limit, and calls after close', async () => {
    const store = createSqliteEventStore(':memory:');
    await expect(store.readAll({ after: 'abc' })).rejects.toThrow(
      'invalid position "abc": pass back the "position" of an event read from this store',
    );
    await expect(store.readAll({ limit: -1 })).rejects.toMatchObject({ code: 'invalid-limit' });
    await expect(store.readAll({ limit: 1.5 })).rejects.toThrow('invalid limit 1.5');
    await store.close();
    await expect(store.readStream('s')).rejects.toThrow('event store is closed: cannot readStream');
    await expect(store.append('s', [event('e1', 's')])).rejects.toMatchObject({
      code: 'event-store-closed',
    });
  });
});
