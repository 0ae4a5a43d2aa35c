-- Decision-critical views, updated inline in the transaction of the append that changes them,
-- so a decision read after an append never sees a view behind the log.

-- libs/projections hash-index.projection: the last completed result of each (computation, date).
-- CompletedAt is the event's occurredAt as written (a string, like the projection's view).
CREATE TABLE IF NOT EXISTS HashIndex (
  Computation STRING(MAX) NOT NULL,
  Date STRING(10) NOT NULL,
  RunId STRING(MAX) NOT NULL,
  CompositeHash STRING(MAX) NOT NULL,
  HashParts JSON NOT NULL,
  ResultHash STRING(MAX),
  Valid BOOL NOT NULL,
  CompletedAt STRING(MAX) NOT NULL,
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (Computation, Date);

-- Progress of each computation of a run (the subset of libs/projections run.projection that
-- the executor needs to take a computation over): attempt, batches done for that attempt.
CREATE TABLE IF NOT EXISTS RunProgress (
  RunId STRING(MAX) NOT NULL,
  Computation STRING(MAX) NOT NULL,
  Status STRING(MAX) NOT NULL,
  Attempt INT64 NOT NULL,
  BatchCount INT64 NOT NULL,
  BatchesDone ARRAY<INT64> NOT NULL,
  Processed INT64 NOT NULL,
  Saved INT64 NOT NULL,
  Failed INT64 NOT NULL,
  CircuitOpen BOOL NOT NULL,
  ResultHash STRING(MAX),
  UpdatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (RunId, Computation);
