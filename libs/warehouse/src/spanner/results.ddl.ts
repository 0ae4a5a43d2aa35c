/**
 * DDL of the Spanner result store, for tests that create the table under another name; the
 * deployed schema is `infra/spanner/006-result-versions.sql` (keep the two the same).
 *
 * Result is STRING(MAX) holding the JSON text, not JSON: Spanner's JSON type sorts object keys
 * (verified on the emulator), so a result would read back with another key order than the
 * embedded profile (DuckDB VARCHAR) gives, and a downstream computation that iterates keys could
 * hash differently across profiles.
 */
export const SPANNER_RESULTS_TABLE = 'ResultVersions';

export function spannerResultsDdl(table = SPANNER_RESULTS_TABLE): string[] {
  return [
    `CREATE TABLE ${table} (
  Computation STRING(MAX) NOT NULL,
  Date DATE NOT NULL,
  Version STRING(MAX) NOT NULL,
  EntityId STRING(MAX) NOT NULL,
  Result STRING(MAX) NOT NULL,
  ResultHash STRING(64) NOT NULL,
  RunId STRING(MAX) NOT NULL,
  WrittenAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true)
) PRIMARY KEY (Computation, Date, Version, EntityId)`,
  ];
}

export const SPANNER_RESULTS_DDL: readonly string[] = spannerResultsDdl();
