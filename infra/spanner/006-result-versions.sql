-- Computation results as versions (libs/warehouse createSpannerResultStore): each run writes a
-- version of its own of (Computation, Date) and readers name the version they read, so two runs
-- of one date never see or delete each other's rows. Replaces Results (004) for the result store.
-- No data is copied from Results: the gcp profile has only ever run on emulators, whose databases
-- are created fresh. Results is left in place (unused); dropping it is a separate migration.
-- Result holds the JSON text (not JSON): Spanner's JSON type sorts object keys, and results must
-- read back exactly as the embedded profile (DuckDB) returns them.
CREATE TABLE IF NOT EXISTS ResultVersions (
  Computation STRING(MAX) NOT NULL,
  Date DATE NOT NULL,
  Version STRING(MAX) NOT NULL,
  EntityId STRING(MAX) NOT NULL,
  Result STRING(MAX) NOT NULL,
  ResultHash STRING(64) NOT NULL,
  RunId STRING(MAX) NOT NULL,
  WrittenAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true)
) PRIMARY KEY (Computation, Date, Version, EntityId);
