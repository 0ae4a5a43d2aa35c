/** `readAll({ after })` got a cursor this store did not produce. */
export class InvalidPositionError extends Error {
  readonly code = 'invalid-position';
  readonly retryable = false;
  constructor(readonly position: string) {
    super(
      `invalid position "${position}": pass back the "position" of an event read from this store`,
    );
    this.name = 'InvalidPositionError';
  }
}

/** A call was made on a store after close(). */
export class EventStoreClosedError extends Error {
  readonly code = 'event-store-closed';
  readonly retryable = false;
  constructor(readonly operation: string) {
    super(`event store is closed: cannot ${operation}`);
    this.name = 'EventStoreClosedError';
  }
}

/** append() on a store opened read-only. */
export class ReadOnlyEventStoreError extends Error {
  readonly code = 'event-store-read-only';
  readonly retryable = false;
  constructor(readonly path: string) {
    super(
      `event store "${path}" was opened read-only: open it with createSqliteEventStore to append`,
    );
    this.name = 'ReadOnlyEventStoreError';
  }
}

/** `readAll({ limit })` must be a non-negative integer. */
export class InvalidLimitError extends Error {
  readonly code = 'invalid-limit';
  readonly retryable = false;
  constructor(readonly limit: number) {
    super(`invalid limit ${limit}: expected a non-negative integer`);
    this.name = 'InvalidLimitError';
  }
}

/** `readStreamsByPrefix(prefix)` needs a non-empty, well-formed string. */
export class InvalidPrefixError extends Error {
  readonly code = 'invalid-prefix';
  readonly retryable = false;
  constructor(
    readonly prefix: unknown,
    readonly problem: string,
  ) {
    super(`invalid stream prefix ${JSON.stringify(prefix) ?? String(prefix)}: ${problem}`);
    this.name = 'InvalidPrefixError';
  }
}
