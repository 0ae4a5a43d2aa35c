import type { Envelope, HashParts } from '@almanac/contracts';
import type { Projection } from './projection';

export interface HashIndexEntry {
  computation: string;
  date: string;
  runId: string;
  compositeHash: string;
  hashParts: HashParts;
  resultHash: string | null;
  completedAt: string;
  /**
   * false once a later run started (re)writing this computation's results for the date and has not
   * completed: the stored results may be partial, so nothing may be skipped against them.
   */
  valid: boolean;
}

export type HashIndex = Record<string, HashIndexEntry>;

export const hashKey = (computation: string, date: string) => `${computation}|${date}`;

/** The last completed result of each (computation, date): what "skip" compares against. */
export const hashIndexProjection: Projection<HashIndex> = {
  name: 'hash-index',
  handles: ['ComputationStarted', 'ComputationCompleted'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type === 'ComputationStarted') {
      const p = event.payload;
      if (p.dryRun) return view;
      const entry = view[hashKey(p.computation, p.date)];
      if (entry) entry.valid = false;
    } else if (event.type === 'ComputationCompleted') {
      const p = event.payload;
      if (p.dryRun || p.status !== 'completed' || !p.compositeHash || !p.hashParts) return view;
      view[hashKey(p.computation, p.date)] = {
        computation: p.computation,
        date: p.date,
        runId: p.runId,
        compositeHash: p.compositeHash,
        hashParts: p.hashParts,
        resultHash: p.resultHash,
        completedAt: event.occurredAt,
        // a run restricted to some entities never marks the date up to date
        valid: !p.scoped,
      };
    }
    return view;
  },
};
