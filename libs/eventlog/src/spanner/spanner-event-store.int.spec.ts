import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Database, Instance } from '@google-cloud/spanner';
import { type Envelope, eventIds, makeEvent, streams, topics } from '@almanac/contracts';
import { startSpannerTestInstance, type SpannerTestInstance } from '@almanac/emulators';
import { createSpannerCheckpointStore } from '../checkpoints/spanner-checkpoint-store';
import { eventStoreConformance } from '../conformance/event-store.conformance';
import { upcastingScenarios } from '../conformance/upcasting.scenarios';
import { InvalidPositionError } from '../event-store.errors';
import { type StoredEvent, WrongExpectedVersionError } from '../event-store.port';
import {
  createSpannerEventStore,
  createSpannerOutbox,
  migrateSpanner,
  MigrationChangedError,
  MigrationDirectoryError,
  relayOutbox,
  SPANNER_DDL_DIR,
} from './index';

const DDL_DIR = SPANNER_DDL_DIR;
const DDL_FILES = [
  '001-events.sql',
  '002-outbox.sql',
  '003-projections.sql',
  '004-results.sql',
  '005-projection-checkpoints.sql',
  '006-result-versions.sql',
  '007-drop-inline-projections.sql',
];

let emulator: SpannerTestInstance | undefined;
let instance: Instance;
let databases = 0;

beforeAll(async () => {
  emulator = await startSpannerTestInstance('eventlog');
  ({ instance } = emulator);
});

afterAll(async () => {
  await emulator?.stop();
});

/** An empty database (creating one on the emulator takes ~10 ms), migrated unless told not to. */
async function newDatabase(
  migrate = true,
): Promise<{ database: Database; drop: () => Promise<void> }> {
  const [database, op] = await instance.createDatabase(`db-${++databases}`);
  await op.promise();
  if (migrate) await migrateSpanner(database, DDL_DIR);
  return {
    database,
    drop: async () => {
      await database.delete();
    },
  };
}

eventStoreConformance('spanner emulator', async () => {
  const { database, drop } = await newDatabase();
  const store = createSpannerEventStore(database);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await drop();
    },
  };
});

upcastingScenarios('spanner emulator', async () => {
  const { database, drop } = await newDatabase();
  const checkpoints = createSpannerCheckpointStore(database);
  return {
    open: (schemas) => createSpannerEventStore(database, { schemas }),
    checkpoints,
    rows: async () => {
      const [rows] = await database.run({
        sql: `SELECT StreamId, Seq, EventId, Type, SchemaVersion, Envelope, RecordedAt FROM Events
              ORDER BY RecordedAt, StreamId, Seq`,
        json: true,
      });
      return rows.map((row) => JSON.stringify(row));
    },
    cleanup: async () => {
      await checkpoints.close();
      await drop();
    },
  };
});

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const runRequested = (runId: string): Envelope =>
  makeEvent({
    type: 'RunRequested',
    eventId: eventIds.runRequested(runId),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: null,
    producer: 'api',
    occurredAt: '2026-01-15T01:59:00.000Z',
    // the W3C trace context the publisher writes (ADR 0022): it rides on the outbox row's attributes
    metadata: { traceId: `trace-${runId}`, traceparent: TRACEPARENT },
    payload: { runId, date: '2026-01-15' },
  });

const passReady = (runId: string, pass: number): Envelope =>
  makeEvent({
    type: 'PassReady',
    eventId: eventIds.passReady(runId, pass),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: null,
    producer: 'planner',
    occurredAt: '2026-01-15T02:00:00.000Z',
    payload: { runId, date: '2026-01-15', pass, computations: ['A'] },
  });

/** The envelope as the bus carries it: without the log's bookkeeping. */
const envelopeOf = (e: StoredEvent) => {
  const { streamVersion: _v, position: _p, recordedAt: _r, ...envelope } = e;
  return envelope;
};

describe('Spanner event store: positions, concurrency, notifications', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeEach(async () => ({ database, drop } = await newDatabase()));
  afterEach(() => drop());

  it('records the commit timestamp with nanoseconds; the events of one append share it', async () => {
    const store = createSpannerEventStore(database);
    const r = await store.append('run-r1', [runRequested('r1'), passReady('r1', 0)]);
    const [a, b] = r.results.map((x) => x.event);
    expect(a.recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    expect(b.recordedAt).toBe(a.recordedAt);
    expect(a.position).toBe(`${a.recordedAt}/1/run-r1`);
    expect(b.position).toBe(`${a.recordedAt}/2/run-r1`);
    // read back from the column, the same nanoseconds
    expect((await store.readAll()).map((e) => e.position)).toEqual([a.position, b.position]);
  });

  it('rejects a cursor it did not produce', async () => {
    const store = createSpannerEventStore(database);
    const error = await store.readAll({ after: '0000000000000003' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidPositionError);
    expect((error as Error).message).toContain('invalid position "0000000000000003"');
  });

  it('records an event id once when two stores race to append it (the emulator aborts one)', async () => {
    const one = createSpannerEventStore(database);
    const two = createSpannerEventStore(database);
    const results = await Promise.all([
      one.append('run-r1', [runRequested('r1')]),
      two.append('run-r1', [runRequested('r1')]),
      one.append('run-r1', [runRequested('r1')]),
    ]);
    expect(results.map((r) => r.results[0].duplicate).sort()).toEqual([false, true, true]);
    expect(new Set(results.map((r) => r.results[0].event.position)).size).toBe(1);
    expect((await one.readAll()).map((e) => e.eventId)).toEqual(['RunRequested:r1']);
  });

  it('serialises racing writers with expected versions: exactly one wins', async () => {
    const store = createSpannerEventStore(database);
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c'].map((x) =>
        store.append('run-r1', [passReady('r1', x.charCodeAt(0))], { expectedVersion: 0 }),
      ),
    );
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(rejected).toHaveLength(2);
    for (const o of rejected) {
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
      expect((o as PromiseRejectedResult).reason).toMatchObject({ expected: 0, actual: 1 });
    }
    expect(await store.streamVersion('run-r1')).toBe(1);
  });

  it('calls onAppended after the commit with the new events only', async () => {
    const seen: string[][] = [];
    const store = createSpannerEventStore(database, {
      onAppended: (events) => seen.push(events.map((e) => e.eventId)),
    });
    await store.append('run-r1', [runRequested('r1')]);
    await store.append('run-r1', [runRequested('r1'), passReady('r1', 0)]);
    await store.append('run-r1', [passReady('r1', 0)]);
    expect(seen).toEqual([['RunRequested:r1'], ['PassReady:r1:0']]);
  });

  it('refuses calls after close()', async () => {
    const store = createSpannerEventStore(database);
    await store.close();
    await expect(store.readAll()).rejects.toThrow('event store is closed: cannot readAll');
  });
});

describe('migrateSpanner', () => {
  const tables = async (database: Database) => {
    const [rows] = await database.run({
      sql: `SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ''
            ORDER BY TABLE_NAME`,
      json: true,
    });
    return (rows as Array<{ TABLE_NAME: string }>).map((r) => r.TABLE_NAME);
  };

  it('applies every file once, in order, and a second run applies nothing', async () => {
    const { database, drop } = await newDatabase(false);
    try {
      expect(await tables(database)).toEqual([]);
      expect(await migrateSpanner(database, DDL_DIR)).toEqual({
        applied: DDL_FILES,
        alreadyApplied: [],
      });
      expect(await tables(database)).toEqual([
        'Events',
        'Outbox',
        'ProjectionCheckpointChunks',
        'ProjectionCheckpoints',
        'ResultVersions',
        'Results',
        'SchemaMigrations',
        'Streams',
      ]);
      expect(await migrateSpanner(database, DDL_DIR)).toEqual({
        applied: [],
        alreadyApplied: DDL_FILES,
      });
      const [rows] = await database.run({
        sql: 'SELECT Name FROM SchemaMigrations ORDER BY Name',
        json: true,
      });
      expect(rows).toEqual(DDL_FILES.map((Name) => ({ Name })));
    } finally {
      await drop();
    }
  });

  it('applies only a new file, and refuses a file edited after it was applied', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-spanner-ddl-'));
    const { database, drop } = await newDatabase(false);
    try {
      for (const f of DDL_FILES) fs.copyFileSync(path.join(DDL_DIR, f), path.join(dir, f));
      await migrateSpanner(database, dir);
      fs.writeFileSync(
        path.join(dir, '004-extra.sql'),
        '-- a later change\nCREATE TABLE Extra (Id INT64 NOT NULL) PRIMARY KEY (Id);\n',
      );
      expect(await migrateSpanner(database, dir)).toEqual({
        applied: ['004-extra.sql'],
        alreadyApplied: DDL_FILES,
      });
      expect(await tables(database)).toContain('Extra');

      fs.appendFileSync(path.join(dir, '002-outbox.sql'), '\n-- edited\n');
      const error = await migrateSpanner(database, dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationChangedError);
      expect(error).toMatchObject({ code: 'migration-changed', file: '002-outbox.sql' });
      expect((error as Error).message).toContain('put the change in a new file');
    } finally {
      await drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a folder without migrations', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-spanner-ddl-'));
    const { database, drop } = await newDatabase(false);
    try {
      const error = await migrateSpanner(database, dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationDirectoryError);
      expect((error as Error).message).toContain(
        `Spanner migrations in "${dir}": no .sql file found`,
      );
    } finally {
      await drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('outbox', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeEach(async () => ({ database, drop } = await newDatabase()));
  afterEach(() => drop());

  /** the outbox's rows: [EventId, published] */
  const outboxRows = async () => {
    const [rows] = await database.run({
      sql: 'SELECT EventId, PublishedAt FROM Outbox ORDER BY EventId',
      json: true,
    });
    return (rows as Array<{ EventId: string; PublishedAt: unknown }>).map((r) => [
      r.EventId,
      r.PublishedAt !== null,
    ]);
  };

  // the bus is not under test here: a recorder of what the relay hands it
  let received: Array<{ topic: string; data: string; attributes: Record<string, string> }>;
  beforeEach(() => (received = []));
  const publish = async (
    topic: string,
    messages: Array<{ data: string; attributes: Record<string, string> }>,
  ) => {
    for (const m of messages) received.push({ topic, ...m });
  };

  it('publishes on the next relay run what was committed but never published, then deletes its rows', async () => {
    const store = createSpannerEventStore(database);
    const r1 = await store.append('run-r1', [runRequested('r1'), passReady('r1', 0)]);
    const r2 = await store.append('run-r2', [runRequested('r2')]);
    await store.append('run-r2', [runRequested('r2')]); // a duplicate: no second outbox row
    // ...the process dies here, before publishing: nothing but the outbox rows remain

    const outbox = createSpannerOutbox(database);
    const pending = await outbox.pending();
    expect(pending.map((m) => [m.eventId, m.topic])).toEqual([
      ['RunRequested:r1', topics.runs],
      ['PassReady:r1:0', topics.passes],
      ['RunRequested:r2', topics.runs],
    ]);
    expect(pending[0]).toEqual({
      eventId: 'RunRequested:r1',
      streamId: 'run-r1',
      seq: 1,
      topic: topics.runs,
      data: JSON.stringify(envelopeOf(r1.results[0].event)),
      attributes: {
        type: 'RunRequested',
        eventId: 'RunRequested:r1',
        correlationId: 'r1',
        traceId: 'trace-r1',
        traceparent: TRACEPARENT,
      },
      createdAt: r1.results[0].event.recordedAt,
    });
    expect(await outbox.pending(1)).toEqual([pending[0]]);
    // what /metrics reads: a count bounded by its limit
    expect(await outbox.countPending(1000)).toBe(3);
    expect(await outbox.countPending(2)).toBe(2);

    // the next relay run (a restarted process) publishes them, in log order per topic
    expect(await relayOutbox(createSpannerOutbox(database), publish, { batchSize: 2 })).toBe(3);
    expect(received.map((m) => [m.topic, m.attributes.eventId])).toEqual([
      [topics.runs, 'RunRequested:r1'],
      [topics.passes, 'PassReady:r1:0'],
      [topics.runs, 'RunRequested:r2'],
    ]);
    expect(received.map((m) => JSON.parse(m.data))).toEqual([
      envelopeOf(r1.results[0].event),
      envelopeOf(r1.results[1].event),
      envelopeOf(r2.results[0].event),
    ]);

    // published rows are deleted: the outbox holds only what is still to publish
    expect(await outboxRows()).toEqual([]);
    expect(await outbox.pending()).toEqual([]);
    expect(await outbox.countPending(1000)).toBe(0);
    // nothing left to publish, and marking again changes nothing
    expect(await relayOutbox(outbox, publish)).toBe(0);
    expect(await outbox.markPublished(['RunRequested:r1'])).toBe(0);
    expect(received).toHaveLength(3);
  });

  it('deletes the rows of the messages marked published and never another one', async () => {
    const store = createSpannerEventStore(database);
    await store.append('run-r1', [runRequested('r1'), passReady('r1', 0)]);
    await store.append('run-r2', [runRequested('r2')]);
    const outbox = createSpannerOutbox(database);

    // what EventPublisher does after publishing an append's events
    expect(await outbox.markPublished(['PassReady:r1:0', 'RunRequested:nope'])).toBe(1);
    expect(await outboxRows()).toEqual([
      ['RunRequested:r1', false],
      ['RunRequested:r2', false],
    ]);
    expect((await outbox.pending()).map((m) => m.eventId)).toEqual([
      'RunRequested:r1',
      'RunRequested:r2',
    ]);
  });

  it('prunes the rows an older version marked published (it kept them), never a pending row', async () => {
    const store = createSpannerEventStore(database);
    await store.append('run-r1', [runRequested('r1'), passReady('r1', 0)]);
    await store.append('run-r2', [runRequested('r2')]);
    // the previous markPublished, still run by processes of the previous release mid-deploy
    await database.runTransactionAsync(async (tx) => {
      await tx.runUpdate({
        sql: `UPDATE Outbox SET PublishedAt = PENDING_COMMIT_TIMESTAMP()
              WHERE EventId IN UNNEST(@ids)`,
        params: { ids: ['RunRequested:r1', 'PassReady:r1:0'] },
        types: { ids: { type: 'array', child: 'string' } },
      });
      await tx.commit();
    });
    const outbox = createSpannerOutbox(database);
    const unavailable = async () => {
      throw new Error('pubsub unavailable');
    };

    // the relay prunes before it publishes: even a pass whose publish fails leaves only the pending row
    await expect(relayOutbox(outbox, unavailable)).rejects.toThrow('pubsub unavailable');
    expect(await outboxRows()).toEqual([['RunRequested:r2', false]]);
    expect(await outbox.prunePublished()).toBe(0);
    expect(await outboxRows()).toEqual([['RunRequested:r2', false]]);

    expect(await relayOutbox(outbox, publish)).toBe(1);
    expect(received.map((m) => m.attributes.eventId)).toEqual(['RunRequested:r2']);
    expect(await outboxRows()).toEqual([]);
  });

  it('publishes again what a crash left between the publish and the mark, then deletes it', async () => {
    const store = createSpannerEventStore(database);
    await store.append('run-r1', [runRequested('r1')]);
    const outbox = createSpannerOutbox(database);
    const crashing = {
      ...outbox,
      markPublished: async () => {
        throw new Error('process killed');
      },
    };
    await expect(relayOutbox(crashing, publish)).rejects.toThrow('process killed');
    expect(await outboxRows()).toEqual([['RunRequested:r1', false]]);

    // at least once: the next relay publishes it a second time (consumers drop it by event id)
    expect(await relayOutbox(outbox, publish)).toBe(1);
    expect(received.map((m) => m.attributes.eventId)).toEqual([
      'RunRequested:r1',
      'RunRequested:r1',
    ]);
    expect(await outboxRows()).toEqual([]);
  });

  it('empties the outbox when two relays run at once (each message published at least once)', async () => {
    const store = createSpannerEventStore(database);
    for (let i = 1; i <= 6; i++) await store.append(`run-r${i}`, [runRequested(`r${i}`)]);
    await Promise.all([
      relayOutbox(createSpannerOutbox(database), publish, { batchSize: 2 }),
      relayOutbox(createSpannerOutbox(database), publish, { batchSize: 2 }),
    ]);
    expect(new Set(received.map((m) => m.attributes.eventId))).toEqual(
      new Set([1, 2, 3, 4, 5, 6].map((i) => `RunRequested:r${i}`)),
    );
    expect(await outboxRows()).toEqual([]);
  });

  it('keeps the messages of a failed publish pending for the next run', async () => {
    const store = createSpannerEventStore(database);
    await store.append('run-r1', [runRequested('r1'), passReady('r1', 0)]);
    const outbox = createSpannerOutbox(database);
    const sent: string[] = [];
    const failing = async (topic: string) => {
      if (topic === topics.passes) throw new Error('pubsub unavailable');
      sent.push(topic);
    };
    await expect(relayOutbox(outbox, failing)).rejects.toThrow('pubsub unavailable');
    expect(sent).toEqual([topics.runs]);
    expect((await outbox.pending()).map((m) => m.eventId)).toEqual(['PassReady:r1:0']);

    // the published row is gone, the unpublished one is still there
    expect(await outboxRows()).toEqual([['PassReady:r1:0', false]]);

    const ok = async (topic: string) => void sent.push(topic);
    expect(await relayOutbox(outbox, ok)).toBe(1);
    expect(sent).toEqual([topics.runs, topics.passes]);
    expect(await outbox.pending()).toEqual([]);
    expect(await outboxRows()).toEqual([]);
  });
});
