import type { Database, Transaction } from '@google-cloud/spanner';
import {
  type Checkpoint,
  CheckpointCorruptError,
  type CheckpointStore,
} from '@almanac/domain/projections';
import { parseViews, serialiseViews } from './checkpoint-codec';
import {
  CheckpointNotSerializableError,
  CheckpointStoreClosedError,
  CheckpointStoreError,
} from './checkpoint-store.errors';

// `Spanner.COMMIT_TIMESTAMP`, spelled out so that loading this module does not load the client.
const COMMIT_TIMESTAMP = 'spanner.commit_timestamp()';
/** gRPC codes worth retrying: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, UNAVAILABLE */
const RETRYABLE_CODES = new Set([4, 8, 10, 14]);
const ABORTED = 10;
const HEADERS = 'ProjectionCheckpoints';
const CHUNKS = 'ProjectionCheckpointChunks';

/** Bytes of views JSON per chunk row: well under Spanner's 10 MiB cell limit. */
export const DEFAULT_CHECKPOINT_CHUNK_BYTES = 1024 * 1024;

export interface SpannerCheckpointStoreOptions {
  /** UTF-8 bytes of views JSON per chunk row (default 1 MiB; at least 4, one character) */
  maxChunkBytes?: number;
}

interface CheckpointRecord {
  Position: string | null;
  Fingerprint: string;
  Chunks: number;
  SavedAt: { toISOString(): string };
  Chunk: number | null;
  Data: string | null;
}

/** `text` cut into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const pieces: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length);
    // back up to the first byte of the character that straddles the cut (10xxxxxx: continuation)
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    pieces.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return pieces;
}

function wrap(operation: string, group: string, e: unknown): unknown {
  if (
    e instanceof CheckpointNotSerializableError ||
    e instanceof CheckpointCorruptError ||
    e instanceof CheckpointStoreClosedError
  )
    return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'number') return e;
  return new CheckpointStoreError(operation, group, RETRYABLE_CODES.has(code), e);
}

/** Reassembles the views of one group's rows (header joined with its chunks, chunk order). */
function toCheckpoint(group: string, rows: CheckpointRecord[]): Checkpoint {
  const header = rows[0];
  const chunks = rows.filter((r) => r.Chunk !== null);
  if (chunks.length !== header.Chunks || chunks.some((r, i) => Number(r.Chunk) !== i))
    throw new CheckpointCorruptError(
      group,
      `expected chunks 0..${header.Chunks - 1}, found [${chunks.map((r) => r.Chunk).join(', ')}]`,
    );
  return {
    position: header.Position,
    views: parseViews(group, chunks.map((r) => r.Data ?? '').join('')),
    fingerprint: header.Fingerprint,
    savedAt: header.SavedAt.toISOString(),
  };
}

/**
 * Checkpoints of the gcp profile (DDL: infra/spanner/005-projection-checkpoints.sql). A group's
 * views JSON can outgrow a Spanner cell (10 MiB), so it is stored as numbered chunks under a
 * header row; a save replaces the header and every chunk in one read-write transaction, and a
 * load reads them in one strong query, so a load never mixes two saves.
 * close() does not close `database`: the caller that opened it owns it.
 */
export function createSpannerCheckpointStore(
  database: Database,
  opts: SpannerCheckpointStoreOptions = {},
): CheckpointStore {
  const maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_CHECKPOINT_CHUNK_BYTES;
  if (!Number.isInteger(maxChunkBytes) || maxChunkBytes < 4)
    throw new RangeError(`maxChunkBytes must be an integer >= 4, got ${maxChunkBytes}`);
  let closed = false;

  async function call<T>(operation: string, group: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new CheckpointStoreClosedError(operation);
    try {
      return await fn();
    } catch (e) {
      throw wrap(operation, group, e);
    }
  }

  /** One read-write transaction; rolled back on failure (the emulator runs one at a time). */
  const write = (fn: (tx: Transaction) => Promise<void>) =>
    database.runTransactionAsync(async (tx: Transaction) => {
      try {
        await fn(tx);
      } catch (e) {
        // the runner retries ABORTED itself
        if ((e as { code?: unknown }).code !== ABORTED) await tx.rollback().catch(() => undefined);
        throw e;
      }
    });

  return {
    load: (group) =>
      call('load', group, async () => {
        const [rows] = await database.run({
          sql: `SELECT h.Position, h.Fingerprint, h.Chunks, h.SavedAt, c.Chunk, c.Data
                FROM ${HEADERS} AS h
                LEFT JOIN ${CHUNKS} AS c ON c.GroupName = h.GroupName
                WHERE h.GroupName = @group
                ORDER BY c.Chunk`,
          params: { group },
          types: { group: 'string' },
          json: true,
        });
        const records = rows as unknown as CheckpointRecord[];
        return records.length === 0 ? null : toCheckpoint(group, records);
      }),

    save: (group, c) =>
      call('save', group, async () => {
        // serialised and cut before the transaction: a retried transaction only writes
        const chunks = splitUtf8(serialiseViews(group, c.views), maxChunkBytes);
        await write(async (tx) => {
          const [found] = await tx.read(HEADERS, {
            keys: [group],
            columns: ['Chunks'],
            json: true,
          });
          const previous = (found[0] as unknown as { Chunks: number } | undefined)?.Chunks ?? 0;
          tx.upsert(HEADERS, {
            GroupName: group,
            Position: c.position,
            Fingerprint: c.fingerprint,
            Chunks: chunks.length,
            SavedAt: COMMIT_TIMESTAMP,
          });
          tx.replace(
            CHUNKS,
            chunks.map((Data, Chunk) => ({ GroupName: group, Chunk, Data })),
          );
          const stale: Array<[string, number]> = [];
          for (let i = chunks.length; i < previous; i++) stale.push([group, i]);
          if (stale.length > 0) tx.deleteRows(CHUNKS, stale);
          await tx.commit();
        });
      }),

    clear: (group) =>
      call('clear', group, async () => {
        // the chunks go with their header (ON DELETE CASCADE)
        await write(async (tx) => {
          tx.deleteRows(HEADERS, [group]);
          await tx.commit();
        });
      }),

    async close() {
      closed = true;
    },
  };
}
