import Database from 'better-sqlite3';
import type { Checkpoint, CheckpointStore } from '@almanac/domain/projections';
import { parseViews, serialiseViews } from './checkpoint-codec';
import {
  CheckpointNotSerializableError,
  CheckpointStoreClosedError,
  CheckpointStoreError,
} from './checkpoint-store.errors';

// One row per group: a single-row upsert is atomic, so a reader sees the old or the new one.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  group_name  TEXT PRIMARY KEY,
  position    TEXT,
  fingerprint TEXT NOT NULL,
  views       TEXT NOT NULL,
  saved_at    TEXT NOT NULL
);
`;

interface CheckpointRow {
  position: string | null;
  fingerprint: string;
  views: string;
  saved_at: string;
}

const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

function wrap(operation: string, group: string, e: unknown): unknown {
  if (e instanceof CheckpointNotSerializableError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE')) return e;
  return new CheckpointStoreError(operation, group, RETRYABLE.has(code), e);
}

/**
 * Checkpoints of the embedded profile, in table `projection_checkpoints` of a SQLite file (WAL).
 * The file may be the event log's: this store opens its own connection. A separate file keeps a
 * large save from holding the log's single write lock while appends wait.
 */
export function createSqliteCheckpointStore(path: string): CheckpointStore {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);

  const select = db.prepare<[string], CheckpointRow>(
    `SELECT position, fingerprint, views, saved_at FROM projection_checkpoints
     WHERE group_name = ?`,
  );
  const upsert = db.prepare<[string, string | null, string, string, string]>(
    `INSERT INTO projection_checkpoints (group_name, position, fingerprint, views, saved_at)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (group_name) DO UPDATE SET position = excluded.position,
       fingerprint = excluded.fingerprint, views = excluded.views, saved_at = excluded.saved_at`,
  );
  const remove = db.prepare<[string]>('DELETE FROM projection_checkpoints WHERE group_name = ?');
  const saveTx = db.transaction((args: [string, string | null, string, string, string]) => {
    upsert.run(...args);
  });

  let closed = false;
  function call<T>(operation: string, group: string, fn: () => T): Promise<T> {
    if (closed) return Promise.reject(new CheckpointStoreClosedError(operation));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(wrap(operation, group, e));
    }
  }

  return {
    load: (group) =>
      call('load', group, (): Checkpoint | null => {
        const row = select.get(group);
        if (!row) return null;
        return {
          position: row.position,
          views: parseViews(group, row.views),
          fingerprint: row.fingerprint,
          savedAt: row.saved_at,
        };
      }),
    save: (group, c) =>
      call('save', group, () => {
        const views = serialiseViews(group, c.views);
        saveTx.immediate([group, c.position, c.fingerprint, views, new Date().toISOString()]);
      }),
    clear: (group) =>
      call('clear', group, () => {
        remove.run(group);
      }),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
