export interface UnknownNameDetails {
  table: string;
  column?: string;
  /** closest existing names, best first */
  candidates: string[];
}

/** Base of this lib's typed errors: a stable `code` and the context needed to act on it. */
export abstract class WarehouseError extends Error {
  abstract readonly code: string;
  /** permanent errors (bad names, bad results) must not be retried nor trip a breaker */
  abstract readonly retryable: boolean;
}

export class UnknownTableError extends WarehouseError {
  readonly code = 'unknown-table';
  readonly retryable = false;
  readonly details: UnknownNameDetails;
  constructor(table: string, candidates: string[]) {
    super(
      `unknown table "${table}" ` +
        (candidates.length
          ? `(did you mean "${candidates[0]}"?)`
          : '(no table with a similar name)'),
    );
    this.name = 'UnknownTableError';
    this.details = { table, column: undefined, candidates };
  }
}

export class UnknownColumnError extends WarehouseError {
  readonly code = 'unknown-column';
  readonly retryable = false;
  readonly details: UnknownNameDetails;
  constructor(table: string, column: string, candidates: string[], allColumns: string[] = []) {
    super(
      `table "${table}" has no column "${column}" ` +
        (candidates.length
          ? `(closest: ${candidates.join(', ')})`
          : `(columns: ${allColumns.join(', ')})`),
    );
    this.name = 'UnknownColumnError';
    this.details = { table, column, candidates };
  }
}

/** A date that is not a real YYYY-MM-DD calendar date (checked before any query). */
export class InvalidDateError extends WarehouseError {
  readonly code = 'invalid-date';
  readonly retryable = false;
  constructor(
    readonly value: string,
    readonly field: string,
  ) {
    super(`invalid date "${value}" for ${field} (expected YYYY-MM-DD)`);
    this.name = 'InvalidDateError';
  }
}

/** A result that cannot be stored as JSON (undefined, a bigint, a cycle). */
export class ResultNotSerializableError extends WarehouseError {
  readonly code = 'result-not-serializable';
  readonly retryable = false;
  constructor(
    readonly computation: string,
    readonly entityId: string,
    reason: string,
  ) {
    super(`result of ${computation} for entity "${entityId}" is not JSON-serialisable: ${reason}`);
    this.name = 'ResultNotSerializableError';
  }
}

/** A failure of the database itself (I/O, lock, closed handle); keeps the original as `cause`. */
export class WarehouseQueryError extends WarehouseError {
  readonly code = 'query-failed';
  readonly retryable = true;
  constructor(
    readonly sql: string,
    cause: unknown,
  ) {
    super(
      `query failed: ${cause instanceof Error ? cause.message : String(cause)} -- ${sql.slice(0, 200)}`,
      {
        cause,
      },
    );
    this.name = 'WarehouseQueryError';
  }
}
