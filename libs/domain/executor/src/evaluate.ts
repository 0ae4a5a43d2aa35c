import type { HashParts, Reason, Status } from '@almanac/contracts';
import { compositeHash, diffHashParts, scopeDigest } from '@almanac/kernel';

export interface RequiredInput {
  table: string;
  mandatory: boolean;
  window: { from: string; to: string };
  /** fingerprint of the window: row count and content digest */
  rowCount: number;
  digest: string;
}

export interface LastCompleted {
  compositeHash: string;
  hashParts: HashParts;
  resultHash: string | null;
  /** the version readers see (a skip names it again) */
  resultVersion: string | null;
  valid: boolean;
  /** an operator invalidated it (ADR 0018): never skipped against, reason `changed: [tainted]` */
  taint?: unknown;
}

export interface EvaluateInput {
  computation: string;
  codeHash: string;
  epoch: string;
  force: boolean;
  /** set when the run is restricted to some entities */
  scopedEntityIds: string[] | null;
  /** each dependency's decision in this run and its result hash */
  dependencies: Array<{
    name: string;
    status: Status | 'pending' | 'running' | 'waiting';
    resultHash: string | null;
  }>;
  inputs: RequiredInput[];
  isHistorical: boolean;
  previousResultHash: string | null;
  lastCompleted: LastCompleted | null;
}

export type Evaluation =
  | { kind: 'blocked'; status: 'blocked'; reason: Reason }
  | { kind: 'impossible'; status: 'impossible'; reason: Reason }
  | {
      kind: 'skipped';
      status: 'skipped';
      reason: Reason;
      compositeHash: string;
      hashParts: HashParts;
      resultHash: string | null;
      resultVersion: string | null;
    }
  | { kind: 'failed'; status: 'failed'; reason: Reason }
  | { kind: 'run'; reason: Reason; compositeHash: string; hashParts: HashParts };

/** Dependencies' statuses alone decide `blocked`; no input needs to be read for it. */
export function blockedBy(dependencies: EvaluateInput['dependencies']): Evaluation | null {
  const notReady = dependencies.filter((d) => d.status !== 'completed' && d.status !== 'skipped');
  if (notReady.length === 0) return null;
  return {
    kind: 'blocked',
    status: 'blocked',
    reason: {
      code: 'dependency-not-ready',
      dependencies: notReady.map((d) => ({
        name: d.name,
        // a dependency still pending here is a planning bug; report it as blocked rather than guess
        status:
          d.status === 'pending' || d.status === 'running' || d.status === 'waiting'
            ? 'blocked'
            : d.status,
      })),
    },
  };
}

/** Decides blocked / impossible / skipped / run for one computation of a run (DESIGN §2, §3). */
export function evaluateComputation(input: EvaluateInput): Evaluation {
  const blocked = blockedBy(input.dependencies);
  if (blocked) return blocked;

  const empty = input.inputs.find((i) => i.mandatory && i.rowCount === 0);
  if (empty) {
    return {
      kind: 'impossible',
      status: 'impossible',
      reason: { code: 'mandatory-table-empty', table: empty.table, window: empty.window },
    };
  }

  const hashParts: HashParts = {
    code: input.codeHash,
    epoch: input.epoch,
    inputs: Object.fromEntries(input.inputs.map((i) => [i.table, i.digest])),
    dependencies: Object.fromEntries(
      [...input.dependencies]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((d) => [d.name, d.resultHash]),
    ),
    previous: input.isHistorical ? input.previousResultHash : null,
    scope: input.scopedEntityIds ? scopeDigest(input.scopedEntityIds) : null,
  };
  const hash = compositeHash(hashParts);
  const last = input.lastCompleted;

  if (!input.force && !input.scopedEntityIds && last?.valid && last.compositeHash === hash) {
    return {
      kind: 'skipped',
      status: 'skipped',
      reason: { code: 'unchanged', compositeHash: hash },
      compositeHash: hash,
      hashParts,
      resultHash: last.resultHash,
      resultVersion: last.resultVersion,
    };
  }

  const changed = last ? diffHashParts(last.hashParts, hashParts) : [];
  // an operator invalidated the last result; else it came from a run restricted to some entities
  if (last?.taint) changed.push('tainted');
  else if (last && !last.valid && changed.length === 0) changed.push('last-result-partial');
  // a scoped run processes each distinct id once; count what will run
  const reason: Reason = input.scopedEntityIds
    ? { code: 'scoped', entities: new Set(input.scopedEntityIds).size }
    : input.force
      ? { code: 'forced', changed }
      : last
        ? { code: 'changed', changed }
        : { code: 'first-run' };
  return { kind: 'run', reason, compositeHash: hash, hashParts };
}

/** Splits sorted entity ids into batches of at most `size`. */
export function planBatches(entityIds: string[], size: number): string[][] {
  if (size < 1) throw new Error(`batch size must be at least 1, got ${size}`);
  const batches: string[][] = [];
  for (let i = 0; i < entityIds.length; i += size) batches.push(entityIds.slice(i, i + size));
  return batches;
}
