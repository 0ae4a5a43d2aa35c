import type { LoadedProject } from '@almanac/platform';
import type { Prediction } from '../queries';
import { MAYBE_NOTE, type ImpactPreview } from '../preview/impact-preview';

export const GRAPH_FORMATS = ['mermaid', 'dot', 'text'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** What a range preview says of one computation: its dominant prediction and the counts. */
export interface NodeMark {
  /** run when it runs on any date, else maybe, impossible, blocked, skip (in that order) */
  mark: Prediction;
  counts: Record<Prediction, number>;
  /** `runs on 31 of 31 dates, maybe on 2` */
  label: string;
}

export interface DagNode {
  name: string;
  pass: number;
  type: 'global' | 'per-entity';
  dependencies: string[];
  /** null without a range, or when the preview's targets leave it out */
  marks: NodeMark | null;
}

/** The DAG (passes, dependencies, per-entity or global), marked with a range preview if given. */
export interface DagGraph {
  passes: string[][];
  nodes: DagNode[];
  range: { from: string; to: string; dates: number } | null;
}

const DOMINANT: readonly Prediction[] = ['run', 'maybe', 'impossible', 'blocked', 'skip'];

export function dagGraph(project: LoadedProject, preview?: ImpactPreview): DagGraph {
  const counts = new Map(preview?.computations.map((c) => [c.computation, c.counts]));
  const nodes = [...project.planned.values()]
    .sort((a, b) => a.pass - b.pass || a.name.localeCompare(b.name))
    .map((c): DagNode => {
      const n = counts.get(c.name);
      return {
        name: c.name,
        pass: c.pass,
        type: c.type,
        dependencies: [...c.dependencies],
        marks: n && preview ? markOf(n, preview.dates) : null,
      };
    });
  return {
    passes: project.manifest.passes.map((p) => [...p]),
    nodes,
    range: preview ? { from: preview.from, to: preview.to, dates: preview.dates } : null,
  };
}

function markOf(counts: Record<Prediction, number>, dates: number): NodeMark {
  const mark = DOMINANT.find((p) => counts[p] > 0) ?? 'skip';
  const parts = [`runs on ${counts.run} of ${dates} date${dates === 1 ? '' : 's'}`];
  if (counts.maybe) parts.push(`maybe on ${counts.maybe}`);
  if (counts.impossible) parts.push(`impossible on ${counts.impossible}`);
  if (counts.blocked) parts.push(`blocked on ${counts.blocked}`);
  return { mark, counts, label: parts.join(', ') };
}

const COLOURS: Record<Prediction, { fill: string; stroke: string }> = {
  run: { fill: '#fdba74', stroke: '#c2410c' },
  maybe: { fill: '#fef08a', stroke: '#a16207' },
  skip: { fill: '#e5e7eb', stroke: '#6b7280' },
  blocked: { fill: '#fca5a5', stroke: '#b91c1c' },
  impossible: { fill: '#f87171', stroke: '#7f1d1d' },
};

const LEGEND =
  'run: runs on some dates; maybe: re-runs only if an upstream result changes; skip: unchanged; ' +
  'blocked / impossible: would not complete';

export function renderGraph(graph: DagGraph, format: GraphFormat): string {
  switch (format) {
    case 'mermaid':
      return mermaid(graph);
    case 'dot':
      return dot(graph);
    case 'text':
      return text(graph);
  }
}

/** words Mermaid reads as syntax when they stand alone as an id */
const MERMAID_KEYWORDS =
  /^(end|graph|subgraph|flowchart|class|classdef|style|click|linkstyle|direction)$/i;

/** Mermaid ids: the name with anything but letters, digits and _ replaced, not a keyword, unique. */
function mermaidIds(nodes: DagNode[]): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const n of nodes) {
    const safe = n.name.replace(/[^A-Za-z0-9_]/g, '_');
    const base = MERMAID_KEYWORDS.test(safe) ? `${safe}_` : safe;
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    ids.set(n.name, id);
  }
  return ids;
}

function mermaid(g: DagGraph): string {
  const ids = mermaidIds(g.nodes);
  const label = (n: DagNode) =>
    [n.name, n.type, ...(n.marks ? [n.marks.label] : [])].join('<br/>').replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  if (g.range) lines.push(`  %% impact of runs from ${g.range.from} to ${g.range.to}`);
  g.passes.forEach((pass, i) => {
    lines.push(`  subgraph pass_${i} ["pass ${i}"]`);
    for (const name of pass) {
      const n = g.nodes.find((x) => x.name === name)!;
      const shape = n.type === 'global' ? ['(["', '"])'] : ['["', '"]'];
      lines.push(`    ${ids.get(name)}${shape[0]}${label(n)}${shape[1]}`);
    }
    lines.push('  end');
  });
  for (const n of g.nodes)
    for (const d of n.dependencies) lines.push(`  ${ids.get(d)} --> ${ids.get(n.name)}`);
  if (g.range) {
    for (const [p, c] of Object.entries(COLOURS))
      lines.push(`  classDef ${p} fill:${c.fill},stroke:${c.stroke}`);
    for (const n of g.nodes) if (n.marks) lines.push(`  class ${ids.get(n.name)} ${n.marks.mark}`);
    lines.push(`  %% ${LEGEND}`);
  }
  return lines.join('\n');
}

/** a DOT string: quotes and backslashes escaped, line breaks as \n */
const dq = (s: string) =>
  `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

function dot(g: DagGraph): string {
  const lines = [
    'digraph almanac {',
    '  rankdir=LR;',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff"];',
  ];
  if (g.range) lines.push(`  label=${dq(`impact of runs from ${g.range.from} to ${g.range.to}`)};`);
  g.passes.forEach((pass, i) => {
    lines.push(`  subgraph cluster_pass_${i} {`, `    label="pass ${i}";`);
    for (const name of pass) {
      const n = g.nodes.find((x) => x.name === name)!;
      const attrs = [
        `label=${dq([n.name, n.type, ...(n.marks ? [n.marks.label] : [])].join('\n'))}`,
        ...(n.type === 'global' ? ['shape=ellipse'] : []),
        ...(n.marks
          ? [
              `class=${dq(n.marks.mark)}`,
              `fillcolor=${dq(COLOURS[n.marks.mark].fill)}`,
              `color=${dq(COLOURS[n.marks.mark].stroke)}`,
            ]
          : []),
      ];
      lines.push(`    ${dq(n.name)} [${attrs.join(', ')}];`);
    }
    lines.push('  }');
  });
  for (const n of g.nodes)
    for (const d of n.dependencies) lines.push(`  ${dq(d)} -> ${dq(n.name)};`);
  if (g.range) lines.push(`  // ${LEGEND}`);
  lines.push('}');
  return lines.join('\n');
}

function text(g: DagGraph): string {
  const lines: string[] = [];
  if (g.range)
    lines.push(`impact of runs from ${g.range.from} to ${g.range.to} (${g.range.dates} dates)`);
  g.passes.forEach((pass, i) => {
    lines.push(`pass ${i}`);
    for (const name of pass) {
      const n = g.nodes.find((x) => x.name === name)!;
      const deps = n.dependencies.length ? ` <- ${n.dependencies.join(', ')}` : '';
      const marks = n.marks ? `  [${n.marks.mark}] ${n.marks.label}` : '';
      lines.push(`  ${n.name} (${n.type})${deps}${marks}`);
    }
  });
  if (g.range) lines.push('', `legend: ${LEGEND}`, `note: ${MAYBE_NOTE}`);
  return lines.join('\n');
}
