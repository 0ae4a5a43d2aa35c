import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeEvent } from '@almanac/contracts';
import { createSqliteEventStore } from '../sqlite-event-store';
import { checkpointStoreConformance } from './checkpoint-store.conformance';
import { createSqliteCheckpointStore } from './sqlite-checkpoint-store';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-checkpoints-'));

checkpointStoreConformance('sqlite file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'checkpoints.db');
  const store = createSqliteCheckpointStore(file);
  return {
    store,
    reopen: async () => createSqliteCheckpointStore(file),
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite checkpoint store', () => {
  it('given the event log file, when checkpoints share it, then both keep their own tables', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'almanac.db');
    const events = createSqliteEventStore(file);
    const checkpoints = createSqliteCheckpointStore(file);
    try {
      await events.append('run-r1', [
        makeEvent({
          type: 'RunRequested',
          eventId: 'RunRequested:r1',
          streamId: 'run-r1',
          correlationId: 'r1',
          causationId: null,
          producer: 'test',
          occurredAt: '2026-01-15T02:00:00.000Z',
          payload: { runId: 'r1', date: '2026-01-15' },
        }),
      ]);
      const [stored] = await events.readAll();
      await checkpoints.save('api', {
        position: stored.position,
        fingerprint: 'fp',
        views: { runs: { r1: { status: 'requested' } } },
      });

      expect(await checkpoints.load('api')).toMatchObject({ position: stored.position });
      expect((await events.readAll()).map((e) => e.eventId)).toEqual(['RunRequested:r1']);
    } finally {
      await checkpoints.close();
      await events.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
