import { backfillIds, type EventSchemas, type Envelope } from '@almanac/contracts';
import { backfillDecider } from '@almanac/domain/backfill';
import type { EventStore } from '@almanac/eventlog';
import type { EventPublisher } from '@almanac/platform';

/**
 * Backfill shell: on a BackfillRequested, or an end of one of its runs (RunCompleted, RunRejected,
 * a historical computation's ComputationCompleted), folds the backfill's events from the log and
 * appends the RunRequested the decider answers. Any replica may handle any message: the run ids
 * are derived from (backfill, date), so a duplicate appends nothing.
 */
export class BackfillService {
  constructor(
    private readonly deps: {
      store: EventStore;
      publisher: EventPublisher;
      schemas: EventSchemas;
      clock: () => Date;
      /** this process (metadata.process of the runs it requests) */
      owner: string;
    },
  ) {}

  async onMessage(data: string): Promise<void> {
    const event = this.deps.schemas.parse(JSON.parse(data));
    switch (event.type) {
      case 'BackfillRequested':
        await this.advance(event.payload.backfillId, event.eventId);
        return;
      case 'RunCompleted':
      case 'RunRejected':
      case 'ComputationCompleted': {
        const run = backfillIds.ofRun(event.payload.runId);
        if (!run) return;
        const computation =
          event.type === 'ComputationCompleted' ? event.payload.computation : null;
        await this.advance(run.backfillId, event.eventId, computation);
        return;
      }
      default:
        return;
    }
  }

  /**
   * Requests what the backfill may have open now. `computation`: a ComputationCompleted's, which
   * matters only when it is one of the backfill's historical computations.
   */
  async advance(
    backfillId: string,
    causationId: string,
    computation: string | null = null,
  ): Promise<Envelope[]> {
    const { store, publisher, clock, owner } = this.deps;
    const head = await store.readStream(backfillIds.stream(backfillId));
    const request = head.find((e) => e.type === 'BackfillRequested');
    if (!request || request.type !== 'BackfillRequested') return [];
    if (computation !== null && !request.payload.historical.includes(computation)) return [];
    // every stream of its runs: run-<backfill>-<date>, and their computations' and batches'
    const runs = await store.readStreamsByPrefix(`run-${backfillId}-`);
    const state = [...head, ...runs].reduce(backfillDecider.evolve, backfillDecider.initialState());
    const events = backfillDecider.decide(
      { type: 'AdvanceBackfill', causationId, now: clock().toISOString(), process: owner },
      state,
    );
    return events.length ? publisher.publish(events) : [];
  }

  /**
   * Advances every backfill in the log (at start): a backfill whose requests a dead process did
   * not make goes on. Finished ones request nothing.
   */
  async resumeAll(): Promise<void> {
    const requests = await this.deps.store.readStreamsByPrefix(backfillIds.streams);
    for (const e of requests)
      if (e.type === 'BackfillRequested') await this.advance(e.payload.backfillId, e.eventId);
  }
}
