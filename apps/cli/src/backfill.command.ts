import type { BackfillView } from '@almanac/domain/projections';
import { previewRange } from './preview.command';
import { describeServer, type ProjectClient } from './project-client';
import { table } from './render';

type WithProject = <T>(
  values: Record<string, unknown>,
  fn: (client: ProjectClient) => Promise<T>,
  opts: { backfills: boolean },
) => Promise<T>;

/**
 * A backfill's progress on stderr: a bar redrawn in place on a terminal, one line per date that
 * ended otherwise (logs, CI).
 */
class BackfillProgress {
  private readonly seen = new Map<string, string>();
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {}

  onView = (view: BackfillView): void => {
    if (!this.enabled) return;
    if (this.out.isTTY) {
      this.out.write(`${this.drawn ? '\r\x1b[2K' : ''}${progressLine(view)}`);
      this.drawn = true;
      if (view.status !== 'running') this.out.write('\n');
      return;
    }
    for (const [date, d] of Object.entries(view.dates).sort(([a], [b]) => a.localeCompare(b))) {
      if (d.status === 'requested' || this.seen.get(date) === d.status) continue;
      this.seen.set(date, d.status);
      this.out.write(`  ${date}: ${d.status} (run ${d.runId})\n`);
    }
  };
}

/** `[#####...............] 5/20 dates: 3 completed, 2 skipped, 0 failed; 2 running` */
function progressLine(view: BackfillView): string {
  const { completed, skipped, failed, requested } = view.counts;
  const ended = completed + skipped + failed;
  const width = 24;
  const filled = view.total ? Math.round((ended / view.total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${ended}/${view.total} dates: ${completed} completed, ${skipped} skipped, ${failed} failed; ${requested - ended} running`;
}

function summary(view: BackfillView): string {
  const head = `backfill ${view.backfillId} ${view.from} to ${view.to}: ${view.status}`;
  const rows = Object.entries(view.dates)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, d]) => [date, d.status, d.runId]);
  return `${head}\n${table(['date', 'status', 'run'], rows)}\n${progressLine(view)}`;
}

/** `almanac backfill`: its options, checks and output (registered in main.ts). */
export function backfillCommand(deps: {
  withProject: WithProject;
  out: (line: string) => void;
  err: (line: string) => void;
  usageError: (message: string) => Error;
}) {
  const { withProject, out, err, usageError } = deps;
  return {
    summary: 'run every date of a range, a few at once; historical computations in date order',
    usage: [
      'almanac backfill --from YYYY-MM-DD --to YYYY-MM-DD [--computation NAME]... [--concurrency N] [--force] [--no-wait] [--dry-run] [--json]',
      '',
      '  one run per date (at most 3660 dates), at most --concurrency (default 4, at most 64) at',
      '  once; a date whose run includes an isHistorical computation is requested once the',
      "  previous date's run decided it. Unchanged dates skip. Waits for the end and exits 1 if a",
      '  date failed.',
      '  --force    re-run the named computations (every one without --computation) on every date',
      '  --no-wait  request it and print its id (needs a running `almanac serve` on the project)',
      '  --dry-run  append nothing: print what each date would run, skip or block, and why (the',
      '             table of `almanac analyze --from --to`)',
    ].join('\n'),
    options: {
      from: { type: 'string' as const },
      to: { type: 'string' as const },
      computation: { type: 'string' as const, multiple: true, short: 'c' },
      concurrency: { type: 'string' as const },
      force: { type: 'boolean' as const },
      'no-wait': { type: 'boolean' as const },
      'dry-run': { type: 'boolean' as const },
      quiet: { type: 'boolean' as const, short: 'q' },
    },
    async run(v: Record<string, unknown>): Promise<number> {
      for (const name of ['from', 'to'])
        if (typeof v[name] !== 'string') throw usageError(`--${name} is required (YYYY-MM-DD)`);
      let concurrency: number | undefined;
      if (v.concurrency !== undefined) {
        concurrency = Number(v.concurrency);
        if (!/^\d+$/.test(String(v.concurrency)))
          throw usageError(`--concurrency must be a whole number, got "${String(v.concurrency)}"`);
      }
      if (v['dry-run']) {
        const range = { from: String(v.from), to: String(v.to) };
        return withProject(v, (client) => previewRange(client, range, v, out), {
          backfills: false,
        });
      }
      const wait = !v['no-wait'];
      const progress = new BackfillProgress(process.stderr, wait && !v.json && !v.quiet);
      return withProject(
        v,
        async (client) => {
          if (!wait && !client.server)
            throw usageError(
              '--no-wait needs a running `almanac serve` on the project: nothing would request the next dates once this command exits',
            );
          if (!v.json)
            err(
              `backfilling ${String(v.from)} to ${String(v.to)}${client.server ? ` through ${describeServer(client.server)}` : ''} ...`,
            );
          const view = await client.backfill(
            {
              from: String(v.from),
              to: String(v.to),
              targets: (v.computation as string[] | undefined) ?? [],
              concurrency,
              force: Boolean(v.force),
            },
            { wait, onProgress: progress.onView },
          );
          if (v.json) out(JSON.stringify(view, null, 2));
          else if (!wait) out(view.backfillId);
          else out(summary(view));
          return view.status === 'failed' ? 1 : 0;
        },
        { backfills: true },
      );
    },
  };
}
