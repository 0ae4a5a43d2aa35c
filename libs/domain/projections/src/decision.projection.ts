import type { Envelope, EntityFailure, HashParts, Reason, Status } from '@almanac/contracts';
import type { Projection } from './projection';
import { hashKey } from './hash-index.projection';

export interface Decision {
  runId: string;
  status: Status;
  reason: Reason;
  at: string;
  compositeHash: string | null;
  hashParts: HashParts | null;
  resultHash: string | null;
  entities: { total: number; succeeded: number; failed: number; saved: number };
  failedEntities: EntityFailure[];
  scoped: boolean;
  dryRun: boolean;
  forced: boolean;
  durationMs: number;
}

export interface ComputationDateView {
  computation: string;
  date: string;
  latest: Decision;
  /** every decision for this (computation, date), oldest first */
  history: Decision[];
}

export type DecisionsView = Record<string, ComputationDateView>;

/** Every decision per (computation, date): status, audit and explain read this. */
export const decisionProjection: Projection<DecisionsView> = {
  name: 'decisions',
  handles: ['ComputationCompleted'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type !== 'ComputationCompleted') return view;
    const p = event.payload;
    const decision: Decision = {
      runId: p.runId,
      status: p.status,
      reason: p.reason,
      at: event.occurredAt,
      compositeHash: p.compositeHash,
      hashParts: p.hashParts,
      resultHash: p.resultHash,
      entities: p.entities,
      failedEntities: p.failedEntities,
      scoped: p.scoped,
      dryRun: p.dryRun,
      forced: p.forced,
      durationMs: p.durationMs,
    };
    const key = hashKey(p.computation, p.date);
    const entry = (view[key] ??= {
      computation: p.computation,
      date: p.date,
      latest: decision,
      history: [],
    });
    entry.latest = decision;
    entry.history.push(decision);
    return view;
  },
};
