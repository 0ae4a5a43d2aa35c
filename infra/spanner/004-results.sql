-- Computation results of the gcp profile (libs/warehouse createSpannerResultStore).
-- Result holds the JSON text (not JSON): Spanner's JSON type sorts object keys, and results must
-- read back exactly as the embedded profile (DuckDB) returns them.
CREATE TABLE IF NOT EXISTS Results (
  Computation STRING(MAX) NOT NULL,
  Date DATE NOT NULL,
  EntityId STRING(MAX) NOT NULL,
  Result STRING(MAX) NOT NULL,
  ResultHash STRING(64) NOT NULL,
  RunId STRING(MAX) NOT NULL,
  WrittenAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true)
) PRIMARY KEY (Computation, Date, EntityId);
