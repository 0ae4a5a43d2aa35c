import type { Envelope, EventType } from '@almanac/contracts';

/** A view folded from the log: evolve(view, event) -> view, over an explicit list of event types. */
export interface Projection<View> {
  readonly name: string;
  readonly handles: readonly EventType[];
  initial(): View;
  evolve(view: View, event: Envelope): View;
}

export function fold<View>(
  projection: Projection<View>,
  events: Iterable<Envelope>,
  view = projection.initial(),
): View {
  const handled = new Set<string>(projection.handles);
  for (const e of events) if (handled.has(e.type)) view = projection.evolve(view, e);
  return view;
}

export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
