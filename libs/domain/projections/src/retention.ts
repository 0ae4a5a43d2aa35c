import type { Envelope } from '@almanac/contracts';
import { addDays } from '@almanac/kernel';
import { hashKey } from './hash-index.projection';
import type { Projection } from './projection';

/** (computation|date) -> the versions the log says are expired: what a sweep must delete. */
export type ExpiredVersions = Record<string, string[]>;

export const expiredVersionsProjection: Projection<ExpiredVersions> = {
  name: 'expired-versions',
  handles: ['ResultVersionsExpired'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type !== 'ResultVersionsExpired') return view;
    const p = event.payload;
    const key = hashKey(p.computation, p.date);
    view[key] = [...new Set([...(view[key] ?? []), ...p.versions])].sort();
    return view;
  },
};

/** The first date a computation keeps today: dates before it are expired (ADR 0018). */
export function retentionCutoff(today: string, ttlDays: number): string {
  return addDays(today, -ttlDays);
}

export interface StoredDate {
  date: string;
  versions: Array<{ version: string; lastWrittenAt: number }>;
}

export interface RetentionInput {
  computation: string;
  ttlDays: number;
  /** UTC date of the sweep */
  today: string;
  /** epoch ms: a version written at or after it may still be written or read (a run of that date) */
  inUseSince: number;
  /** the dates of the computation that have stored versions and are before `cutoff` or recorded */
  stored: StoredDate[];
  /** what earlier sweeps recorded as expired */
  expired: ExpiredVersions;
  /** date -> the version readers see (the hash index's), if any */
  current: (date: string) => string | null;
}

export interface RetentionDecision {
  cutoff: string;
  /** new expiries to record (one event each), before anything is deleted */
  expire: Array<{ date: string; versions: string[]; current: string | null }>;
  /** versions the log says are expired and the store still has: delete them (again) */
  remove: Array<{ date: string; versions: string[] }>;
}

/**
 * What a retention sweep does for one computation. A date before the cutoff (today - ttlDays) is
 * expired: every version of it whose last write is older than `inUseSince`, the current one
 * included, is recorded, then deleted. Deletion follows the log only: a version is removed if
 * an expiry names it, so a sweep killed between the append and the delete is repaired by the
 * next one, and a sweep that runs twice records nothing new.
 */
export function decideRetention(input: RetentionInput): RetentionDecision {
  const cutoff = retentionCutoff(input.today, input.ttlDays);
  const expire: RetentionDecision['expire'] = [];
  const remove: RetentionDecision['remove'] = [];
  for (const { date, versions } of [...input.stored].sort((a, b) => a.date.localeCompare(b.date))) {
    const recorded = new Set(input.expired[hashKey(input.computation, date)] ?? []);
    const fresh =
      date < cutoff
        ? versions
            .filter((v) => !recorded.has(v.version) && v.lastWrittenAt < input.inUseSince)
            .map((v) => v.version)
            .sort()
        : [];
    if (fresh.length) {
      const current = input.current(date);
      expire.push({
        date,
        versions: fresh,
        current: current !== null && fresh.includes(current) ? current : null,
      });
    }
    const doomed = versions
      .map((v) => v.version)
      .filter((v) => recorded.has(v) || fresh.includes(v))
      .sort();
    if (doomed.length) remove.push({ date, versions: doomed });
  }
  return { cutoff, expire, remove };
}
