-- Messages to publish, written in the same transaction as the events they carry: a crash
-- between the commit and the publish leaves the row pending, and the next relay publishes it.
CREATE TABLE IF NOT EXISTS Outbox (
  EventId STRING(MAX) NOT NULL,
  StreamId STRING(MAX) NOT NULL,
  Seq INT64 NOT NULL,
  Topic STRING(MAX) NOT NULL,
  Data STRING(MAX) NOT NULL,
  Attributes JSON NOT NULL,
  CreatedAt TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true),
  PublishedAt TIMESTAMP OPTIONS (allow_commit_timestamp = true),
) PRIMARY KEY (EventId);

CREATE INDEX IF NOT EXISTS OutboxByPublishedAt ON Outbox (PublishedAt, CreatedAt, StreamId, Seq);
