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

/** A window read once: its fingerprint now, its rows on demand (ADR 0026). */
export interface WindowRead {
  fingerprint: InputFingerprint;
  rows(): Promise<Row[]>;
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
   * dates 'YYYY-MM-DD', timestamps ISO strings, integers numbers (strings beyond 2^53). Rows are
   * sorted by the date field, then the entity field, then every other column in schema order.
   */
  fetchForEntities(
    table: string,
    settings: TableSettings,
    window: DateWindow,
    entityIds: string[],
  ): Promise<Map<string, Row[]>>;
  /** every row of the window (for global computations), in the order of fetchForEntities */
  fetchWindow(table: string, settings: TableSettings, window: DateWindow): Promise<Row[]>;
  /** sorted distinct entity ids of the table, with date <= `asOf` when the table has a date */
  listEntities(table: string, idField: string, asOf: string, dateField?: string): Promise<string[]>;
  /**
   * `listEntities` for each of `dates` (in the same order), in as few reads as the warehouse
   * allows. Optional: without it a caller asks `listEntities` per date.
   */
  listEntitiesByDate?(
    table: string,
    idField: string,
    dates: string[],
    dateField?: string,
  ): Promise<string[][]>;
  fingerprint(
    table: string,
    settings: TableSettings,
    window: DateWindow,
  ): Promise<InputFingerprint>;
  /**
   * The fingerprints of many windows of one table, each equal to what `fingerprint` answers for
   * it, in as few reads as the warehouse allows (a range preview asks for a year of windows).
   * Optional: without it a caller asks `fingerprint` per window.
   */
  fingerprintWindows?(
    table: string,
    settings: TableSettings,
    windows: DateWindow[],
  ): Promise<InputFingerprint[]>;
  /**
   * The bytes one read of the window would process where reads are billed by bytes (BigQuery: a
   * dry run of the query `fetchWindow` runs, which is free). Absent: reads cost nothing (DuckDB).
   */
  estimateScanBytes?(table: string, settings: TableSettings, window: DateWindow): Promise<number>;
  /**
   * One read of the window that gives its fingerprint (equal to `fingerprint()`) at once and its
   * rows (equal to `fetchWindow()`) when asked, without reading the window again. BigQuery: one
   * query job, whose result pages cost nothing, so a run that fingerprints a window and then
   * stages it is billed one scan. Optional.
   */
  readWindow?(table: string, settings: TableSettings, window: DateWindow): Promise<WindowRead>;
  /** the cheapest round trip to the warehouse (readiness): rejects when it does not answer */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ResultRow {
  entityId: string;
  /** JSON-serialisable result */
  result: unknown;
  /** sha256 of the canonical JSON of result */
  resultHash: string;
}

export interface ResultVersionInfo {
  version: string;
  rows: number;
  /** epoch ms */
  lastWrittenAt: number;
}

/**
 * Computation results, stored as versions of (computation, date): each run writes a version of
 * its own and readers name the version they read, so overlapping runs of one date never see or
 * delete each other's rows and a result becomes visible all at once (when its version is named).
 */
export interface ResultStore {
  /** writes rows into `version` of (computation, date): upsert on (computation, date, version, entity); `runId` is recorded for audit */
  write(
    computation: string,
    date: string,
    version: string,
    runId: string,
    rows: ResultRow[],
  ): Promise<void>;
  /**
   * copies the rows of `fromVersion` whose entity is not in `exceptEntityIds` into `toVersion`
   * (rows already written to toVersion win, i.e. are NOT overwritten); returns rows copied. Used by
   * a run restricted to some entities: its version is the previous one with its entities replaced.
   */
  copyForward(
    computation: string,
    date: string,
    fromVersion: string,
    toVersion: string,
    exceptEntityIds: string[],
  ): Promise<number>;
  /** results of these entities in `version` (absent keys: no result) */
  read(
    computation: string,
    date: string,
    version: string,
    entityIds: string[],
  ): Promise<Map<string, unknown>>;
  /** [entityId, resultHash] of `version`, sorted by entityId (code-unit order) */
  hashes(computation: string, date: string, version: string): Promise<Array<[string, string]>>;
  count(computation: string, date: string, version: string): Promise<number>;
  /** the versions stored for (computation, date), sorted by version */
  versions(computation: string, date: string): Promise<ResultVersionInfo[]>;
  /**
   * deletes every version of (computation, date) that is not in `keep` and whose last write is
   * before `writtenBefore` (epoch ms); returns the number of versions deleted
   */
  gc(computation: string, date: string, keep: string[], writtenBefore: number): Promise<number>;
  /** the dates of `computation` with any version stored that are before `before`, sorted */
  datesBefore(computation: string, before: string): Promise<string[]>;
  /**
   * deletes these versions of (computation, date), whatever their last write (retention: the log
   * says they are expired); versions not stored are ignored. Returns the number deleted.
   */
  deleteVersions(computation: string, date: string, versions: string[]): Promise<number>;
  close(): Promise<void>;
}
