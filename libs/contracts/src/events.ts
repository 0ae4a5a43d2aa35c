import { z } from 'zod';
import { IsoDate } from './envelope';

export const ComputationName = z.string().min(1);
export const RunId = z.string().min(1);

export const Status = z.enum(['completed', 'skipped', 'blocked', 'impossible', 'failed']);
export type Status = z.infer<typeof Status>;

/** The parts the composite hash is made of (DESIGN §3). */
export const HashParts = z.object({
  code: z.string(),
  epoch: z.string(),
  /** table -> fingerprint of the required date window */
  inputs: z.record(z.string(), z.string()),
  /** dependency -> its result hash in this run (null when it has no result) */
  dependencies: z.record(z.string(), z.string().nullable()),
  /** previous date's result hash, when isHistorical */
  previous: z.string().nullable(),
  /** digest of the entity ids when the run is restricted to some entities */
  scope: z.string().nullable(),
});
export type HashParts = z.infer<typeof HashParts>;

export const EntityFailure = z.object({ entityId: z.string(), message: z.string() });
export type EntityFailure = z.infer<typeof EntityFailure>;

const DateWindow = z.object({ from: IsoDate, to: IsoDate });

/** Why a computation ended as it did: machine-readable, one code per outcome. */
export const Reason = z.discriminatedUnion('code', [
  z.object({ code: z.literal('unchanged'), compositeHash: z.string() }),
  z.object({ code: z.literal('first-run') }),
  z.object({ code: z.literal('changed'), changed: z.array(z.string()) }),
  z.object({ code: z.literal('forced'), changed: z.array(z.string()) }),
  z.object({ code: z.literal('scoped'), entities: z.number().int() }),
  z.object({
    code: z.literal('dependency-not-ready'),
    dependencies: z.array(z.object({ name: z.string(), status: Status })),
  }),
  z.object({ code: z.literal('mandatory-table-empty'), table: z.string(), window: DateWindow }),
  z.object({
    code: z.literal('entity-failures'),
    failed: z.number().int(),
    total: z.number().int(),
  }),
  z.object({ code: z.literal('circuit-open'), message: z.string() }),
  z.object({ code: z.literal('timeout'), message: z.string() }),
  z.object({ code: z.literal('error'), message: z.string() }),
  /**
   * another run was executing this (computation, date): this run waited for it and used its
   * result (`status` completed), or is blocked because it did not complete (its status)
   */
  z.object({ code: z.literal('delegated'), runId: z.string(), status: Status }),
  /** the process running it died and the run was marked abandoned (embedded profile) */
  z.object({ code: z.literal('abandoned'), message: z.string() }),
]);

/** Versions of results a batch reads: dependency name (or PREVIOUS_RESULT) -> version, null: none. */
export const ReadVersions = z.record(z.string(), z.string().nullable());
export type ReadVersions = z.infer<typeof ReadVersions>;
export type Reason = z.infer<typeof Reason>;

export const RunRequestedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  /** computations asked for; empty means every computation */
  targets: z.array(ComputationName).default([]),
  /** restrict per-entity work to these entities; absent means all */
  entityIds: z.array(z.string().min(1)).min(1).optional(),
  /** re-run the targets even if nothing changed (every computation when there are no targets) */
  force: z.boolean().default(false),
  /** re-run the targets and every computation they depend on (absent in older events: false) */
  forceUpstream: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  requestedBy: z.string().default('cli'),
  trigger: z.enum(['manual', 'schedule', 'backfill', 'resume']).default('manual'),
});

export const PlannedComputation = z.object({
  name: ComputationName,
  pass: z.number().int().nonnegative(),
  type: z.enum(['global', 'per-entity']),
  dependencies: z.array(ComputationName),
  codeHash: z.string(),
  /** path (relative to the project root) -> hash of that file, for explaining code changes */
  codeFiles: z.record(z.string(), z.string()).default({}),
});
export type PlannedComputation = z.infer<typeof PlannedComputation>;

export const RunPlannedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  epoch: z.string(),
  passes: z.array(z.array(ComputationName)),
  computations: z.array(PlannedComputation),
  force: z.boolean(),
  /**
   * the computations this run re-runs even if nothing changed. Absent in events recorded before
   * --force-upstream: then `force` forced every computation of the run.
   */
  forced: z.array(ComputationName).optional(),
  dryRun: z.boolean(),
  entityIds: z.array(z.string()).optional(),
});

export const RunRejectedPayload = z.object({
  runId: RunId,
  date: z.string(),
  code: z.enum(['invalid-request', 'unknown-computation', 'invalid-manifest']),
  message: z.string(),
});

export const PassReadyPayload = z.object({
  runId: RunId,
  date: IsoDate,
  pass: z.number().int().nonnegative(),
  computations: z.array(ComputationName),
});

export const ComputationStartedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  pass: z.number().int().nonnegative(),
  attempt: z.number().int().positive(),
  owner: z.string(),
  leaseExpiresAt: z.string(),
  compositeHash: z.string(),
  hashParts: HashParts,
  entityCount: z.number().int().nonnegative(),
  batchCount: z.number().int().nonnegative(),
  scoped: z.boolean(),
  dryRun: z.boolean(),
  forced: z.boolean(),
  /** why it runs: first-run, changed (with the parts), forced or scoped */
  reason: Reason,
  /**
   * the version its results are written to (absent in events recorded before results were
   * versioned); readers see it only once a ComputationCompleted names it
   */
  resultVersion: z.string().min(1).optional(),
  /** the result versions its batches read: each dependency's in this run, the previous date's */
  readVersions: ReadVersions.default({}),
  /**
   * batches in flight at once: batch k's answer dispatches batch k + lanes, so any executor
   * replica can move the window on from the log alone (absent: every batch at once)
   */
  lanes: z.number().int().positive().optional(),
});

export const BatchRequestedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  attempt: z.number().int().positive(),
  batch: z.number().int().nonnegative(),
  /** 0 for the first dispatch of a batch, n for its n-th retry */
  retry: z.number().int().nonnegative().default(0),
  /** `['_global']` for a global computation */
  entityIds: z.array(z.string()).min(1),
  dryRun: z.boolean(),
  /** the run is restricted to some entities (its version copies the others' results at the end) */
  scoped: z.boolean().default(false),
  /** where the results go (absent in events recorded before results were versioned: the run id) */
  resultVersion: z.string().min(1).optional(),
  /** the result versions to read dependencies and the previous date's result from */
  readVersions: ReadVersions.default({}),
});

export const BatchDonePayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  attempt: z.number().int().positive(),
  batch: z.number().int().nonnegative(),
  retry: z.number().int().nonnegative().default(0),
  processed: z.number().int().nonnegative(),
  saved: z.number().int().nonnegative(),
  failures: z.array(EntityFailure),
  /** set when the whole batch failed (worker error, not an entity's) */
  error: z.string().optional(),
  /** the batch error cannot be fixed by retrying (bad table setting, unknown column...) */
  permanent: z.boolean().optional(),
  durationMs: z.number().nonnegative(),
  /** the worker replica that did it (its owner name, ALMANAC_OWNER); absent in older events */
  worker: z.string().min(1).optional(),
});

export const CircuitOpenedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  attempt: z.number().int().positive(),
  calls: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  message: z.string(),
});

export const ComputationCompletedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  pass: z.number().int().nonnegative(),
  status: Status,
  reason: Reason,
  compositeHash: z.string().nullable(),
  hashParts: HashParts.nullable(),
  /** this computation's result hash for the date after this decision (for skipped: the stored one) */
  resultHash: z.string().nullable(),
  /**
   * the result version readers see after this decision (completed: its own; skipped: the stored
   * one; otherwise null). Absent in events recorded before results were versioned: see
   * `resultVersionOf`.
   */
  resultVersion: z.string().min(1).nullable().optional(),
  entities: z.object({
    total: z.number().int().nonnegative(),
    succeeded: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    saved: z.number().int().nonnegative(),
  }),
  /** failed entities, at most the first 1000 */
  failedEntities: z.array(EntityFailure),
  scoped: z.boolean(),
  dryRun: z.boolean(),
  forced: z.boolean(),
  durationMs: z.number().nonnegative(),
});

export const RunCompletedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  /** abandoned: the process running it died (embedded profile); see reason `abandoned` */
  status: z.enum(['completed', 'failed', 'abandoned']),
  counts: z.record(Status, z.number().int().nonnegative()),
  durationMs: z.number().nonnegative(),
});

export const ComputationDelegatedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  pass: z.number().int().nonnegative(),
  /** the run executing this (computation, date); this run waits for its ComputationCompleted */
  to: RunId,
});

/**
 * A run takes the execution of a (computation, date): appended to that pair's claim stream with
 * an expected version, so two runs never execute one (computation, date) at the same time.
 */
export const ExecutionClaimedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
});

/** Dependency key of the previous date's result in `readVersions` (isHistorical). */
export const PREVIOUS_RESULT = '@previous';
