import type { Envelope } from '@almanac/contracts';
import { runProjection, type RunView, type RunsView } from '@almanac/domain/projections';
import { describeReason } from '@almanac/api';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function duration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function runSummary(run: RunView): string {
  const rows = Object.values(run.computations)
    .sort((a, b) => a.pass - b.pass || a.name.localeCompare(b.name))
    .map((c) => [
      c.name,
      String(c.pass),
      c.status,
      c.status === 'skipped' || c.status === 'blocked' || c.status === 'impossible'
        ? '-'
        : String(c.entityCount),
      duration(c.durationMs),
      describeReason(c.reason) +
        (c.failedEntities.length
          ? ` [${c.failedEntities
              .slice(0, 5)
              .map((f) => `${f.entityId}: ${f.message}`)
              .join('; ')}${c.failedEntities.length > 5 ? '; ...' : ''}]`
          : ''),
    ]);
  const head = `run ${run.runId} for ${run.date}: ${run.status}${run.durationMs !== null ? ` in ${duration(run.durationMs)}` : ''}${run.dryRun ? ' (dry run: nothing written)' : ''}${run.entityIds ? ` (restricted to ${run.entityIds.length} entities)` : ''}`;
  return `${head}\n${table(['computation', 'pass', 'status', 'entities', 'duration', 'reason'], rows)}`;
}

const FINAL: ReadonlySet<string> = new Set([
  'completed',
  'skipped',
  'blocked',
  'impossible',
  'failed',
]);

/**
 * Progress on stderr while a run goes: bars redrawn in place on a terminal, one line per
 * finished computation otherwise (logs, CI).
 */
export class Progress {
  private view: RunsView = {};
  private runId: string | null = null;
  private lastDraw = 0;
  private drawnLines = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  onEvent = (event: Envelope): void => {
    if (!this.enabled) return;
    this.runId ??= event.correlationId;
    if (event.correlationId !== this.runId) return;
    this.view = runProjection.evolve(this.view, event);
    const run = this.view[this.runId];
    if (!run) return;
    if (this.tty) {
      const now = Date.now();
      if (
        now - this.lastDraw > 100 ||
        event.type === 'ComputationCompleted' ||
        event.type === 'RunCompleted'
      ) {
        this.lastDraw = now;
        this.draw(run);
      }
    } else if (event.type === 'ComputationStarted') {
      this.out.write(
        `  ${event.payload.computation}: running ${event.payload.entityCount} entities in ${event.payload.batchCount} batches\n`,
      );
    } else if (event.type === 'ComputationCompleted') {
      const p = event.payload;
      this.out.write(
        `  ${p.computation}: ${p.status} ${describeReason(p.reason)} (${duration(p.durationMs)})\n`,
      );
    }
  };

  /**
   * Progress from successive views of one run (a run going in `almanac serve`, polled): the same
   * lines as onEvent, from what changed since the previous view.
   */
  onView = (run: RunView): void => {
    if (!this.enabled) return;
    const before = this.view[run.runId];
    this.view = { [run.runId]: run };
    if (this.tty) {
      this.draw(run);
      return;
    }
    for (const c of Object.values(run.computations).sort((a, b) => a.pass - b.pass)) {
      const was = before?.computations[c.name]?.status;
      if (c.status === was) continue;
      const started = c.startedAt !== null;
      if ((c.status === 'running' || (FINAL.has(c.status) && was !== 'running')) && started)
        this.out.write(
          `  ${c.name}: running ${c.entityCount} entities in ${c.batchCount} batches\n`,
        );
      if (FINAL.has(c.status))
        this.out.write(
          `  ${c.name}: ${c.status} ${describeReason(c.reason)} (${duration(c.durationMs)})\n`,
        );
    }
  };

  private draw(run: RunView): void {
    const lines = Object.values(run.computations)
      .sort((a, b) => a.pass - b.pass || a.name.localeCompare(b.name))
      .map((c) => {
        const done = Object.keys(c.batchesDone).length;
        const frac =
          c.status === 'running'
            ? c.batchCount
              ? done / c.batchCount
              : 0
            : c.status === 'pending'
              ? 0
              : 1;
        const width = 24;
        const filled = Math.round(frac * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
        return `${c.name.padEnd(24)} ${bar} ${c.status.padEnd(10)} ${c.status === 'running' ? `${done}/${c.batchCount} batches` : ''}`;
      });
    if (this.drawnLines) this.out.write(`\x1b[${this.drawnLines}A`);
    this.out.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawnLines = lines.length;
  }
}
