import {
  GRAPH_FORMATS,
  renderGraph,
  renderImpactPreview,
  type DagGraph,
  type GraphFormat,
} from '@almanac/api';
import type { ProjectClient } from './project-client';

/** `almanac analyze --from --to`: the preview's table and summary, or its JSON. */
export async function previewRange(
  client: ProjectClient,
  range: { from: string; to: string },
  v: Record<string, unknown>,
  out: (s: string) => void,
): Promise<number> {
  const preview = await client.previewRange(
    range.from,
    range.to,
    (v.computation as string[] | undefined) ?? [],
    { force: Boolean(v.force), forceUpstream: Boolean(v['force-upstream']) },
  );
  out(v.json ? JSON.stringify(preview, null, 2) : renderImpactPreview(preview));
  return 0;
}

/** `almanac graph`: checks --format before the project is opened, then prints the graph. */
export function graphCommand(
  v: Record<string, unknown>,
  usageError: (message: string) => Error,
): (graph: DagGraph, out: (s: string) => void) => number {
  const format = (v.format ?? 'text') as GraphFormat;
  if (!GRAPH_FORMATS.includes(format))
    throw usageError(`--format "${String(v.format)}" is not one of ${GRAPH_FORMATS.join(', ')}`);
  return (graph, out) => {
    out(v.json ? JSON.stringify(graph, null, 2) : renderGraph(graph, format));
    return 0;
  };
}
