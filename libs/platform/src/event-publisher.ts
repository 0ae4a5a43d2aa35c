import { topicFor, type Envelope } from '@almanac/contracts';
import type { EventStore, ExpectedVersion } from '@almanac/eventlog';
import type { Bus } from '@almanac/messaging';

/**
 * Every event is first appended to the log, then published. Events already in the log (a
 * redelivered message answered again) are not published twice.
 */
export class EventPublisher {
  constructor(
    private readonly store: EventStore,
    private readonly bus: Bus,
    private readonly onAppended: (events: Envelope[]) => void = () => undefined,
    /** after a successful publish, e.g. marking the outbox rows written with the append */
    private readonly afterPublish: (events: Envelope[]) => Promise<unknown> = async () => undefined,
  ) {}

  /**
   * `expectedVersion` applies to each stream of the call (give it for one stream only): a claim
   * appended only if nobody appended to its stream since it was read.
   */
  async publish(
    events: Envelope[],
    opts: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<Envelope[]> {
    const byStream = new Map<string, Envelope[]>();
    for (const e of events) {
      const list = byStream.get(e.streamId);
      if (list) list.push(e);
      else byStream.set(e.streamId, [e]);
    }
    const fresh: Envelope[] = [];
    for (const [streamId, list] of byStream) {
      const { results } = await this.store.append(streamId, list, {
        expectedVersion: opts.expectedVersion ?? 'any',
      });
      for (const r of results) if (!r.duplicate) fresh.push(r.event);
    }
    if (fresh.length === 0) return fresh;
    this.onAppended(fresh);
    const byTopic = new Map<string, Envelope[]>();
    for (const e of fresh) {
      const topic = topicFor(e.type);
      const list = byTopic.get(topic);
      if (list) list.push(e);
      else byTopic.set(topic, [e]);
    }
    await Promise.all(
      [...byTopic].map(([topic, list]) =>
        this.bus.publish(
          topic,
          list.map((e) => ({
            data: JSON.stringify(stripStorage(e)),
            // correlation (the run) and trace ids travel as attributes, for routing and tracing
            attributes: {
              type: e.type,
              eventId: e.eventId,
              correlationId: e.correlationId,
              ...(e.metadata?.traceId ? { traceId: e.metadata.traceId } : {}),
            },
          })),
        ),
      ),
    );
    await this.afterPublish(fresh);
    return fresh;
  }
}

/** The envelope without the log's bookkeeping (position, version, recordedAt). */
function stripStorage(e: Envelope): Envelope {
  const {
    streamVersion: _v,
    position: _p,
    recordedAt: _r,
    ...envelope
  } = e as Envelope & Record<string, unknown>;
  return envelope as Envelope;
}
