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

/**
 * A DuckDB file another process has open: DuckDB lets one process write a file, or several read
 * it, never both. Retryable: the other process may let go. `pid` is the holder's, when DuckDB says.
 */
export class DatabaseLockedError extends WarehouseError {
  readonly code = 'database-locked';
  readonly retryable = true;
  constructor(
    readonly path: string,
    readonly pid: number | null,
    cause: unknown,
  ) {
    super(`${path} is locked by another process${pid !== null ? ` (pid ${pid})` : ''}`, { cause });
    this.name = 'DatabaseLockedError';
  }
}

// DuckDB 1.x: `IO Error: Could not set lock on file "<path>": Conflicting lock is held in <exe> (PID <n>)`
const DUCKDB_LOCK =
  /Could not set lock on file "([^"]+)"(?:: Conflicting lock is held in .* \(PID (\d+)\))?/;

/** The DatabaseLockedError a DuckDB error stands for, or null when it is not a lock conflict. */
export function databaseLockedError(err: unknown, path?: string): DatabaseLockedError | null {
  if (err instanceof DatabaseLockedError) return err;
  // not `instanceof Error`: the native addon's errors may come from another realm (Jest's vm)
  const message = (err as { message?: unknown } | null)?.message;
  const m = typeof message === 'string' ? DUCKDB_LOCK.exec(message) : null;
  return m ? new DatabaseLockedError(path ?? m[1], m[2] ? Number(m[2]) : null, err) : null;
}
