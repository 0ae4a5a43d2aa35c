import type { Database, Transaction } from '@google-cloud/spanner';
import {
  type Envelope,
  type EventSchemas,
  eventSchemas,
  InvalidEventError,
  messageAttributes,
  type RawEnvelope,
  topicFor,
} from '@almanac/contracts';
import {
  type AppendResult,
  type EventStore,
  type StoredEvent,
  WrongExpectedVersionError,
} from '../event-store.port';
import {
  EventStoreClosedError,
  InvalidLimitError,
  InvalidPositionError,
} from '../event-store.errors';
import { type StreamIdRange, streamIdRange } from '../stream-prefix';
import { SpannerEventStoreError } from './spanner.errors';

// `Spanner.COMMIT_TIMESTAMP`, spelled out so that loading this module does not load the client.
const COMMIT_TIMESTAMP = 'spanner.commit_timestamp()';
const ALREADY_EXISTS = 6;
/** gRPC codes worth retrying: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, UNAVAILABLE */
const RETRYABLE_CODES = new Set([4, 8, 10, 14]);
/** attempts when a unique-index race (ALREADY_EXISTS) makes a commit fail */
const DUPLICATE_RACE_ATTEMPTS = 3;

/**
 * A position is `<RecordedAt, 9 fraction digits>/<Seq>/<StreamId>`: the global order is
 * (RecordedAt, StreamId, Seq) because several transactions may share one commit timestamp.
 * The stream id goes last so that it may contain any character.
 */
const POSITION_PATTERN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z)\/(\d{1,16})\/([\s\S]+)$/;

export interface SpannerEventStoreOptions {
  /** called after each commit with the events it recorded (duplicates excluded) */
  onAppended?: (events: StoredEvent[]) => void;
  /** topic of an event's outbox row (default: the contracts' topicFor) */
  topicOf?: (event: Envelope) => string;
  /** how envelopes are validated and older versions upcast (default: the contracts' own) */
  schemas?: EventSchemas;
}

interface EventRecord {
  StreamId: string;
  Seq: number;
  Envelope: string;
  RecordedAt: { toISOString(): string };
}

const EVENT_COLUMNS = 'StreamId, Seq, Envelope, RecordedAt';

const formatPosition = (recordedAt: string, streamId: string, seq: number) =>
  `${recordedAt}/${seq}/${streamId}`;

/** An Envelope cell as readers see it: an older schema version is upcast in memory (ADR 0011). */
function storedEvent(
  schemas: EventSchemas,
  envelopeJson: string,
  streamId: string,
  seq: number,
  recordedAt: string,
): StoredEvent {
  return {
    ...schemas.fromLog(JSON.parse(envelopeJson) as RawEnvelope),
    streamVersion: seq,
    position: formatPosition(recordedAt, streamId, seq),
    recordedAt,
  } as StoredEvent;
}

/** A commit timestamp ({seconds, nanos}) as ISO-8601 with nanoseconds, like PreciseDate. */
function isoFromTimestamp(ts: { seconds?: unknown; nanos?: unknown }): string {
  const seconds = Number(String(ts.seconds ?? 0));
  const nanos = Number(ts.nanos ?? 0);
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(nanos).padStart(9, '0')}Z`;
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

function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidLimitError(limit);
  return limit;
}

const grpcCode = (e: unknown) => (e as { code?: unknown }).code;

/** Domain errors pass through; Spanner errors are tagged retryable or permanent. */
function wrap(operation: string, e: unknown): unknown {
  if (e instanceof WrongExpectedVersionError || e instanceof InvalidEventError) return e;
  const code = grpcCode(e);
  if (typeof code !== 'number') return e;
  return new SpannerEventStoreError(operation, RETRYABLE_CODES.has(code), e);
}

type Step =
  | { kind: 'stored'; event: StoredEvent }
  | { kind: 'repeat'; of: number }
  | { kind: 'new'; event: Envelope; json: string; seq: number };

/**
 * The gcp profile's event log on Cloud Spanner (DDL in infra/spanner, applied by migrateSpanner).
 * Each append is one read-write transaction that checks the stream's version, inserts the new
 * events and their outbox rows together. (Views are folded from the log by their readers and
 * checkpointed: ADR 0006, 0009; no view is updated in the append's transaction.)
 * close() does not close `database`: the caller that opened it owns it.
 */
export function createSpannerEventStore(
  database: Database,
  opts: SpannerEventStoreOptions = {},
): EventStore {
  let closed = false;
  const guard = (operation: string) => {
    if (closed) throw new EventStoreClosedError(operation);
  };
  const topicOf = opts.topicOf ?? ((e: Envelope) => topicFor(e.type));
  const schemas = opts.schemas ?? eventSchemas;
  // PreciseDate#toISOString always writes the nine fraction digits Spanner keeps.
  const fromRecord = (r: EventRecord) =>
    storedEvent(schemas, r.Envelope, r.StreamId, r.Seq, r.RecordedAt.toISOString());

  const appendOnce = (streamId: string, events: Envelope[], expected: number | 'any') =>
    database.runTransactionAsync(async (tx: Transaction) => {
      try {
        return await appendIn(tx, streamId, events, expected);
      } catch (e) {
        // The runner retries ABORTED itself; anything else must not leave the transaction open
        // (the emulator runs one read-write transaction at a time and would block on it).
        if (grpcCode(e) !== 10) await tx.rollback().catch(() => undefined);
        throw e;
      }
    });

  async function appendIn(
    tx: Transaction,
    streamId: string,
    events: Envelope[],
    expected: number | 'any',
  ): Promise<AppendResult> {
    const ids = [...new Set(events.map((e) => e.eventId))];
    const [known] = await tx.run({
      sql: `SELECT EventId, ${EVENT_COLUMNS} FROM Events@{FORCE_INDEX=EventsByEventId}
            WHERE EventId IN UNNEST(@ids)`,
      params: { ids },
      types: { ids: { type: 'array', child: 'string' } },
      json: true,
    });
    const stored = new Map(
      (known as unknown as Array<EventRecord & { EventId: string }>).map((r) => [
        r.EventId,
        fromRecord(r),
      ]),
    );
    const [streams] = await tx.read('Streams', {
      keys: [streamId],
      columns: ['Version'],
      json: true,
    });
    const current = (streams[0] as unknown as { Version: number } | undefined)?.Version ?? 0;

    // Duplicates first (in the log, or repeated inside this call), then the version check: a
    // call made only of duplicates is a retry and succeeds whatever it expected.
    const firstIndex = new Map<string, number>();
    let version = current;
    const steps: Step[] = events.map((event, index) => {
      const hit = stored.get(event.eventId);
      if (hit) return { kind: 'stored', event: hit };
      const first = firstIndex.get(event.eventId);
      if (first !== undefined) return { kind: 'repeat', of: first };
      firstIndex.set(event.eventId, index);
      version += 1;
      return { kind: 'new', event, json: JSON.stringify(event), seq: version };
    });
    const fresh = steps.filter((s): s is Extract<Step, { kind: 'new' }> => s.kind === 'new');
    if (fresh.length === 0) {
      await tx.rollback();
      return { streamVersion: current, results: steps.map((s) => resultOf(s, [], '')) };
    }
    if (typeof expected === 'number' && expected !== current) {
      throw new WrongExpectedVersionError(streamId, expected, current);
    }

    tx.upsert('Streams', { StreamId: streamId, Version: version });
    tx.insert(
      'Events',
      fresh.map((s) => ({
        StreamId: streamId,
        Seq: s.seq,
        EventId: s.event.eventId,
        Type: s.event.type,
        SchemaVersion: s.event.schemaVersion,
        Envelope: s.json,
        RecordedAt: COMMIT_TIMESTAMP,
      })),
    );
    tx.insert(
      'Outbox',
      fresh.map((s) => ({
        EventId: s.event.eventId,
        StreamId: streamId,
        Seq: s.seq,
        Topic: topicOf(s.event),
        Data: s.json,
        Attributes: messageAttributes(s.event),
        CreatedAt: COMMIT_TIMESTAMP,
        PublishedAt: null,
      })),
    );
    const [response] = await tx.commit();
    const recordedAt = isoFromTimestamp(response.commitTimestamp ?? {});
    const results: AppendResult['results'] = [];
    for (const s of steps) results.push(resultOf(s, results, recordedAt, streamId));
    return { streamVersion: version, results };
  }

  function resultOf(
    step: Step,
    earlier: AppendResult['results'],
    recordedAt: string,
    streamId = '',
  ): AppendResult['results'][number] {
    switch (step.kind) {
      case 'stored':
        return { event: step.event, duplicate: true };
      case 'repeat':
        return { event: earlier[step.of].event, duplicate: true };
      case 'new':
        return {
          event: storedEvent(schemas, step.json, streamId, step.seq, recordedAt),
          duplicate: false,
        };
    }
  }

  /**
   * Events in the global order (RecordedAt, StreamId, Seq), strictly after a position, at most
   * `limit`; with `streams`, only those whose StreamId is in that range. readAll walks the
   * EventsByRecordedAt index; a stream range is a range of the Events primary key (a seek on its
   * leading column), sorted afterwards. Strong reads: a catch-up must not miss a recent commit.
   */
  async function readInGlobalOrder(
    operation: string,
    readOpts: { after?: string; limit?: number } | undefined,
    streams?: StreamIdRange,
  ): Promise<StoredEvent[]> {
    const limit = checkLimit(readOpts?.limit);
    let cursor: RegExpExecArray | undefined;
    if (readOpts?.after !== undefined) {
      const m = POSITION_PATTERN.exec(readOpts.after);
      if (!m) throw new InvalidPositionError(readOpts.after);
      cursor = m;
    }
    if (limit === 0) return [];
    const conditions: string[] = [];
    if (streams) conditions.push('StreamId >= @lo');
    if (streams?.hi !== undefined) conditions.push('StreamId < @hi');
    if (cursor) {
      conditions.push(`(RecordedAt > @ts OR (RecordedAt = @ts AND
             (StreamId > @streamId OR (StreamId = @streamId AND Seq > @seq))))`);
    }
    const table = streams
      ? 'Events@{FORCE_INDEX=_BASE_TABLE}'
      : 'Events@{FORCE_INDEX=EventsByRecordedAt}';
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    try {
      const [rows] = await database.run(
        {
          sql: `SELECT ${EVENT_COLUMNS} FROM ${table} ${where}
                ORDER BY RecordedAt, StreamId, Seq ${limit === undefined ? '' : 'LIMIT @limit'}`,
          params: {
            ...(streams ? { lo: streams.lo } : {}),
            ...(streams?.hi !== undefined ? { hi: streams.hi } : {}),
            ...(cursor ? { ts: cursor[1], seq: Number(cursor[2]), streamId: cursor[3] } : {}),
            ...(limit === undefined ? {} : { limit }),
          },
          types: {
            ...(streams ? { lo: 'string' } : {}),
            ...(streams?.hi !== undefined ? { hi: 'string' } : {}),
            ...(cursor ? { ts: 'timestamp', seq: 'int64', streamId: 'string' } : {}),
            ...(limit === undefined ? {} : { limit: 'int64' }),
          },
          json: true,
        },
        { strong: true },
      );
      return (rows as unknown as EventRecord[]).map(fromRecord);
    } catch (e) {
      throw wrap(operation, e);
    }
  }

  return {
    async append(streamId, events, appendOpts) {
      guard('append');
      // Validate everything before the transaction: bad input never reaches the log.
      const valid = validate(schemas, streamId, events);
      const expected = appendOpts?.expectedVersion ?? 'any';
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await appendOnce(streamId, valid, expected);
          const fresh = result.results.filter((r) => !r.duplicate).map((r) => r.event);
          if (fresh.length > 0) opts.onAppended?.(fresh);
          return result;
        } catch (e) {
          // Another writer recorded one of these ids between our read and our commit: run the
          // append again, which now reports it as a duplicate.
          if (grpcCode(e) === ALREADY_EXISTS && attempt < DUPLICATE_RACE_ATTEMPTS) continue;
          throw wrap('append', e);
        }
      }
    },

    async readStream(streamId, readOpts) {
      guard('readStream');
      try {
        const [rows] = await database.run({
          sql: `SELECT ${EVENT_COLUMNS} FROM Events
                WHERE StreamId = @streamId AND Seq >= @from ORDER BY Seq`,
          params: { streamId, from: readOpts?.fromVersion ?? 1 },
          types: { streamId: 'string', from: 'int64' },
          json: true,
        });
        return (rows as unknown as EventRecord[]).map(fromRecord);
      } catch (e) {
        throw wrap('readStream', e);
      }
    },

    async readAll(readOpts) {
      guard('readAll');
      return readInGlobalOrder('readAll', readOpts);
    },

    async readStreamsByPrefix(prefix, readOpts) {
      guard('readStreamsByPrefix');
      return readInGlobalOrder('readStreamsByPrefix', readOpts, streamIdRange(prefix));
    },

    async streamVersion(streamId) {
      guard('streamVersion');
      try {
        const [rows] = await database.table('Streams').read({
          keys: [streamId],
          columns: ['Version'],
          json: true,
        });
        return (rows[0] as unknown as { Version: number } | undefined)?.Version ?? 0;
      } catch (e) {
        throw wrap('streamVersion', e);
      }
    },

    async close() {
      closed = true;
    },
  };
}
