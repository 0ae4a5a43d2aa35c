export type Row = Record<string, unknown>;

/** inclusive date window, YYYY-MM-DD */
export interface DateWindow {
  from: string;
  to: string;
}

/** How a table is read (project config, never code that reads data). */
export interface TableSettings {
  entityField: string;
  /** absent: the table has no date (a dimension); every row is in every window */
  dateField?: string;
}

export interface ColumnInfo {
  name: string;
  type: string;
}

export interface TableSchema {
  table: string;
  columns: ColumnInfo[];
}

export interface SchemaRegistry {
  /** throws UnknownTableError (naming the closest tables) */
  getTable(table: string): Promise<TableSchema>;
  /** throws UnknownColumnError naming the table, the column and the closest existing columns */
  assertColumns(table: string, columns: string[]): Promise<void>;
  invalidate(table?: string): void;
}

export interface InputFingerprint {
  rowCount: number;
  /** stable digest of the window's content (or of cheap metadata where the warehouse has it) */
  digest: string;
}

/** Source tables, read-only. */
export interface Warehouse {
  readonly schemas: SchemaRegistry;
  /**
   * Rows of `entityIds` in the window, one query for the whole batch, grouped by entity id
   * (every requested id is a key, with [] when it has no rows). Values are plain JSON values:
   * dates 'YYYY-MM-DD', timestamps ISO strings, integers numbers (strings beyond 2^53).
   */
  fetchForEntities(
    table: string,
    settings: TableSettings,
    window: DateWindow,
    entityIds: string[],
  ): Promise<Map<string, Row[]>>;
  /** every row of the window (for global computations) */
  fetchWindow(table: string, settings: TableSettings, window: DateWindow): Promise<Row[]>;
  /** sorted distinct entity ids of the table, with date <= `asOf` when the table has a date */
  listEntities(table: string, idField: string, asOf: string, dateField?: string): Promise<string[]>;
  fingerprint(
    table: string,
    settings: TableSettings,
    window: DateWindow,
  ): Promise<InputFingerprint>;
  close(): Promise<void>;
}

export interface ResultRow {
  entityId: string;
  /** JSON-serialisable result */
  result: unknown;
  /** sha256 of the canonical JSON of result */
  resultHash: string;
}

/** Computation results: upserts on (computation, date, entity). */
export interface ResultStore {
  upsert(computation: string, date: string, runId: string, rows: ResultRow[]): Promise<void>;
  delete(computation: string, date: string, entityIds: string[]): Promise<void>;
  /** results of these entities (absent keys: no result) */
  read(computation: string, date: string, entityIds: string[]): Promise<Map<string, unknown>>;
  /** [entityId, resultHash] sorted by entityId */
  hashes(computation: string, date: string): Promise<Array<[string, string]>>;
  /** delete rows of (computation, date) not written by runId; returns how many */
  prune(computation: string, date: string, keepRunId: string): Promise<number>;
  count(computation: string, date: string): Promise<number>;
  close(): Promise<void>;
}
