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
  /**
   * set by an operator's invalidation (ComputationsInvalidated) of this result: it is not
   * skippable (`valid` is false) until a run completes the (computation, date) again
   */
  taint?: Taint;
}

/** An operator's invalidation of a result (ADR 0018). */
export interface Taint {
  invalidationId: string;
  reason: string;
  requestedBy: string;
  at: string;
}

export type HashIndex = Record<string, HashIndexEntry>;

export const hashKey = (computation: string, date: string) => `${computation}|${date}`;

/**
 * The last completed result of each (computation, date): what "skip" compares against. An
 * invalidation taints the results it covers; an expiry of the version readers see removes the
 * entry (its rows are gone: the next run of that date runs as a first run).
 */
export const hashIndexProjection: Projection<HashIndex> = {
  name: 'hash-index',
  handles: ['ComputationCompleted', 'ComputationsInvalidated', 'ResultVersionsExpired'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type === 'ComputationsInvalidated') {
      const p = event.payload;
      const names = new Set(p.computations);
      const taint: Taint = {
        invalidationId: p.invalidationId,
        reason: p.reason,
        requestedBy: p.requestedBy,
        at: event.occurredAt,
      };
      for (const [key, entry] of Object.entries(view))
        if (names.has(entry.computation) && entry.date >= p.from && entry.date <= p.to)
          view[key] = { ...entry, valid: false, taint };
      return view;
    }
    if (event.type === 'ResultVersionsExpired') {
      const p = event.payload;
      const key = hashKey(p.computation, p.date);
      const entry = view[key];
      if (entry?.resultVersion && p.versions.includes(entry.resultVersion)) delete view[key];
      return view;
    }
    if (event.type !== 'ComputationCompleted') return view;
    const p = event.payload;
    if (p.dryRun || p.status !== 'completed' || !p.compositeHash || !p.hashParts) return view;
    const key = hashKey(p.computation, p.date);
    const startedAt = new Date(Date.parse(event.occurredAt) - p.durationMs).toISOString();
    // an execution that started before the taint may have read what the taint is about
    const taint = view[key]?.taint;
    const stillTainted = taint !== undefined && taint.at > startedAt;
    view[key] = {
      computation: p.computation,
      date: p.date,
      runId: p.runId,
      compositeHash: p.compositeHash,
      hashParts: p.hashParts,
      resultHash: p.resultHash,
      resultVersion: resultVersionOf(p),
      completedAt: event.occurredAt,
      startedAt,
      // a run restricted to some entities never marks the date up to date
      valid: !p.scoped && !stillTainted,
      ...(stillTainted ? { taint } : {}),
    };
    return view;
  },
};
