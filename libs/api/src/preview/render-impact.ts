import { dateSpans } from './impact-summary';
import { PREDICTIONS, type ImpactPreview, type PreviewCell } from './impact-preview';

/**
 * The text of a range preview, as `almanac analyze --from --to` prints it (and `almanac backfill
 * --dry-run` may): a table with one row per computation and run of consecutive dates that share a
 * prediction and a reason, the totals, the summary by cause, and what the preview cannot know.
 */
export function renderImpactPreview(preview: ImpactPreview): string {
  const byComputation = new Map<string, PreviewCell[]>();
  for (const c of preview.cells) {
    let list = byComputation.get(c.computation);
    if (!list) byComputation.set(c.computation, (list = []));
    list.push(c);
  }
  const rows: string[][] = [];
  for (const { computation, pass } of preview.computations) {
    let run: PreviewCell[] = [];
    const flush = () => {
      if (!run.length) return;
      rows.push([
        computation,
        String(pass),
        dateSpans(run.map((c) => c.date)),
        run[0].prediction,
        run[0].why,
      ]);
      run = [];
    };
    for (const cell of byComputation.get(computation) ?? []) {
      const last = run.at(-1);
      if (last && (last.prediction !== cell.prediction || last.why !== cell.why)) flush();
      run.push(cell);
    }
    flush();
  }
  const n = preview.dates;
  const totals = PREDICTIONS.filter((p) => preview.totals[p] > 0)
    .map((p) => `${preview.totals[p]} ${p}`)
    .join(', ');
  return [
    `impact of runs from ${preview.from} to ${preview.to} (${n} date${n === 1 ? '' : 's'}): ${totals || 'nothing'}`,
    '',
    textTable(['computation', 'pass', 'dates', 'would', 'why'], rows),
    '',
    'summary:',
    ...preview.summary.map((g) => `- ${g.text}`),
    '',
    `note: ${preview.note}`,
  ].join('\n');
}

function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
