import type { Envelope } from '@almanac/contracts';

/** An event as the log holds it: the envelope plus where it sits. */
export type StoredEvent = Envelope & {
  /** 1-based version of the event inside its stream */
  streamVersion: number;
  /** opaque, totally ordered cursor in the global order; pass it back to readAll({ after }) */
  position: string;
  /** when the log durably recorded it (ISO) */
  recordedAt: string;
};

/** `number`: the stream must be at exactly this version (0: must not exist). */
export type ExpectedVersion = number | 'any';

export interface AppendResult {
  /** the stream's version after the append */
  streamVersion: number;
  /** one entry per event passed in, in order; `duplicate: true` means the id already existed */
  results: Array<{ event: StoredEvent; duplicate: boolean }>;
}

/**
 * The append-only log. Nothing updates or deletes an event.
 * - append is atomic: every new event of the call is recorded, or none.
 * - an event whose id is already in the log (any stream) is not appended again: the call reports
 *   the stored event with duplicate: true. A call whose events are all duplicates succeeds
 *   without checking the expected version (it is a retry of a call that already happened).
 * - when a call has new events and expectedVersion is a number that differs from the stream's
 *   version, it throws WrongExpectedVersionError and records nothing.
 */
export interface EventStore {
  append(
    streamId: string,
    events: Envelope[],
    opts?: { expectedVersion?: ExpectedVersion },
  ): Promise<AppendResult>;
  readStream(streamId: string, opts?: { fromVersion?: number }): Promise<StoredEvent[]>;
  /** events in global order, strictly after `after` (from the start when absent), at most `limit` */
  readAll(opts?: { after?: string; limit?: number }): Promise<StoredEvent[]>;
  /**
   * every event of every stream whose id starts with `prefix` (a non-empty string), in global
   * order (the order readAll returns them), at most `limit` (default: all) after `after` (a
   * position, exclusive). Lets a reader fetch a run's or a computation's events spread over
   * several streams (one stream per batch, so that batch events do not contend on one stream)
   * with one range read on the stream key.
   *
   * The match is a plain string prefix: `run-A` also matches `run-AB`. A caller that means "this
   * stream and its sub-streams" passes the id with its separator (`run-A-X#`) or reads the
   * stream itself separately. Throws InvalidPrefixError for an empty prefix (use readAll) or one
   * that is not well-formed Unicode, InvalidLimitError and InvalidPositionError like readAll.
   */
  readStreamsByPrefix(
    prefix: string,
    opts?: { after?: string; limit?: number },
  ): Promise<StoredEvent[]>;
  /** the stream's current version (0 when it does not exist) */
  streamVersion(streamId: string): Promise<number>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  readonly code = 'wrong-expected-version';
  readonly retryable = true;
  constructor(
    readonly streamId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`stream "${streamId}": expected version ${expected}, found ${actual}`);
    this.name = 'WrongExpectedVersionError';
  }
}
