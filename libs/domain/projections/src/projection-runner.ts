import type { Envelope } from '@almanac/contracts';
import type { Projection } from './projection';

/** The slice of the event log a projection runner reads (EventStore satisfies it). */
export interface LogReader {
  readAll(opts?: {
    after?: string;
    limit?: number;
  }): Promise<Array<Envelope & { position: string }>>;
}

/**
 * Keeps a set of projections up to date with the log: catchUp() folds every event after the
 * last position seen. Calls are serialised, so concurrent callers share one read.
 */
export class ProjectionRunner<Views extends Record<string, unknown>> {
  private lastPosition: string | undefined;
  private running: Promise<void> = Promise.resolve();
  readonly views: Views;

  constructor(
    private readonly log: LogReader,
    private readonly projections: { [K in keyof Views]: Projection<Views[K]> },
    private readonly pageSize = 5000,
  ) {
    this.views = Object.fromEntries(
      Object.entries(projections).map(([k, p]) => [k, (p as Projection<unknown>).initial()]),
    ) as Views;
  }

  /** log position of the last event folded (null: none) */
  get position(): string | null {
    return this.lastPosition ?? null;
  }

  catchUp(): Promise<void> {
    const next = this.running.then(() => this.readNew());
    this.running = next.catch(() => undefined);
    return next;
  }

  private async readNew(): Promise<void> {
    const entries = Object.entries(this.projections) as Array<[keyof Views, Projection<unknown>]>;
    const handled = entries.map(([k, p]) => [k, p, new Set<string>(p.handles)] as const);
    for (;;) {
      const page = await this.log.readAll({ after: this.lastPosition, limit: this.pageSize });
      for (const event of page) {
        for (const [k, p, types] of handled) {
          if (types.has(event.type))
            (this.views as Record<keyof Views, unknown>)[k] = p.evolve(this.views[k], event);
        }
        this.lastPosition = event.position;
      }
      if (page.length < this.pageSize) return;
    }
  }
}
