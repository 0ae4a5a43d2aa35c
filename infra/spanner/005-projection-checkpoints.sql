-- Checkpoints of the api's asynchronous projections (libs/projections CheckpointedProjections,
-- libs/eventlog createSpannerCheckpointStore). One header row per projection group; the views
-- JSON is cut into chunks of at most 1 MiB because a group's views can outgrow a cell (10 MiB).
-- A save replaces the header and all chunks of its group in one read-write transaction.
-- Position is the log position of the last event applied (commit order, see docs/adr/0006).
CREATE TABLE IF NOT EXISTS ProjectionCheckpoints (
  GroupName STRING(MAX) NOT NULL,
  Position STRING(MAX),
  Fingerprint STRING(MAX) NOT NULL,
  Chunks INT64 NOT NULL,
  SavedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (GroupName);

CREATE TABLE IF NOT EXISTS ProjectionCheckpointChunks (
  GroupName STRING(MAX) NOT NULL,
  Chunk INT64 NOT NULL,
  Data STRING(MAX) NOT NULL,
) PRIMARY KEY (GroupName, Chunk),
  INTERLEAVE IN PARENT ProjectionCheckpoints ON DELETE CASCADE;
