import type { Database } from '@google-cloud/spanner';
import { InvalidLimitError } from '../event-store.errors';

/** A message waiting in the outbox: written with its event, published by relayOutbox. */
export interface OutboxMessage {
  eventId: string;
  streamId: string;
  seq: number;
  topic: string;
  /** the envelope's JSON text */
  data: string;
  attributes: Record<string, string>;
  /** the commit timestamp of the append (ISO, nanoseconds) */
  createdAt: string;
}

export interface SpannerOutbox {
  /** unpublished messages in log order (CreatedAt, StreamId, Seq), at most `limit` (default 500) */
  pending(limit?: number): Promise<OutboxMessage[]>;
  /** how many messages are unpublished, counted up to `limit` (a bounded read for /metrics) */
  countPending(limit: number): Promise<number>;
  /**
   * these messages were published: deletes their rows (the log keeps the events). Returns how
   * many rows it deleted; other rows are left as they are.
   */
  markPublished(eventIds: string[]): Promise<number>;
  /**
   * deletes the rows that the previous release marked published (it set PublishedAt and kept
   * them), at most `batchSize` per transaction (default 1000), never a row without PublishedAt.
   * Returns how many it deleted.
   */
  prunePublished(batchSize?: number): Promise<number>;
}

/** What the relay hands to the bus: the shape of messaging's OutgoingMessage. */
export type OutboxPublish = (
  topic: string,
  messages: Array<{ data: string; attributes: Record<string, string> }>,
) => Promise<unknown>;

interface OutboxRecord {
  EventId: string;
  StreamId: string;
  Seq: number;
  Topic: string;
  Data: string;
  Attributes: Record<string, string>;
  CreatedAt: { toISOString(): string };
}

/** The outbox rows that createSpannerEventStore writes in each append's transaction. */
export function createSpannerOutbox(database: Database): SpannerOutbox {
  return {
    async pending(limit = 500) {
      if (!Number.isInteger(limit) || limit < 0) throw new InvalidLimitError(limit);
      if (limit === 0) return [];
      const [rows] = await database.run({
        sql: `SELECT EventId, StreamId, Seq, Topic, Data, Attributes, CreatedAt
              FROM Outbox@{FORCE_INDEX=OutboxByPublishedAt}
              WHERE PublishedAt IS NULL
              ORDER BY CreatedAt, StreamId, Seq LIMIT @limit`,
        params: { limit },
        types: { limit: 'int64' },
        json: true,
      });
      return (rows as unknown as OutboxRecord[]).map((r) => ({
        eventId: r.EventId,
        streamId: r.StreamId,
        seq: r.Seq,
        topic: r.Topic,
        data: r.Data,
        attributes: r.Attributes,
        createdAt: r.CreatedAt.toISOString(),
      }));
    },

    async countPending(limit) {
      if (!Number.isInteger(limit) || limit < 0) throw new InvalidLimitError(limit);
      const [rows] = await database.run({
        sql: `SELECT COUNT(*) AS n FROM (
                SELECT 1 FROM Outbox@{FORCE_INDEX=OutboxByPublishedAt}
                WHERE PublishedAt IS NULL LIMIT @limit)`,
        params: { limit },
        types: { limit: 'int64' },
        json: true,
      });
      return Number((rows as unknown as Array<{ n: number | string }>)[0]?.n ?? 0);
    },

    async markPublished(eventIds) {
      if (eventIds.length === 0) return 0;
      return deleteWhere(database, 'EventId IN UNNEST(@ids)', eventIds);
    },

    async prunePublished(batchSize = 1000) {
      if (!Number.isInteger(batchSize) || batchSize <= 0) throw new InvalidLimitError(batchSize);
      let pruned = 0;
      for (;;) {
        const [rows] = await database.run({
          sql: `SELECT EventId FROM Outbox@{FORCE_INDEX=OutboxByPublishedAt}
                WHERE PublishedAt IS NOT NULL LIMIT @limit`,
          params: { limit: batchSize },
          types: { limit: 'int64' },
          json: true,
        });
        const ids = (rows as unknown as Array<{ EventId: string }>).map((r) => r.EventId);
        if (ids.length > 0)
          pruned += await deleteWhere(
            database,
            'EventId IN UNNEST(@ids) AND PublishedAt IS NOT NULL',
            ids,
          );
        if (ids.length < batchSize) return pruned;
      }
    },
  };
}

/** Deletes the outbox rows matching `where` (over the ids bound as @ids) in one read-write transaction. */
function deleteWhere(database: Database, where: string, ids: string[]): Promise<number> {
  return database.runTransactionAsync(async (tx) => {
    try {
      const [count] = await tx.runUpdate({
        sql: `DELETE FROM Outbox WHERE ${where}`,
        params: { ids },
        types: { ids: { type: 'array', child: 'string' } },
      });
      await tx.commit();
      return count;
    } catch (e) {
      // ABORTED is retried by the runner; anything else must not leave the transaction open
      if ((e as { code?: number }).code !== 10) await tx.rollback().catch(() => undefined);
      throw e;
    }
  });
}

/**
 * Publishes every pending outbox message, topic by topic in log order, deleting each topic's rows
 * once the bus accepted them (first it prunes rows the previous release kept, marked published).
 * A crash between the publish and the delete publishes those messages again on the next run:
 * delivery is at least once, and consumers drop duplicates by event id (the log rejects a second
 * event with the same id). Two relays at once may both publish a message; neither deletes a row
 * before it was published. Returns how many were published. ADR 0011.
 */
export async function relayOutbox(
  outbox: SpannerOutbox,
  publish: OutboxPublish,
  opts: { batchSize?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 500;
  await outbox.prunePublished();
  let published = 0;
  for (;;) {
    const page = await outbox.pending(batchSize);
    if (page.length === 0) return published;
    const byTopic = new Map<string, OutboxMessage[]>();
    for (const m of page) {
      const list = byTopic.get(m.topic);
      if (list) list.push(m);
      else byTopic.set(m.topic, [m]);
    }
    for (const [topic, messages] of byTopic) {
      await publish(
        topic,
        messages.map((m) => ({ data: m.data, attributes: m.attributes })),
      );
      await outbox.markPublished(messages.map((m) => m.eventId));
      published += messages.length;
    }
    if (page.length < batchSize) return published;
  }
}
