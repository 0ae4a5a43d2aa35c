/**
 * A saved state of a group of projections: the views folded from the log up to `position`.
 *
 * `position` is the log position (EventStore `position`) of the last event applied, or null when
 * no event was applied. Positions are in commit order in every adapter, so the events still to
 * apply are exactly `readAll({ after: position })` — see CheckpointedProjections.
 */
export interface Checkpoint {
  position: string | null;
  /** view name -> view, plain JSON (what JSON.stringify/parse round-trip) */
  views: Record<string, unknown>;
  /** which projections (and which version of their reducers) produced `views` */
  fingerprint: string;
  /** when the store recorded it (ISO), for operators; never used to decide what to read */
  savedAt: string;
}

/**
 * Where checkpoints are kept (SQLite file, Spanner tables). One checkpoint per group.
 * - save replaces the group's checkpoint atomically: a load sees the previous one or this one,
 *   never a mix.
 * - load returns views structurally identical (JSON-equal, same key order) to those saved.
 * - load throws CheckpointCorruptError when what is stored cannot be read back.
 */
export interface CheckpointStore {
  load(group: string): Promise<Checkpoint | null>;
  save(group: string, checkpoint: Omit<Checkpoint, 'savedAt'>): Promise<void>;
  clear(group: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A stored checkpoint cannot be read back (missing chunk, not JSON). Projections recover by
 * folding the log from the start; nothing is lost since the log is the source of truth.
 */
export class CheckpointCorruptError extends Error {
  readonly code = 'checkpoint-corrupt';
  readonly retryable = false;
  constructor(
    readonly group: string,
    readonly detail: string,
  ) {
    super(
      `checkpoint of projection group "${group}" cannot be read back: ${detail} ` +
        `(run "projections rebuild" to replace it)`,
    );
    this.name = 'CheckpointCorruptError';
  }
}
