import { messageAttributes, topicFor, type Envelope } from '@almanac/contracts';
import type { EventStore, ExpectedVersion } from '@almanac/eventlog';
import type { Bus } from '@almanac/messaging';
import { endEventSpans, startEventSpan } from './tracing';

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
    // a producer span per event; its trace context goes into the event's metadata (ADR 0022)
    const spans = events.map(startEventSpan);
    const fresh = new Set<string>();
    try {
      const published = await this.appendAndPublish(
        spans.map((s) => s.event),
        opts,
      );
      for (const e of published) fresh.add(e.eventId);
      endEventSpans(
        spans,
        new Set(events.filter((e) => !fresh.has(e.eventId)).map((e) => e.eventId)),
      );
      return published;
    } catch (e) {
      endEventSpans(spans, new Set(), e);
      throw e;
    }
  }

  private async appendAndPublish(
    events: Envelope[],
    opts: { expectedVersion?: ExpectedVersion },
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
            // correlation (the run) and trace context travel as attributes, for routing and tracing
            attributes: messageAttributes(e),
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
