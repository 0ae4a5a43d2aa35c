import { streams } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';

/** An operator's invalidation, as explain and audit show it. */
export interface InvalidationRecord {
  invalidationId: string;
  computations: string[];
  from: string;
  to: string;
  reason: string;
  requestedBy: string;
  at: string;
}

/** Every invalidation that covers (computation, date), oldest first; up to `asOf` when given. */
export async function invalidationsOf(
  store: EventStore,
  computation: string,
  date: string,
  asOf?: string,
): Promise<InvalidationRecord[]> {
  const events = await store.readStreamsByPrefix(streams.invalidation(''));
  const out: InvalidationRecord[] = [];
  for (const e of events) {
    if (e.type !== 'ComputationsInvalidated') continue;
    const p = e.payload;
    if (!p.computations.includes(computation) || date < p.from || date > p.to) continue;
    if (asOf !== undefined && e.occurredAt > asOf) continue;
    out.push({ ...p, at: e.occurredAt });
  }
  return out;
}
