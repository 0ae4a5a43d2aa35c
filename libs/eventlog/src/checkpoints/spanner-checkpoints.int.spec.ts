import type { Database, Instance } from '@google-cloud/spanner';
import { CheckpointCorruptError, CheckpointedProjections } from '@almanac/domain/projections';
import { startSpannerTestInstance, type SpannerTestInstance } from '@almanac/emulators';
import { createSpannerEventStore } from '../spanner/spanner-event-store';
import { migrateSpanner, SPANNER_DDL_DIR } from '../spanner/spanner-migrations';
import { checkpointStoreConformance } from './checkpoint-store.conformance';
import {
  appendEach,
  checkpointedProjectionsScenarios,
  expectLateCommitApplied,
  CountingLog,
  fullFold,
  projections,
  runEvents,
  runRequested,
  type Views,
} from './checkpointed-projections.scenarios';
import { createSpannerCheckpointStore, splitUtf8 } from './spanner-checkpoint-store';

let emulator: SpannerTestInstance | undefined;
let instance: Instance;
let databases = 0;

beforeAll(async () => {
  emulator = await startSpannerTestInstance('checkpoints');
  ({ instance } = emulator);
});

afterAll(async () => {
  await emulator?.stop();
});

/** An empty database with every migration of infra/spanner applied. */
async function newDatabase(): Promise<{ database: Database; drop: () => Promise<void> }> {
  const [database, op] = await instance.createDatabase(`db-${++databases}`);
  await op.promise();
  await migrateSpanner(database, SPANNER_DDL_DIR);
  return { database, drop: async () => void (await database.delete()) };
}

async function chunkRows(database: Database, group: string) {
  const [rows] = await database.run({
    sql: `SELECT Chunk, Data FROM ProjectionCheckpointChunks WHERE GroupName = @group
          ORDER BY Chunk`,
    params: { group },
    json: true,
  });
  return rows as unknown as Array<{ Chunk: number; Data: string }>;
}

checkpointStoreConformance('spanner emulator', async () => {
  const { database, drop } = await newDatabase();
  const store = createSpannerCheckpointStore(database);
  return {
    store,
    reopen: async () => createSpannerCheckpointStore(database),
    cleanup: async () => {
      await store.close();
      await drop();
    },
  };
});

describe('Spanner checkpoint store: chunks', () => {
  let database: Database;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ database, drop } = await newDatabase());
  });
  afterEach(async () => {
    await drop();
  });

  it('cuts the views JSON into chunks of at most 1 MiB, never inside a character', async () => {
    const store = createSpannerCheckpointStore(database);
    const views = { blob: 'é'.repeat(2_000_000) }; // 4 MB of UTF-8, two bytes a character
    await store.save('api', { position: 'p', fingerprint: 'f', views });

    const rows = await chunkRows(database, 'api');
    expect(rows.map((r) => r.Chunk)).toEqual([0, 1, 2, 3]);
    for (const r of rows) expect(Buffer.byteLength(r.Data, 'utf8')).toBeLessThanOrEqual(1 << 20);
    expect((await store.load('api'))!.views).toEqual(views);
  });

  it('given small chunks, a smaller save deletes the chunks it no longer needs and clear removes them all', async () => {
    const store = createSpannerCheckpointStore(database, { maxChunkBytes: 7 });
    const views = { text: 'aé😀—ü'.repeat(10) };
    await store.save('api', { position: 'p1', fingerprint: 'f', views });
    const rows = await chunkRows(database, 'api');
    expect(rows.map((r) => r.Data)).toEqual(splitUtf8(JSON.stringify(views), 7));
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.map((r) => r.Data).join('')).toBe(JSON.stringify(views));
    expect((await store.load('api'))!.views).toEqual(views);

    await store.save('api', { position: 'p2', fingerprint: 'f', views: { t: 'ü' } });
    // '{"t":"' is 6 bytes and ü 2: the cut goes before the ü, not through it
    expect((await chunkRows(database, 'api')).map((r) => r.Data)).toEqual(['{"t":"', 'ü"}']);
    expect((await store.load('api'))!.views).toEqual({ t: 'ü' });

    await store.clear('api');
    expect(await chunkRows(database, 'api')).toEqual([]);
  });

  it('given a chunk lost, load says the checkpoint is corrupt and projections fold the log again', async () => {
    const store = createSpannerCheckpointStore(database, { maxChunkBytes: 64 });
    const events = createSpannerEventStore(database);
    await appendEach(events, runEvents('r1', 0));
    await new CheckpointedProjections<Views>(events, projections, store).catchUp();
    const rows = await chunkRows(database, 'views');
    expect(rows.length).toBeGreaterThan(2);
    await database.table('ProjectionCheckpointChunks').deleteRows([['views', 1]]);

    await expect(store.load('views')).rejects.toBeInstanceOf(CheckpointCorruptError);
    const log = new CountingLog(events);
    const recovered = new CheckpointedProjections<Views>(log, projections, store);
    await recovered.catchUp();
    expect(log.events).toBe(7);
    expect(recovered.views).toEqual(await fullFold(events));
    expect((await store.load('views'))!.position).toBe(recovered.position);
  });
});

checkpointedProjectionsScenarios('spanner emulator', async () => {
  const { database, drop } = await newDatabase();
  const store = createSpannerEventStore(database);
  const checkpoints = createSpannerCheckpointStore(database);
  return {
    store,
    checkpoints,
    cleanup: async () => {
      await checkpoints.close();
      await store.close();
      await drop();
    },
  };
});

describe('CheckpointedProjections over Spanner: a late commit', () => {
  it('given a read-write transaction holding an event stamped before everything projected, when it commits after the checkpoint, then the next catch-up and a runner restarted from that checkpoint apply it', async () => {
    const { database, drop } = await newDatabase();
    const store = createSpannerEventStore(database);
    const checkpoints = createSpannerCheckpointStore(database);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    try {
      await appendEach(store, runEvents('r1', 10));
      const projected = await store.readAll();

      // given: a transaction with the late event buffered, waiting to commit. It only buffers
      // mutations: the emulator runs one read-write transaction at a time, so a read here would
      // make the runner's checkpoint save wait for this commit.
      const late = runRequested('r0', 0);
      let buffered!: () => void;
      const isBuffered = new Promise<void>((resolve) => (buffered = resolve));
      const writer = database.runTransactionAsync(async (tx) => {
        tx.upsert('Streams', { StreamId: late.streamId, Version: 1 });
        tx.insert('Events', {
          StreamId: late.streamId,
          Seq: 1,
          EventId: late.eventId,
          Type: late.type,
          SchemaVersion: late.schemaVersion,
          Envelope: JSON.stringify(late),
          RecordedAt: 'spanner.commit_timestamp()',
        });
        buffered();
        await released;
        await tx.commit();
      });
      await isBuffered;

      // when: the runner catches up and checkpoints while it is open
      const runner = new CheckpointedProjections<Views>(store, projections, checkpoints);
      await runner.catchUp();
      expect((await checkpoints.load('views'))!.position).toBe(projected.at(-1)!.position);
      expect(runner.views.runs.r0).toBeUndefined();

      // then it commits: stamped before everything projected, it still sorts after the checkpoint
      release();
      await writer;
      const lateStored = (await store.readAll()).at(-1)!;
      expect(lateStored.eventId).toBe(late.eventId);
      for (const e of projected) expect(lateStored.occurredAt < e.occurredAt).toBe(true);

      await expectLateCommitApplied(store, runner, checkpoints);
    } finally {
      release();
      await checkpoints.close();
      await store.close();
      await drop();
    }
  });
});
