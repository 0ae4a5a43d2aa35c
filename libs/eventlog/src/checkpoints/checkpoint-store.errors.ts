/** A call was made on a checkpoint store after close(). */
export class CheckpointStoreClosedError extends Error {
  readonly code = 'checkpoint-store-closed';
  readonly retryable = false;
  constructor(readonly operation: string) {
    super(`checkpoint store is closed: cannot ${operation}`);
    this.name = 'CheckpointStoreClosedError';
  }
}

/** save() got views that JSON cannot represent; nothing was written. */
export class CheckpointNotSerializableError extends Error {
  readonly code = 'checkpoint-not-serializable';
  readonly retryable = false;
  constructor(
    readonly group: string,
    readonly cause: unknown,
  ) {
    super(
      `checkpoint of projection group "${group}" is not JSON-serialisable ` +
        `(views must be plain JSON): ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'CheckpointNotSerializableError';
  }
}

/** A database call of a checkpoint store failed; `retryable` tells whether trying again may work. */
export class CheckpointStoreError extends Error {
  readonly code = 'checkpoint-store';
  constructor(
    readonly operation: string,
    readonly group: string,
    readonly retryable: boolean,
    readonly cause: unknown,
  ) {
    super(
      `checkpoint store: ${operation} of group "${group}" failed: ` +
        `${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'CheckpointStoreError';
  }
}
