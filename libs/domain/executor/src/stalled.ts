import type { RunView } from '@almanac/domain/projections';

export interface StalledWork {
  /** started computations of the current pass with no progress for the threshold: a new attempt */
  takeOver: string[];
  /** computations of a pass made ready that long ago and never started */
  start: string[];
  /** every computation of the current pass decided, but the run was not moved on */
  advance: boolean;
  /**
   * computations of the current pass waiting for another run's execution: the sweep decides them
   * again if that run is done with it (its ComputationCompleted may have been missed, or published
   * on another process's bus)
   */
  waiting: string[];
}

const TERMINAL = new Set(['completed', 'skipped', 'blocked', 'impossible', 'failed']);

/**
 * What a sweeping executor must pick up in a run whose owner stopped making progress (DESIGN §5
 * invariant 2: work owned by a dead executor is taken over once it has been quiet for the
 * zombie threshold). Pure: `now` comes in.
 */
export function findStalled(run: RunView, now: string, thresholdMs: number): StalledWork {
  const none: StalledWork = { takeOver: [], start: [], advance: false, waiting: [] };
  if (run.status !== 'running' || run.currentPass === null) return none;
  const pass = run.currentPass;
  const names = run.passes[pass] ?? [];
  const quietSince = (iso: string | null | undefined) =>
    iso !== null && iso !== undefined && Date.parse(now) - Date.parse(iso) >= thresholdMs;
  const takeOver: string[] = [];
  const start: string[] = [];
  const waiting: string[] = [];
  for (const name of names) {
    const c = run.computations[name];
    if (!c) continue;
    if (c.status === 'running' && quietSince(c.lastProgressAt)) takeOver.push(name);
    if (c.status === 'pending' && quietSince(run.passReadyAt[pass])) start.push(name);
    if (c.status === 'waiting') waiting.push(name);
  }
  const advance =
    names.length > 0 &&
    names.every((n) => TERMINAL.has(run.computations[n]?.status)) &&
    quietSince(latestCompletion(run, names));
  return { takeOver, start, advance, waiting };
}

function latestCompletion(run: RunView, names: string[]): string | null {
  let latest: string | null = null;
  for (const n of names) {
    const at = run.computations[n]?.completedAt;
    if (at && (!latest || at > latest)) latest = at;
  }
  return latest;
}
