import { closestNames, didYouMean } from './closest-names';
import { type ComputationClass, isComputationClass } from './computation';
import { type ComputationConfig, parseComputationConfig } from './computation-config';
import { ManifestError } from './manifest-error';
import { dependencyGapViolation, describeSchedule, type ScheduleInput } from './schedule';

/** Project-wide settings the manifest applies (the project config's `scheduler` section). */
export interface ManifestOptions {
  /** the project's default schedule, under each computation's own fields */
  schedule?: ScheduleInput;
  /** a dependant's slots must come at least this long after its dependencies' (default 15) */
  dependencyGapMinutes?: number;
}

export interface ManifestEntry {
  name: string;
  config: ComputationConfig;
  ctor: ComputationClass;
  file: string;
  /** 0 = no dependencies; n = 1 + the highest pass among its dependencies */
  pass: number;
}

export interface Manifest {
  entries: Map<string, ManifestEntry>;
  /** names per pass, sorted inside each pass */
  passes: string[][];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Validates every config, then checks the graph: unique names, known dependencies, no cycles.
 * Assigns passes with Kahn's algorithm.
 */
export function buildManifest(
  defs: Array<{ ctor: ComputationClass; file: string }>,
  options: ManifestOptions = {},
): Manifest {
  const entries = new Map<string, ManifestEntry>();
  for (const { ctor, file } of defs) {
    if (!isComputationClass(ctor)) {
      throw new ManifestError(
        'not-a-computation',
        `${file}: export is not a Computation class (needs static getConfig() and process())`,
        { file },
      );
    }
    let raw: unknown;
    try {
      raw = ctor.getConfig();
    } catch (e) {
      throw new ManifestError(
        'invalid-config',
        `${file}: getConfig() threw: ${(e as Error).message}`,
        { file },
      );
    }
    const config = parseComputationConfig(raw, file, options.schedule);
    const existing = entries.get(config.name);
    if (existing) {
      throw new ManifestError(
        'duplicate-name',
        `duplicate computation name "${config.name}" in ${existing.file} and ${file}`,
        { name: config.name, files: [existing.file, file] },
      );
    }
    entries.set(config.name, { name: config.name, config, ctor, file, pass: -1 });
  }

  const names = [...entries.keys()].sort(byName);
  for (const name of names) {
    for (const dep of entries.get(name)!.config.dependencies) {
      if (!entries.has(dep)) {
        const suggestions = closestNames(dep, names, 1);
        throw new ManifestError(
          'unknown-dependency',
          `computation "${name}" depends on unknown computation "${dep}"${didYouMean(suggestions)}`,
          { computation: name, dependency: dep, suggestions },
        );
      }
    }
  }

  // Kahn: repeatedly take every computation whose dependencies all have a pass.
  const remainingDeps = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const name of names) {
    const deps = new Set(entries.get(name)!.config.dependencies);
    remainingDeps.set(name, deps.size);
    for (const dep of deps) {
      const list = dependants.get(dep) ?? [];
      list.push(name);
      dependants.set(dep, list);
    }
  }
  const passes: string[][] = [];
  let ready = names.filter((n) => remainingDeps.get(n) === 0);
  while (ready.length) {
    const pass = passes.length;
    passes.push([...ready].sort(byName));
    const next: string[] = [];
    for (const name of ready) {
      entries.get(name)!.pass = pass;
      for (const d of dependants.get(name) ?? []) {
        const left = remainingDeps.get(d)! - 1;
        remainingDeps.set(d, left);
        if (left === 0) next.push(d);
      }
    }
    ready = next;
  }

  const unplaced = names.filter((n) => entries.get(n)!.pass < 0);
  if (unplaced.length) {
    const cycle = findCycle(unplaced, entries);
    throw new ManifestError('cycle', `dependency cycle: ${cycle.join(' -> ')}`, { cycle });
  }
  checkDependencyGaps(entries, names, options.dependencyGapMinutes ?? 15);
  return { entries, passes };
}

/** A dependant scheduled 0 < d < `gap` minutes after one of its dependencies is refused. */
function checkDependencyGaps(entries: Map<string, ManifestEntry>, names: string[], gap: number) {
  for (const name of names) {
    const own = entries.get(name)!.config.schedule;
    if (!own.enabled) continue;
    for (const dep of [...new Set(entries.get(name)!.config.dependencies)].sort(byName)) {
      const theirs = entries.get(dep)!.config.schedule;
      if (!theirs.enabled) continue;
      const v = dependencyGapViolation(own, theirs, gap);
      if (!v) continue;
      throw new ManifestError(
        'schedule-gap',
        `computation "${name}" (${describeSchedule(own)}) is scheduled ${v.minutes} min after its dependency "${dep}" (${describeSchedule(theirs)}), e.g. at ${v.slot.toISOString()}: a dependant is scheduled at the same time as its dependencies (one run) or at least ${gap} min after them (scheduler.dependencyGapMinutes)`,
        { computation: name, dependency: dep, minutes: v.minutes, gapMinutes: gap },
      );
    }
  }
}

/**
 * Every computation Kahn could not place has an unplaced dependency, so following those edges
 * must revisit a node; the loop from there is a cycle. Rotated to start at its smallest name.
 */
function findCycle(unplaced: string[], entries: Map<string, ManifestEntry>): string[] {
  const pending = new Set(unplaced);
  const path: string[] = [];
  const seenAt = new Map<string, number>();
  let node = unplaced[0];
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    const deps = [...new Set(entries.get(node)!.config.dependencies)]
      .filter((d) => pending.has(d))
      .sort(byName);
    node = deps[0];
  }
  const loop = path.slice(seenAt.get(node));
  let start = 0;
  for (let i = 1; i < loop.length; i++) if (loop[i] < loop[start]) start = i;
  const rotated = [...loop.slice(start), ...loop.slice(0, start)];
  return [...rotated, rotated[0]];
}

/**
 * The computations of a run that re-run even if nothing changed: with `force` the targets (every
 * selected computation when there are none), with `forceUpstream` the targets and everything
 * they depend on, i.e. every selected computation. Sorted as `selected`.
 */
export function forcedComputations(
  selected: string[],
  targets: string[],
  force: { force: boolean; forceUpstream: boolean },
): string[] {
  if (force.forceUpstream || (force.force && targets.length === 0)) return [...selected];
  if (!force.force) return [];
  return selected.filter((name) => targets.includes(name));
}

/**
 * The computations a run for `targets` includes: the targets and their transitive
 * dependencies (all computations when targets is empty), ordered by (pass, name).
 */
export function selectComputations(manifest: Manifest, targets: string[]): string[] {
  const all = [...manifest.entries.keys()];
  const selected = new Set<string>();
  if (!targets.length) {
    all.forEach((n) => selected.add(n));
  } else {
    const stack: string[] = [];
    for (const t of targets) {
      if (!manifest.entries.has(t)) {
        const suggestions = closestNames(t, all);
        throw new ManifestError(
          'unknown-computation',
          `unknown computation "${t}"${didYouMean(suggestions)}`,
          { computation: t, suggestions },
        );
      }
      stack.push(t);
    }
    while (stack.length) {
      const name = stack.pop()!;
      if (selected.has(name)) continue;
      selected.add(name);
      stack.push(...manifest.entries.get(name)!.config.dependencies);
    }
  }
  return [...selected].sort(
    (a, b) => manifest.entries.get(a)!.pass - manifest.entries.get(b)!.pass || byName(a, b),
  );
}
