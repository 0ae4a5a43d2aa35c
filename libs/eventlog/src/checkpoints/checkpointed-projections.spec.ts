import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { CheckpointedProjections } from '@almanac/domain/projections';
import { createSqliteEventStore } from '../sqlite-event-store';
import {
  appendEach,
  checkpointedProjectionsScenarios,
  expectLateCommitApplied,
  CountingCheckpoints,
  CountingLog,
  fullFold,
  projections,
  runEvents,
  runRequested,
  type Views,
} from './checkpointed-projections.scenarios';
import { createSqliteCheckpointStore } from './sqlite-checkpoint-store';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-projections-'));

// the log and the checkpoints in one file, each with its own connection
checkpointedProjectionsScenarios('sqlite, one shared file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'almanac.db');
  const store = createSqliteEventStore(file);
  const checkpoints = createSqliteCheckpointStore(file);
  return {
    store,
    checkpoints,
    cleanup: async () => {
      await checkpoints.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('CheckpointedProjections over SQLite: a late commit', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('given a writer holding the write lock with an event stamped before everything projected, when it commits after the checkpoint, then the next catch-up and a runner restarted from that checkpoint apply it', async () => {
    const eventsFile = path.join(dir, 'events.db');
    const store = createSqliteEventStore(eventsFile);
    // A separate file: the slow writer holds the log's write lock while the runner saves.
    const checkpoints = createSqliteCheckpointStore(path.join(dir, 'checkpoints.db'));
    const slow = new Database(eventsFile);
    try {
      // the slow writer read its clock before any of the events below were appended
      const stampedAt = new Date().toISOString();
      await appendEach(store, runEvents('r1', 10));
      const projected = await store.readAll();

      // given: a transaction of another connection, begun and holding an event stamped earlier
      slow.pragma('busy_timeout = 5000');
      slow.exec('BEGIN IMMEDIATE');
      const late = runRequested('r0', 0);
      slow
        .prepare(
          `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version,
             occurred_at, correlation_id, causation_id, producer, payload, metadata, recorded_at)
           VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          late.streamId,
          late.eventId,
          late.type,
          late.schemaVersion,
          late.occurredAt,
          late.correlationId,
          late.causationId,
          late.producer,
          JSON.stringify(late.payload),
          JSON.stringify(late.metadata),
          stampedAt,
        );

      // when: the runner catches up and checkpoints while that transaction is open
      const runner = new CheckpointedProjections<Views>(store, projections, checkpoints);
      await runner.catchUp();
      const lastProjected = projected.at(-1)!.position;
      expect((await checkpoints.load('views'))!.position).toBe(lastProjected);
      expect(runner.views.runs.r0).toBeUndefined();

      // then the writer commits: its event is stamped before everything projected...
      slow.exec('COMMIT');
      const lateStored = (await store.readAll()).at(-1)!;
      expect(lateStored.eventId).toBe(late.eventId);
      for (const e of projected) {
        expect(lateStored.occurredAt < e.occurredAt).toBe(true);
        expect(lateStored.recordedAt < e.recordedAt).toBe(true);
      }
      // ...yet sorts after the checkpoint, so both the live runner and a restarted one apply it
      await expectLateCommitApplied(store, runner, checkpoints);
    } finally {
      if (slow.inTransaction) slow.exec('ROLLBACK');
      slow.close();
      await checkpoints.close();
      await store.close();
    }
  });
});

describe('CheckpointedProjections: minSaveIntervalMs (a server catching up on every request)', () => {
  it('given a recent save, when later catch-ups apply events, then they do not save until flush(), and a restart from the flushed checkpoint reads nothing again', async () => {
    const dir = tempDir();
    const store = createSqliteEventStore(path.join(dir, 'events.db'));
    const checkpoints = new CountingCheckpoints(
      createSqliteCheckpointStore(path.join(dir, 'checkpoints.db')),
    );
    try {
      const live = new CheckpointedProjections<Views>(store, projections, checkpoints, {
        minSaveIntervalMs: 60_000,
      });
      await appendEach(store, runEvents('r1', 1));
      await live.catchUp();
      expect(checkpoints.saves).toBe(1);

      await appendEach(store, runEvents('r2', 2));
      await live.catchUp();
      await appendEach(store, runEvents('r3', 3));
      await live.catchUp();
      expect(checkpoints.saves).toBe(1);
      expect(Object.keys(live.views.runs).sort()).toEqual(['r1', 'r2', 'r3']);

      await live.flush();
      expect(checkpoints.saves).toBe(2);
      const counting = new CountingLog(store);
      const restarted = new CheckpointedProjections<Views>(counting, projections, checkpoints);
      await restarted.catchUp();
      expect(counting.events).toBe(0);
      expect(restarted.views).toEqual(await fullFold(store));
    } finally {
      await checkpoints.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
