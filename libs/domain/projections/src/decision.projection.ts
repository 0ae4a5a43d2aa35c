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

/**
 * Decisions kept per (computation, date). A date forced again and again (a test loop, a flaky
 * source) would otherwise grow the api's memory with every run; older ones stay in the log.
 */
export const MAX_DECISIONS_KEPT = 20;

export interface ComputationDateView {
  computation: string;
  date: string;
  latest: Decision;
  /** the newest MAX_DECISIONS_KEPT decisions for this (computation, date), oldest first */
  history: Decision[];
  /** decisions before `history` (in the log only) */
  earlier: number;
  /** the last completed, non-dry-run decision before `latest` (what explain compares with) */
  previousCompleted: Decision | null;
  /** every decision by status, `earlier` ones included */
  counts: Partial<Record<Status, number>>;
  /** entities failed over every decision */
  failedEntities: number;
  /** the latest result version exported to BigQuery for (computation, date) (ADR 0026) */
  exported?: ExportRecord;
}

export interface ExportRecord {
  runId: string;
  version: string;
  rows: number;
  table: string;
  at: string;
}

export type DecisionsView = Record<string, ComputationDateView>;

/** The decisions per (computation, date), bounded: status, audit, explain and metrics read this. */
export const decisionProjection: Projection<DecisionsView> = {
  name: 'decisions',
  handles: ['ComputationCompleted', 'ResultsExported'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type === 'ResultsExported') {
      const p = event.payload;
      const entry = view[hashKey(p.computation, p.date)];
      if (entry)
        entry.exported = {
          runId: p.runId,
          version: p.version,
          rows: p.rows,
          table: p.table,
          at: event.occurredAt,
        };
      return view;
    }
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
    const entry = view[key];
    if (!entry) {
      view[key] = {
        computation: p.computation,
        date: p.date,
        latest: decision,
        history: [decision],
        earlier: 0,
        previousCompleted: null,
        counts: { [p.status]: 1 },
        failedEntities: p.entities.failed,
      };
      return view;
    }
    if (entry.latest.status === 'completed' && !entry.latest.dryRun)
      entry.previousCompleted = entry.latest;
    entry.latest = decision;
    entry.history.push(decision);
    if (entry.history.length > MAX_DECISIONS_KEPT) {
      entry.history.shift();
      entry.earlier++;
    }
    entry.counts[p.status] = (entry.counts[p.status] ?? 0) + 1;
    entry.failedEntities += p.entities.failed;
    return view;
  },
};
