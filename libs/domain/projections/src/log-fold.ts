import type { Envelope } from '@almanac/contracts';
import type { Projection } from './projection';

/** One projection per view name. */
export type ProjectionSet<Views extends Record<string, unknown>> = {
  [K in keyof Views]: Projection<Views[K]>;
};

/** A page reader over the log in its global (commit) order; EventStore satisfies it. */
export interface PagedLog<E extends Envelope & { position: string }> {
  readAll(opts?: { after?: string; limit?: number }): Promise<E[]>;
}

/** An evolve call threw: the view it was applied to may be half-changed. */
export class ProjectionFailedError extends Error {
  readonly code = 'projection-failed';
  readonly retryable = false;
  constructor(
    readonly view: string,
    readonly eventId: string,
    readonly position: string,
    readonly cause: unknown,
  ) {
    super(
      `projection of view "${view}" failed on event "${eventId}" at position ${position}: ` +
        `${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'ProjectionFailedError';
  }
}

export function initialViews<Views extends Record<string, unknown>>(
  projections: ProjectionSet<Views>,
): Views {
  return Object.fromEntries(
    Object.entries(projections).map(([k, p]) => [k, (p as Projection<unknown>).initial()]),
  ) as Views;
}

/** A function applying one event to every view whose projection handles its type, in place. */
export function applier<Views extends Record<string, unknown>>(
  projections: ProjectionSet<Views>,
): (views: Views, event: Envelope & { position: string }) => void {
  const entries = (Object.entries(projections) as Array<[string, Projection<unknown>]>).map(
    ([key, p]) => ({ key, p, types: new Set<string>(p.handles) }),
  );
  return (views, event) => {
    const target = views as Record<string, unknown>;
    for (const { key, p, types } of entries) {
      if (!types.has(event.type)) continue;
      try {
        target[key] = p.evolve(target[key], event);
      } catch (e) {
        throw new ProjectionFailedError(key, event.eventId, event.position, e);
      }
    }
  };
}

/** Every event strictly after `after`, page by page, in log order. */
export async function* readEvents<E extends Envelope & { position: string }>(
  log: PagedLog<E>,
  after: string | null,
  pageSize: number,
): AsyncGenerator<E> {
  let cursor = after;
  for (;;) {
    const page = await log.readAll({ after: cursor ?? undefined, limit: pageSize });
    for (const event of page) {
      cursor = event.position;
      yield event;
    }
    if (page.length < pageSize) return;
  }
}

export function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
