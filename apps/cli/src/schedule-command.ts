import type { ScheduleRow, TickResult } from '@almanac/services/scheduler';
import type { ProjectClient } from './project-client';
import { table } from './render';

/** What the schedule command needs of main.ts: how to open the project, print, refuse usage. */
interface ScheduleCommandDeps {
  withProject<T>(values: Record<string, unknown>, fn: (c: ProjectClient) => Promise<T>): Promise<T>;
  out(line: string): void;
  usageError(message: string): Error;
}

const ACTIONS = ['list', 'tick', 'pause', 'resume'] as const;

/** `2026-12-02T02:00:00.000Z` -> `2026-12-02 02:00Z` */
const short = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;

function isoTime(v: unknown, usageError: (m: string) => Error): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) ||
    Number.isNaN(Date.parse(s))
  )
    throw usageError(`--at "${s}" is not an ISO time with a zone (e.g. 2026-12-01T02:00:00Z)`);
  return new Date(s).toISOString();
}

function state(row: ScheduleRow): string {
  if (!row.enabled) return 'disabled (enabled: false)';
  if (row.paused)
    return `paused since ${short(row.paused.since)} by ${row.paused.by}${row.paused.reason ? ` (${row.paused.reason})` : ''}`;
  if (row.waiting.length) return row.waiting.map((w) => w.message).join('; ');
  return 'scheduled';
}

function listText(rows: ScheduleRow[]): string {
  return table(
    ['computation', 'schedule', 'state', 'next slots (date run)'],
    rows.map((r) => [
      r.computation,
      r.description,
      state(r),
      r.next.map((n) => `${short(n.dueAt)} (${n.date})`).join(', '),
    ]),
  );
}

function tickText(r: TickResult): string {
  const lines = r.requested.map(
    (run) => `requested run ${run.runId} for ${run.date}: ${run.targets.join(', ')}`,
  );
  if (!r.requested.length)
    lines.push(
      `nothing to request at ${r.at}${r.alreadyRequested ? ` (${r.alreadyRequested} due run(s) already requested)` : ''}`,
    );
  for (const w of r.waiting) lines.push(`${w.computation}: ${w.message}`);
  return lines.join('\n');
}

/** `almanac schedule list|tick|pause|resume`. */
export function scheduleCommand(deps: ScheduleCommandDeps) {
  const { withProject, out, usageError } = deps;
  return {
    summary: "each computation's schedule and next slots; tick, pause or resume the scheduler",
    usage: [
      'almanac schedule list [--at ISO_TIME] [--count N] [--json]',
      '       almanac schedule tick [--at ISO_TIME] [--json]',
      '       almanac schedule pause COMPUTATION [--reason TEXT] [--json]',
      '       almanac schedule resume COMPUTATION [--json]',
      '',
      '  list: the schedule, paused / waiting-for-data state and next slots of every computation',
      '  tick: what the scheduler does each minute, for --at (default now): requests a run for every',
      '  slot due within scheduler.catchUpHours and not yet requested (again: nothing new)',
      "  pause / resume: stop / restart requesting a computation's slots (recorded in the log)",
    ].join('\n'),
    options: {
      at: { type: 'string' as const },
      count: { type: 'string' as const },
      reason: { type: 'string' as const },
    },
    positionals: ['list|tick|pause|resume', 'COMPUTATION'],
    async run(v: Record<string, unknown>, positionals: string[]): Promise<number> {
      const [action, computation] = positionals;
      if (!ACTIONS.includes(action as (typeof ACTIONS)[number]))
        throw usageError(
          action
            ? `unknown action "${action}": use ${ACTIONS.join(', ')}`
            : `say ${ACTIONS.join(', ')}`,
        );
      const needsName = action === 'pause' || action === 'resume';
      if (needsName && !computation) throw usageError(`schedule ${action} needs a COMPUTATION`);
      if (!needsName && computation) throw usageError(`unexpected argument "${computation}"`);
      const at = isoTime(v.at, usageError);
      let count: number | undefined;
      if (v.count !== undefined) {
        count = Number(v.count);
        if (!Number.isInteger(count) || count < 0 || count > 100)
          throw usageError(`--count must be an integer from 0 to 100, got "${String(v.count)}"`);
      }
      return withProject(v, async (client) => {
        if (action === 'list') {
          const rows = await client.schedules(at, count);
          out(v.json ? JSON.stringify(rows, null, 2) : listText(rows));
        } else if (action === 'tick') {
          const r = await client.tick(at);
          out(v.json ? JSON.stringify(r, null, 2) : tickText(r));
        } else {
          const reason = typeof v.reason === 'string' ? v.reason : undefined;
          const changed =
            action === 'pause'
              ? await client.pauseSchedule(computation, reason)
              : await client.resumeSchedule(computation);
          const word = action === 'pause' ? 'paused' : 'resumed';
          if (v.json) out(JSON.stringify({ computation, paused: action === 'pause', changed }));
          else
            out(
              changed
                ? `${computation}: schedule ${word}`
                : `${computation}: already ${word === 'paused' ? 'paused' : 'running'}`,
            );
        }
        return 0;
      });
    },
  };
}
