/** The migration folder is missing or holds no `.sql` file. */
export class MigrationDirectoryError extends Error {
  readonly code = 'migration-directory';
  readonly retryable = false;
  constructor(
    readonly dir: string,
    detail: string,
  ) {
    super(`Spanner migrations in "${dir}": ${detail} (expected files like 001-events.sql)`);
    this.name = 'MigrationDirectoryError';
  }
}

/**
 * A migration file was edited after it was applied. Applied DDL is history: the change must go
 * into a new file, or the database would silently differ from what the files say.
 */
export class MigrationChangedError extends Error {
  readonly code = 'migration-changed';
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly appliedChecksum: string,
    readonly currentChecksum: string,
  ) {
    super(
      `migration "${file}" was applied with checksum ${appliedChecksum} but the file now has ` +
        `${currentChecksum}: restore it and put the change in a new file with a higher number`,
    );
    this.name = 'MigrationChangedError';
  }
}

/** A Spanner call failed; `retryable` tells whether the same call may succeed later. */
export class SpannerEventStoreError extends Error {
  readonly code = 'spanner-event-store';
  constructor(
    readonly operation: string,
    readonly retryable: boolean,
    readonly cause: unknown,
  ) {
    super(
      `Spanner event store: ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'SpannerEventStoreError';
  }
}
