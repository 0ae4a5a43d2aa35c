import Database from 'better-sqlite3';
import {
  type Envelope,
  type EventSchemas,
  eventSchemas,
  InvalidEventError,
  type RawEnvelope,
} from '@almanac/contracts';
import {
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type StoredEvent,
  WrongExpectedVersionError,
} from './event-store.port';
import {
  EventStoreClosedError,
  InvalidLimitError,
  InvalidPositionError,
  ReadOnlyEventStoreError,
} from './event-store.errors';
import { streamIdRange } from './stream-prefix';

/** Width of a position: fixed so that positions also sort correctly as strings. */
const POSITION_WIDTH = 16;
const POSITION_PATTERN = /^\d{1,16}$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position       INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id      TEXT    NOT NULL,
  stream_version INTEGER NOT NULL,
  event_id       TEXT    NOT NULL UNIQUE,
  type           TEXT    NOT NULL,
  schema_version INTEGER NOT NULL,
  occurred_at    TEXT    NOT NULL,
  correlation_id TEXT    NOT NULL,
  causation_id   TEXT,
  producer       TEXT    NOT NULL,
  payload        TEXT    NOT NULL CHECK (json_valid(payload)),
  metadata       TEXT    NOT NULL CHECK (json_valid(metadata)),
  recorded_at    TEXT    NOT NULL,
  UNIQUE (stream_id, stream_version)
);
-- Invariant 4 (append-only) is enforced by the database, not only by this adapter.
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed'); END;
`;

interface EventRow {
  position: number;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  occurred_at: string;
  correlation_id: string;
  causation_id: string | null;
  producer: string;
  payload: string;
  metadata: string;
  recorded_at: string;
}

/**
 * readStreamsByPrefix: a range on stream_id, so that SQLite searches the UNIQUE (stream_id,
 * stream_version) index instead of scanning the log (checked by EXPLAIN QUERY PLAN in the spec),
 * then sorts the matches by position. Exported for that check.
 */
export const STREAMS_IN_RANGE_SQL =
  'SELECT * FROM events WHERE stream_id >= ? AND stream_id < ? AND position > ? ORDER BY position LIMIT ?';
/** a prefix made only of U+10FFFF has no upper bound (see streamIdRange) */
const STREAMS_FROM_SQL =
  'SELECT * FROM events WHERE stream_id >= ? AND position > ? ORDER BY position LIMIT ?';

const formatPosition = (position: number) => String(position).padStart(POSITION_WIDTH, '0');

/** A row as readers see it: an older schema version is upcast in memory (ADR 0011). */
function toStoredEvent(schemas: EventSchemas, row: EventRow): StoredEvent {
  const stored: RawEnvelope = {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    occurredAt: row.occurred_at,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    producer: row.producer,
    payload: JSON.parse(row.payload),
    metadata: JSON.parse(row.metadata),
  };
  return {
    ...schemas.fromLog(stored),
    streamVersion: row.stream_version,
    position: formatPosition(row.position),
    recordedAt: row.recorded_at,
  } as StoredEvent;
}

function validate(schemas: EventSchemas, streamId: string, events: Envelope[]): Envelope[] {
  return events.map((input) => {
    const event = schemas.parse(input);
    if (event.streamId !== streamId) {
      throw new InvalidEventError(
        `event "${event.eventId}" has streamId "${event.streamId}" but was appended to stream "${streamId}"`,
        [],
      );
    }
    return event;
  });
}

function parsePosition(after: string): number {
  if (!POSITION_PATTERN.test(after)) throw new InvalidPositionError(after);
  return Number(after);
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return -1; // SQLite: no limit
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidLimitError(limit);
  return limit;
}

function open(path: string, readonly: boolean): Database.Database {
  const db = new Database(path, { readonly, fileMustExist: readonly });
  // Several processes (services of the embedded profile) share one file: wait for the writer.
  db.pragma('busy_timeout = 5000');
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: durable across process crashes; only an OS crash can lose the last commits.
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
  }
  return db;
}

function buildStore(
  db: Database.Database,
  path: string,
  readonly: boolean,
  schemas: EventSchemas,
): EventStore {
  let closed = false;
  const toStored = (row: EventRow) => toStoredEvent(schemas, row);
  const guard = (operation: string) => {
    if (closed) throw new EventStoreClosedError(operation);
  };

  const byEventId = db.prepare<[string], EventRow>('SELECT * FROM events WHERE event_id = ?');
  const versionOf = db.prepare<[string], { v: number }>(
    'SELECT COALESCE(MAX(stream_version), 0) AS v FROM events WHERE stream_id = ?',
  );
  const streamFrom = db.prepare<[string, number], EventRow>(
    'SELECT * FROM events WHERE stream_id = ? AND stream_version >= ? ORDER BY stream_version',
  );
  const allAfter = db.prepare<[number, number], EventRow>(
    'SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?',
  );
  const streamsInRange = db.prepare<[string, string, number, number], EventRow>(
    STREAMS_IN_RANGE_SQL,
  );
  const streamsFrom = db.prepare<[string, number, number], EventRow>(STREAMS_FROM_SQL);
  const insert = readonly
    ? undefined
    : db.prepare(
        `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, occurred_at,
           correlation_id, causation_id, producer, payload, metadata, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );

  const currentVersion = (streamId: string) => versionOf.get(streamId)!.v;

  const appendTx = db.transaction(
    (streamId: string, events: Envelope[], expectedVersion: ExpectedVersion): AppendResult => {
      // First find the duplicates (in the log, or repeated inside this call), then check the
      // version: a call made only of duplicates is a retry and must succeed whatever it expected.
      const seen = new Map<string, number>();
      const plan = events.map((event, index) => {
        const stored = byEventId.get(event.eventId);
        if (stored) return { event, stored: toStored(stored) };
        const first = seen.get(event.eventId);
        if (first !== undefined) return { event, sameAs: first };
        seen.set(event.eventId, index);
        return { event };
      });
      let version = currentVersion(streamId);
      if (seen.size > 0 && typeof expectedVersion === 'number' && expectedVersion !== version) {
        throw new WrongExpectedVersionError(streamId, expectedVersion, version);
      }
      const recordedAt = new Date().toISOString();
      const results: AppendResult['results'] = [];
      for (const step of plan) {
        if ('stored' in step && step.stored) {
          results.push({ event: step.stored, duplicate: true });
          continue;
        }
        if ('sameAs' in step && step.sameAs !== undefined) {
          results.push({ event: results[step.sameAs].event, duplicate: true });
          continue;
        }
        const e = step.event;
        version += 1;
        const payload = JSON.stringify(e.payload);
        const metadata = JSON.stringify(e.metadata ?? {});
        const info = insert!.run(
          streamId,
          version,
          e.eventId,
          e.type,
          e.schemaVersion,
          e.occurredAt,
          e.correlationId,
          e.causationId,
          e.producer,
          payload,
          metadata,
          recordedAt,
        );
        results.push({
          event: toStored({
            position: Number(info.lastInsertRowid),
            stream_id: streamId,
            stream_version: version,
            event_id: e.eventId,
            type: e.type,
            schema_version: e.schemaVersion,
            occurred_at: e.occurredAt,
            correlation_id: e.correlationId,
            causation_id: e.causationId,
            producer: e.producer,
            payload,
            metadata,
            recorded_at: recordedAt,
          }),
          duplicate: false,
        });
      }
      return { streamVersion: version, results };
    },
  );

  return {
    async append(streamId, events, opts) {
      guard('append');
      if (readonly) throw new ReadOnlyEventStoreError(path);
      // Validate everything before the transaction: bad input never reaches the log.
      const valid = validate(schemas, streamId, events);
      // IMMEDIATE takes the write lock before reading the version, so another process cannot
      // slip an event in between the check and the insert.
      return appendTx.immediate(streamId, valid, opts?.expectedVersion ?? 'any');
    },
    async readStream(streamId, opts) {
      guard('readStream');
      return streamFrom.all(streamId, opts?.fromVersion ?? 1).map(toStored);
    },
    async readAll(opts) {
      guard('readAll');
      const after = opts?.after === undefined ? 0 : parsePosition(opts.after);
      return allAfter.all(after, checkLimit(opts?.limit)).map(toStored);
    },
    async readStreamsByPrefix(prefix, opts) {
      guard('readStreamsByPrefix');
      const { lo, hi } = streamIdRange(prefix);
      const limit = checkLimit(opts?.limit);
      const after = opts?.after === undefined ? 0 : parsePosition(opts.after);
      const rows =
        hi === undefined
          ? streamsFrom.all(lo, after, limit)
          : streamsInRange.all(lo, hi, after, limit);
      return rows.map(toStored);
    },
    async streamVersion(streamId) {
      guard('streamVersion');
      return currentVersion(streamId);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

interface SqliteEventStoreOptions {
  /** how envelopes are validated and older versions upcast (default: the contracts' own) */
  schemas?: EventSchemas;
}

/** The embedded profile's event log: one SQLite file (or ':memory:'), WAL, append-only. */
export function createSqliteEventStore(
  path: string | ':memory:',
  opts: SqliteEventStoreOptions = {},
): EventStore {
  return buildStore(open(path, false), path, false, opts.schemas ?? eventSchemas);
}

/**
 * Reads an existing log without taking write locks (e.g. `status`, `explain` while a run is
 * going on). append() throws ReadOnlyEventStoreError.
 */
export function openSqliteEventStoreReadOnly(
  path: string,
  opts: SqliteEventStoreOptions = {},
): EventStore {
  return buildStore(open(path, true), path, true, opts.schemas ?? eventSchemas);
}
