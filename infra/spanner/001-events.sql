-- The append-only event log (DESIGN §6). One row per stream holds its version, so the
-- expected-version check of an append reads and locks exactly one row.
CREATE TABLE IF NOT EXISTS Streams (
  StreamId STRING(MAX) NOT NULL,
  Version INT64 NOT NULL,
) PRIMARY KEY (StreamId);

-- Envelope is the JSON text of the envelope as appended (STRING, not JSON: Spanner's JSON type
-- normalises numbers and key order, and the log must hand back exactly what it was given).
CREATE TABLE IF NOT EXISTS Events (
  StreamId STRING(MAX) NOT NULL,
  Seq INT64 NOT NULL,
  EventId STRING(MAX) NOT NULL,
  Type STRING(MAX) NOT NULL,
  SchemaVersion INT64 NOT NULL,
  Envelope STRING(MAX) NOT NULL,
  RecordedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (StreamId, Seq),
  INTERLEAVE IN PARENT Streams ON DELETE NO ACTION;

-- An event id is recorded once in the whole log, whatever its stream.
CREATE UNIQUE INDEX IF NOT EXISTS EventsByEventId ON Events (EventId);

-- Global order for replay. Several transactions can share a commit timestamp, hence the
-- (StreamId, Seq) tie-break. A timestamp-led index concentrates writes on one split; fine at
-- Almanac's event rates (hundreds per second), revisit with a sharded key beyond that.
CREATE INDEX IF NOT EXISTS EventsByRecordedAt ON Events (RecordedAt, StreamId, Seq);
