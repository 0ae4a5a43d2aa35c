import { evaluateComputation, type RequiredInput } from '@almanac/domain/executor';
import { hashKey } from '@almanac/domain/projections';
import {
  addDays,
  forcedComputations,
  previousDate,
  selectComputations,
  windowFor,
} from '@almanac/kernel';
import { ENTITY_SET_INPUT, entitySetInput } from '@almanac/platform';
import type { LoadedProject, ProjectConfig } from '@almanac/platform';
import type { Warehouse } from '@almanac/warehouse';
import {
  describeReason,
  type ForceOptions,
  type Prediction,
  type RunLookup,
  type Views,
} from '../queries';
import { summarizeImpact, type ImpactGroup } from './impact-summary';

type DateWindow = { from: string; to: string };

/** Why a cell would run: one hash part that differs from its last completed result, or none. */
export type Cause =
  /** its code hash differs; `files` are the files whose hashes differ from the run that produced the result */
  | { kind: 'code'; files: string[] }
  /** the fingerprint of a required table's window differs */
  | { kind: 'data'; table: string }
  /** the entity set of the date (per-entity computations) differs */
  | { kind: 'entities' }
  /** a dependency's current result is not the one the last result used */
  | { kind: 'dependency'; dependency: string }
  /** (isHistorical) the previous date's current result is not the one the last result used */
  | { kind: 'previous' }
  | { kind: 'epoch' }
  /** the last result came from a run restricted to some entities */
  | { kind: 'partial' }
  | { kind: 'first-run' }
  | { kind: 'forced' };

/** A cell this one waits for: it re-runs only if that one's result changes. */
export interface CellRef {
  computation: string;
  date: string;
}

export interface PreviewCell {
  computation: string;
  date: string;
  pass: number;
  prediction: Prediction;
  /** one line, as `analyze --date` says it */
  why: string;
  /** for `run`: what changed (several when several hash parts changed) */
  causes: Cause[];
  /** for `maybe` (and `run`): the cells of this preview whose new result would re-run it */
  upstream: CellRef[];
  /** for `blocked`: the dependencies that are blocked or impossible on that date */
  blockedOn: string[];
  /** for `impossible`: the empty mandatory table and its window */
  emptyTable: { table: string; from: string; to: string } | null;
}

export interface ImpactPreview {
  from: string;
  to: string;
  /** the number of dates in the range */
  dates: number;
  targets: string[];
  force: boolean;
  forceUpstream: boolean;
  /** every (computation, date), by date, then pass, then name */
  cells: PreviewCell[];
  totals: Record<Prediction, number>;
  /** per computation: how many dates it would run, skip, ... */
  computations: Array<{ computation: string; pass: number; counts: Record<Prediction, number> }>;
  /** the causes grouped as a reviewer reads them, each with a line of text */
  summary: ImpactGroup[];
  /** what the preview cannot know */
  note: string;
}

export const MAYBE_NOTE =
  'the preview cannot know the new result of a computation that re-runs: its dependants are ' +
  '"maybe", they re-run only if that result changes';

/** What a range preview reads: the project, the warehouse and the views of the log. */
interface PreviewSource {
  project: LoadedProject;
  config: ProjectConfig;
  warehouse: Warehouse;
  views: Views;
  /** the run that produced a result, for the code files it hashed */
  runOf: RunLookup;
}

export const PREDICTIONS: readonly Prediction[] = ['run', 'maybe', 'skip', 'blocked', 'impossible'];

const zeroCounts = (): Record<Prediction, number> => ({
  run: 0,
  maybe: 0,
  skip: 0,
  blocked: 0,
  impossible: 0,
});

/** Every date from `from` to `to`, inclusive. */
export function datesOf(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
  return dates;
}

/**
 * What runs of every date of [from, to] would do, computed without appending anything: the
 * decision of each (computation, date) from the hash parts recorded for its last completed result.
 * Read once per range, not per cell: every window of a table in one read (fingerprintWindows,
 * where the warehouse has it; else each distinct window once), each date's entity set, and the
 * code files of each distinct earlier code hash.
 */
export async function previewImpact(
  src: PreviewSource,
  from: string,
  to: string,
  targets: string[] = [],
  force: ForceOptions = { force: false, forceUpstream: false },
): Promise<ImpactPreview> {
  const { project, config, warehouse, views } = src;
  const names = selectComputations(project.manifest, targets);
  const forced = new Set(forcedComputations(names, targets, force));
  const dates = datesOf(from, to);
  const fingerprints = new Map<string, Promise<{ rowCount: number; digest: string }>>();
  // a table without a date column has one fingerprint whatever the window
  const fpKey = (table: string, dateField: string | undefined, w: DateWindow) =>
    `${table}|${dateField ?? ''}|${dateField ? `${w.from}|${w.to}` : ''}`;
  const settingsOf = (table: string, dateField: string | undefined) => ({
    ...config.tables[table],
    ...(dateField ? { dateField } : {}),
  });
  const fingerprint = (table: string, dateField: string | undefined, w: DateWindow) => {
    const key = fpKey(table, dateField, w);
    let fp = fingerprints.get(key);
    if (!fp) {
      fp = warehouse.fingerprint(table, settingsOf(table, dateField), w);
      fingerprints.set(key, fp);
    }
    return fp;
  };
  // every window of the range, one read per table where the warehouse can
  if (warehouse.fingerprintWindows) {
    const wanted = new Map<string, { table: string; dateField?: string; windows: DateWindow[] }>();
    for (const name of names)
      for (const [table, req] of Object.entries(
        project.manifest.entries.get(name)!.config.requires,
      )) {
        const dateField = req.dateField ?? config.tables[table].dateField;
        const group = `${table}|${dateField ?? ''}`;
        let g = wanted.get(group);
        if (!g) wanted.set(group, (g = { table, dateField, windows: [] }));
        for (const date of dates) g.windows.push(windowFor(date, req.lookback));
      }
    await Promise.all(
      [...wanted.values()].map(async ({ table, dateField, windows }) => {
        const fps = await warehouse.fingerprintWindows!(
          table,
          settingsOf(table, dateField),
          windows,
        );
        windows.forEach((w, i) =>
          fingerprints.set(fpKey(table, dateField, w), Promise.resolve(fps[i])),
        );
      }),
    );
  }
  const entitySets = new Map<string, Promise<RequiredInput>>();
  const { table: eTable, idField, dateField: eDateField } = config.entities;
  // every date's entity set in one read where the warehouse can; a set's digest is reused while
  // it stays the same from one date to the next
  if (
    warehouse.listEntitiesByDate &&
    names.some((n) => project.planned.get(n)!.type === 'per-entity')
  ) {
    const sets = await warehouse.listEntitiesByDate(eTable, idField, dates, eDateField);
    let previous: { ids: string[]; input: RequiredInput } | null = null;
    dates.forEach((date, i) => {
      const ids = sets[i];
      const same =
        previous?.ids.length === ids.length && previous.ids.every((id, j) => id === ids[j]);
      const input: RequiredInput =
        same && previous
          ? { ...previous.input, window: { from: date, to: date } }
          : entitySetInput(ids, date);
      previous = { ids, input };
      entitySets.set(date, Promise.resolve(input));
    });
  }
  const entitySet = (date: string) => {
    let set = entitySets.get(date);
    if (!set) {
      set = warehouse
        .listEntities(eTable, idField, date, eDateField)
        .then((ids) => entitySetInput(ids, date));
      entitySets.set(date, set);
    }
    return set;
  };
  const codeFiles = codeFilesDiff(src);

  const predicted = new Map<string, Prediction>();
  const cells: PreviewCell[] = [];
  for (const date of dates) {
    for (const name of names) {
      const entry = project.manifest.entries.get(name)!;
      const planned = project.planned.get(name)!;
      const deps = entry.config.dependencies;
      const cell: PreviewCell = {
        computation: name,
        date,
        pass: entry.pass,
        prediction: 'skip',
        why: '',
        causes: [],
        upstream: [],
        blockedOn: [],
        emptyTable: null,
      };
      cells.push(cell);
      const depPrediction = (d: string) => predicted.get(hashKey(d, date));
      cell.blockedOn = deps.filter(
        (d) => depPrediction(d) === 'blocked' || depPrediction(d) === 'impossible',
      );
      if (cell.blockedOn.length) {
        cell.prediction = 'blocked';
        cell.why = `depends on ${cell.blockedOn.map((d) => `${d} (${depPrediction(d)})`).join(', ')}`;
        predicted.set(hashKey(name, date), 'blocked');
        continue;
      }
      const inputs: RequiredInput[] = await Promise.all(
        Object.entries(entry.config.requires).map(async ([table, req]) => {
          const window = windowFor(date, req.lookback);
          const dateField = req.dateField ?? config.tables[table].dateField;
          const fp = await fingerprint(table, dateField, window);
          return { table, mandatory: req.mandatory, window, ...fp };
        }),
      );
      if (entry.config.type === 'per-entity') inputs.push(await entitySet(date));
      const last = views.hashIndex[hashKey(name, date)] ?? null;
      const e = evaluateComputation({
        computation: name,
        codeHash: planned.codeHash,
        epoch: config.epoch,
        force: forced.has(name),
        scopedEntityIds: null,
        dependencies: deps.map((d) => ({
          name: d,
          status: 'completed' as const,
          resultHash: views.hashIndex[hashKey(d, date)]?.resultHash ?? null,
        })),
        inputs,
        isHistorical: entry.config.isHistorical,
        previousResultHash: entry.config.isHistorical
          ? (views.hashIndex[hashKey(name, previousDate(date))]?.resultHash ?? null)
          : null,
        lastCompleted: last,
      });
      const moving = (p: Prediction | undefined) => p === 'run' || p === 'maybe';
      cell.upstream = deps
        .filter((d) => moving(depPrediction(d)))
        .map((d) => ({ computation: d, date }));
      if (entry.config.isHistorical && moving(predicted.get(hashKey(name, previousDate(date)))))
        cell.upstream.push({ computation: name, date: previousDate(date) });

      if (e.kind === 'impossible' && e.reason.code === 'mandatory-table-empty') {
        cell.prediction = 'impossible';
        cell.emptyTable = { table: e.reason.table, ...e.reason.window };
        cell.why = `mandatory table "${e.reason.table}" has no rows in ${e.reason.window.from}..${e.reason.window.to}`;
      } else if (e.kind === 'skipped') {
        cell.prediction = cell.upstream.length ? 'maybe' : 'skip';
        cell.why = cell.upstream.length
          ? `re-runs only if ${describeUpstream(name, cell.upstream)} changes`
          : 'nothing it depends on changed';
      } else if (e.kind === 'run') {
        cell.prediction = 'run';
        const changed =
          e.reason.code === 'changed' || e.reason.code === 'forced' ? e.reason.changed : [];
        if (e.reason.code === 'forced') cell.causes.push({ kind: 'forced' });
        if (e.reason.code === 'first-run') cell.causes.push({ kind: 'first-run' });
        for (const part of changed) {
          const cause =
            part === 'code' && last
              ? {
                  kind: 'code' as const,
                  files: await codeFiles(name, last.runId, last.hashParts.code),
                }
              : causeOf(part);
          if (cause) cell.causes.push(cause);
        }
        cell.why = cell.causes.map(describeCause).join('; ') || describeReason(e.reason);
      }
      predicted.set(hashKey(name, date), cell.prediction);
    }
  }

  const totals = zeroCounts();
  const perComputation = new Map<string, Record<Prediction, number>>();
  for (const c of cells) {
    totals[c.prediction] += 1;
    let counts = perComputation.get(c.computation);
    if (!counts) perComputation.set(c.computation, (counts = zeroCounts()));
    counts[c.prediction] += 1;
  }
  return {
    from,
    to,
    dates: dates.length,
    targets,
    force: force.force,
    forceUpstream: force.forceUpstream,
    cells,
    totals,
    computations: names.map((n) => ({
      computation: n,
      pass: project.manifest.entries.get(n)!.pass,
      counts: perComputation.get(n) ?? zeroCounts(),
    })),
    summary: summarizeImpact(cells),
    note: MAYBE_NOTE,
  };
}

/** A hash part named by diffHashParts, as a cause ('code' needs the files: see codeFilesDiff). */
function causeOf(part: string): Cause | null {
  if (part === 'epoch') return { kind: 'epoch' };
  if (part === 'previous') return { kind: 'previous' };
  // a preview is never restricted: a scope that differs is the last result's
  if (part === 'last-result-partial' || part === 'scope') return { kind: 'partial' };
  if (part === `inputs.${ENTITY_SET_INPUT}`) return { kind: 'entities' };
  if (part.startsWith('inputs.')) return { kind: 'data', table: part.slice('inputs.'.length) };
  if (part.startsWith('dependencies.'))
    return { kind: 'dependency', dependency: part.slice('dependencies.'.length) };
  if (part === 'code') return { kind: 'code', files: [] };
  return null;
}

/**
 * The code files of a computation that differ between the code on disk and the run that produced
 * its last result (added, removed or changed), read once per earlier code hash.
 */
function codeFilesDiff(src: PreviewSource) {
  const cache = new Map<string, Promise<string[]>>();
  return (name: string, runId: string, oldCodeHash: string): Promise<string[]> => {
    const key = `${name}|${oldCodeHash}`;
    let files = cache.get(key);
    if (!files) {
      const now = src.project.planned.get(name)!.codeFiles;
      files = src.runOf(runId).then((run) => {
        const before = run?.computations[name]?.codeFiles ?? {};
        return [...new Set([...Object.keys(now), ...Object.keys(before)])]
          .filter((f) => now[f] !== before[f])
          .sort();
      });
      cache.set(key, files);
    }
    return files;
  };
}

function describeUpstream(name: string, upstream: CellRef[]): string {
  return upstream
    .map((u) =>
      u.computation === name ? 'its result of the day before' : `the result of ${u.computation}`,
    )
    .join(' or ');
}

export function describeCause(c: Cause): string {
  switch (c.kind) {
    case 'code':
      return c.files.length ? `code changed: ${c.files.join(', ')}` : 'code changed';
    case 'data':
      return `data changed in table "${c.table}"`;
    case 'entities':
      return 'the entity set changed';
    case 'dependency':
      return `${c.dependency} has a newer result than the one used`;
    case 'previous':
      return "the previous date's result changed";
    case 'epoch':
      return 'the epoch changed';
    case 'partial':
      return 'the last result came from a run restricted to some entities';
    case 'first-run':
      return 'never run';
    case 'forced':
      return 'forced';
  }
}
