import { backfillIds, eventSchemas, makeEvent } from '@almanac/contracts';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { createInProcessBus, type InProcessBus } from '@almanac/messaging';
import { EventPublisher } from '@almanac/platform';
import { BackfillService } from './backfill.service';

const BF = 'bf-20261201T000000Z-abc123';
const now = new Date('2026-12-01T00:00:00Z');

describe('backfill service: two replicas over one log', () => {
  let store: EventStore;
  let bus: InProcessBus;
  const replica = (owner: string) =>
    new BackfillService({
      store,
      publisher: new EventPublisher(store, bus),
      schemas: eventSchemas,
      clock: () => now,
      owner,
    });
  beforeEach(() => {
    store = createSqliteEventStore(':memory:');
    bus = createInProcessBus();
  });
  afterEach(async () => {
    await bus.close();
    await store.close();
  });

  const requested = makeEvent({
    type: 'BackfillRequested',
    eventId: backfillIds.requested(BF),
    streamId: backfillIds.stream(BF),
    correlationId: BF,
    causationId: null,
    producer: 'test',
    occurredAt: now.toISOString(),
    payload: { backfillId: BF, from: '2026-01-01', to: '2026-01-31', concurrency: 3 },
  });
  const runRequests = async () =>
    (await store.readAll()).flatMap((e) => (e.type === 'RunRequested' ? [e.payload.date] : []));

  it('given one BackfillRequested delivered to both replicas at once, appends each of the first `concurrency` dates once', async () => {
    await store.append(requested.streamId, [requested]);
    const message = JSON.stringify(requested);
    const [a, b] = [replica('scheduler-1'), replica('scheduler-2')];
    await Promise.all([a.onMessage(message), b.onMessage(message), a.onMessage(message)]);
    expect((await runRequests()).sort()).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  });

  it("ignores the end of a run that is not a backfill's, and a backfill that is not in the log", async () => {
    const completed = (runId: string) =>
      JSON.stringify(
        makeEvent({
          type: 'RunCompleted',
          eventId: `RunCompleted:${runId}`,
          streamId: `run-${runId}`,
          correlationId: runId,
          causationId: null,
          producer: 'test',
          occurredAt: now.toISOString(),
          payload: {
            runId,
            date: '2026-01-01',
            status: 'completed',
            counts: { completed: 1, skipped: 0, blocked: 0, impossible: 0, failed: 0 },
            durationMs: 1,
          },
        }),
      );
    await replica('s').onMessage(completed('20261201T000000Z-0a609e'));
    await replica('s').onMessage(completed(`${BF}-2026-01-01`));
    expect(await store.readAll()).toEqual([]);
  });
});
