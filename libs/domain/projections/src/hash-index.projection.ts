import { resultVersionOf, type Envelope, type HashParts } from '@almanac/contracts';
import type { Projection } from './projection';

export interface HashIndexEntry {
  computation: string;
  date: string;
  runId: string;
  compositeHash: string;
  hashParts: HashParts;
  resultHash: string | null;
  /** the version of the results readers see for (computation, date) */
  resultVersion: string | null;
  completedAt: string;
  /** when the execution that produced it started (its completion time less its duration) */
  startedAt: string;
  /**
   * false when the result came from a run restricted to some entities: it never marks the date up
   * to date, so nothing may be skipped against it. (A run that started and did not finish does
   * not touch the entry: it writes a version of its own, which nobody reads until it completes.)
   */
  valid: boolean;
}

export type HashIndex = Record<string, HashIndexEntry>;

export const hashKey = (computation: string, date: string) => `${computation}|${date}`;

/** The last completed result of each (computation, date): what "skip" compares against. */
export const hashIndexProjection: Projection<HashIndex> = {
  name: 'hash-index',
  handles: ['ComputationCompleted'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type !== 'ComputationCompleted') return view;
    const p = event.payload;
    if (p.dryRun || p.status !== 'completed' || !p.compositeHash || !p.hashParts) return view;
    view[hashKey(p.computation, p.date)] = {
      computation: p.computation,
      date: p.date,
      runId: p.runId,
      compositeHash: p.compositeHash,
      hashParts: p.hashParts,
      resultHash: p.resultHash,
      resultVersion: resultVersionOf(p),
      completedAt: event.occurredAt,
      startedAt: new Date(Date.parse(event.occurredAt) - p.durationMs).toISOString(),
      // a run restricted to some entities never marks the date up to date
      valid: !p.scoped,
    };
    return view;
  },
};
