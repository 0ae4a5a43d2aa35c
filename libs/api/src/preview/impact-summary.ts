import type { Cause, PreviewCell } from './impact-preview';

/** Cells of one computation in a group. */
export interface GroupCells {
  computation: string;
  dates: string[];
}

/** One cause (or outcome) of a preview, with the cells it accounts for. */
export interface ImpactGroup {
  kind: Cause['kind'] | 'blocked' | 'impossible' | 'unchanged';
  /** what the cause names: the files of a code change, the table, the dependency, ... */
  names: string[];
  /** the cells it accounts for directly (run, blocked, impossible or skip) */
  cells: GroupCells[];
  /** dependants that re-run only if the results of `cells` change (maybe) */
  dependants: GroupCells[];
  /** one line for a reviewer */
  text: string;
}

const causeKey = (c: Cause): string => {
  switch (c.kind) {
    case 'code':
      return `code:${c.files.join(',')}`;
    case 'data':
      return `data:${c.table}`;
    case 'dependency':
      return `dependency:${c.dependency}`;
    default:
      return c.kind;
  }
};

const cellKey = (computation: string, date: string) => `${computation}|${date}`;

/**
 * Groups a preview's cells by cause: each cell that runs is counted under each of its causes, each
 * `maybe` cell under the causes of the cells it waits for (transitively), blocked and impossible
 * cells by computation and reason. Cells come ordered by date and pass, so a cell's upstream
 * cells come before it.
 */
export function summarizeImpact(cells: PreviewCell[]): ImpactGroup[] {
  const roots = new Map<string, Set<string>>();
  const groups = new Map<
    string,
    { group: Omit<ImpactGroup, 'cells' | 'dependants' | 'text'>; cells: Cells; dependants: Cells }
  >();
  const groupOf = (key: string, kind: ImpactGroup['kind'], names: string[]) => {
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = { group: { kind, names }, cells: new Cells(), dependants: new Cells() }),
      );
    return g;
  };
  for (const cell of cells) {
    const own = new Set<string>();
    if (cell.prediction === 'run') {
      for (const cause of cell.causes) {
        const key = causeKey(cause);
        own.add(key);
        groupOf(key, cause.kind, namesOf(cause)).cells.add(cell);
      }
    }
    if (cell.prediction === 'maybe') {
      for (const u of cell.upstream)
        for (const key of roots.get(cellKey(u.computation, u.date)) ?? []) {
          own.add(key);
          groups.get(key)!.dependants.add(cell);
        }
    }
    roots.set(cellKey(cell.computation, cell.date), own);
    if (cell.prediction === 'blocked')
      groupOf(`blocked:${cell.computation}:${cell.blockedOn.join(',')}`, 'blocked', [
        ...cell.blockedOn,
      ]).cells.add(cell);
    if (cell.prediction === 'impossible' && cell.emptyTable)
      groupOf(`impossible:${cell.computation}:${cell.emptyTable.table}`, 'impossible', [
        cell.emptyTable.table,
      ]).cells.add(cell);
    if (cell.prediction === 'skip') groupOf('unchanged', 'unchanged', []).cells.add(cell);
  }
  return [...groups.values()]
    .sort((a, b) => ORDER.indexOf(a.group.kind) - ORDER.indexOf(b.group.kind))
    .map(({ group, cells: c, dependants: d }) => {
      const g = { ...group, cells: c.list(), dependants: d.list() };
      return { ...g, text: describeGroup(g) };
    });
}

const ORDER: ReadonlyArray<ImpactGroup['kind']> = [
  'code',
  'data',
  'entities',
  'dependency',
  'previous',
  'epoch',
  'partial',
  'forced',
  'first-run',
  'impossible',
  'blocked',
  'unchanged',
];

function namesOf(c: Cause): string[] {
  if (c.kind === 'code') return c.files;
  if (c.kind === 'data') return [c.table];
  if (c.kind === 'dependency') return [c.dependency];
  return [];
}

/** computation -> its dates; listed by pass, then name */
class Cells {
  private readonly byName = new Map<string, { pass: number; dates: Set<string> }>();
  add(cell: PreviewCell): void {
    let entry = this.byName.get(cell.computation);
    if (!entry) this.byName.set(cell.computation, (entry = { pass: cell.pass, dates: new Set() }));
    entry.dates.add(cell.date);
  }
  list(): GroupCells[] {
    return [...this.byName]
      .sort(([a, x], [b, y]) => x.pass - y.pass || a.localeCompare(b))
      .map(([computation, { dates }]) => ({ computation, dates: [...dates] }));
  }
}

/** Consecutive dates as `from..to` spans: `2026-01-10..2026-01-12, 2026-01-15`. */
export function dateSpans(dates: string[]): string {
  const sorted = [...new Set(dates)].sort();
  const spans: string[] = [];
  let start = sorted[0];
  let prev = sorted[0];
  const next = (d: string) =>
    new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  for (const d of sorted.slice(1)) {
    if (d === next(prev)) {
      prev = d;
      continue;
    }
    spans.push(start === prev ? start : `${start}..${prev}`);
    start = prev = d;
  }
  if (start !== undefined) spans.push(start === prev ? start : `${start}..${prev}`);
  return spans.join(', ');
}

/** `UserBand on 3 dates (2026-01-10..2026-01-12)`; the dates are left out when they make 4+ spans */
function onDates(c: GroupCells): string {
  const n = c.dates.length;
  const spans = dateSpans(c.dates);
  const shown = spans.split(', ').length <= 3 ? ` (${spans})` : '';
  return `${c.computation} on ${n} date${n === 1 ? '' : 's'}${shown}`;
}

const quoted = (names: string[]) => names.map((n) => `\`${n}\``).join(', ');

function describeGroup(g: Omit<ImpactGroup, 'text'>): string {
  const runs = g.cells.map(onDates).join(', ');
  const n = g.dependants.length;
  const dependants = n
    ? `, and ${n} dependant${n === 1 ? '' : 's'} where results change: ${g.dependants.map(onDates).join(', ')}`
    : '';
  switch (g.kind) {
    case 'code':
      return g.names.length
        ? `a code change in ${quoted(g.names)} re-runs ${runs}${dependants}`
        : `a code change (files not recorded) re-runs ${runs}${dependants}`;
    case 'data':
      return `changed data in table ${quoted(g.names)} re-runs ${runs}${dependants}`;
    case 'entities':
      return `a changed entity set (new or removed entities) re-runs ${runs}${dependants}`;
    case 'dependency':
      return `a newer result of ${g.names[0]} than the one last used re-runs ${runs}${dependants}`;
    case 'previous':
      return `a changed result of the day before re-runs ${runs}${dependants}`;
    case 'epoch':
      return `a new epoch re-runs ${runs}${dependants}`;
    case 'partial':
      return `results of runs restricted to some entities are replaced: re-runs ${runs}${dependants}`;
    case 'forced':
      return `forced: ${runs}${dependants}`;
    case 'first-run':
      return `never run: ${runs}${dependants}`;
    case 'impossible':
      return `impossible: ${runs}: mandatory table ${quoted(g.names)} has no rows in the window`;
    case 'blocked':
      return `blocked: ${runs}: depends on ${g.names.join(', ')}, which would not complete`;
    case 'unchanged':
      return `unchanged (skip): ${runs}`;
  }
}
