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
  /** marks these messages published; returns how many were still pending (others are left as they are) */
  markPublished(eventIds: string[]): Promise<number>;
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

    async markPublished(eventIds) {
      if (eventIds.length === 0) return 0;
      return database.runTransactionAsync(async (tx) => {
        try {
          const [count] = await tx.runUpdate({
            sql: `UPDATE Outbox SET PublishedAt = PENDING_COMMIT_TIMESTAMP()
                  WHERE EventId IN UNNEST(@ids) AND PublishedAt IS NULL`,
            params: { ids: eventIds },
            types: { ids: { type: 'array', child: 'string' } },
          });
          await tx.commit();
          return count;
        } catch (e) {
          if ((e as { code?: number }).code !== 10) await tx.rollback().catch(() => undefined);
          throw e;
        }
      });
    },
  };
}

/**
 * Publishes every pending outbox message, topic by topic in log order, marking each topic's
 * messages once the bus accepted them. A crash between the publish and the mark publishes those
 * messages again on the next run: delivery is at least once, and consumers drop duplicates by
 * event id (the log rejects a second event with the same id). Returns how many were published.
 */
export async function relayOutbox(
  outbox: SpannerOutbox,
  publish: OutboxPublish,
  opts: { batchSize?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 500;
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
