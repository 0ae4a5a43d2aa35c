import { type EventSchemas, streams, type Envelope } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';
import { ManifestError, selectComputations } from '@almanac/kernel';
import { plannerDecider, type DateSettings, type Selection } from '@almanac/domain/planner';
import { inSpan, type EventPublisher } from '@almanac/platform';
import type { LoadedProject } from '@almanac/platform';

/** Planner shell: RunRequested -> RunPlanned + PassReady(0), or RunRejected. */
export class PlannerService {
  constructor(
    private readonly deps: {
      store: EventStore;
      publisher: EventPublisher;
      project: LoadedProject;
      epoch: string;
      /** the dates a run may be for (almanac.config.ts `dates`) */
      dates: DateSettings;
      clock: () => Date;
      /** how messages are read: older versions upcast (ADR 0011) */
      schemas: EventSchemas;
    },
  ) {}

  async onMessage(data: string): Promise<void> {
    const event = this.deps.schemas.parse(JSON.parse(data));
    if (event.type === 'RunRequested') await this.plan(event);
  }

  /** In a span `plan` (ADR 0022): RunPlanned and PassReady(0) are its children. */
  plan(request: Envelope<'RunRequested'>): Promise<void> {
    return inSpan(
      'plan',
      { 'almanac.run_id': request.payload.runId, 'almanac.date': request.payload.date },
      () => this.decide(request),
    );
  }

  private async decide(request: Envelope<'RunRequested'>): Promise<void> {
    const { store, publisher } = this.deps;
    const history = await store.readStream(streams.run(request.payload.runId));
    const state = history.reduce(plannerDecider.evolve, plannerDecider.initialState());
    const events = plannerDecider.decide(
      {
        type: 'PlanRun',
        request,
        selection: this.select(request.payload.targets),
        rules: {
          computations: [...this.deps.project.manifest.entries.keys()],
          dates: this.deps.dates,
        },
        epoch: this.deps.epoch,
        now: this.deps.clock().toISOString(),
      },
      state,
    );
    await publisher.publish(events);
  }

  private select(targets: string[]): Selection {
    try {
      const names = selectComputations(this.deps.project.manifest, targets);
      return { ok: true, computations: names.map((n) => this.deps.project.planned.get(n)!) };
    } catch (err) {
      if (err instanceof ManifestError && err.code === 'unknown-computation') {
        return { ok: false, code: 'unknown-computation', message: err.message };
      }
      throw err;
    }
  }
}
