import { userInfo } from 'node:os';
import type { ParseArgsConfig } from 'node:util';
import type { ProjectClient } from './project-client';
import { table } from './render';

type Options = NonNullable<ParseArgsConfig['options']>;

interface MaintenanceCommand {
  summary: string;
  usage: string;
  options: Options;
  run(values: Record<string, unknown>): Promise<number>;
}

/** What main.ts lends these commands: its project access, output and usage errors. */
interface CommandKit {
  withProject<T>(
    values: Record<string, unknown>,
    fn: (client: ProjectClient) => Promise<T>,
  ): Promise<T>;
  timestampOption(values: Record<string, unknown>, name: string): string | undefined;
  out(line: string): void;
}

function requestedBy(): string {
  try {
    return userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}

/** `almanac invalidate` and `almanac retention` (ADR 0018). */
export function maintenanceCommands(kit: CommandKit): Record<string, MaintenanceCommand> {
  const { withProject, out } = kit;
  return {
    invalidate: {
      summary:
        'taint results of computations for dates: their next run re-runs them even if unchanged',
      usage: [
        'almanac invalidate --computation NAME [--computation NAME]... --from YYYY-MM-DD [--to YYYY-MM-DD] --reason TEXT [--json]',
        '',
        '  records one ComputationsInvalidated (--to defaults to --from); the next run of each',
        '  (computation, date) with a result re-runs it, and its dependants re-run only if its',
        '  result changes. Dates never run are recorded and unaffected. Repeating the same request',
        '  records nothing new until the results were re-computed.',
      ].join('\n'),
      options: {
        computation: { type: 'string', multiple: true, short: 'c' },
        from: { type: 'string' },
        to: { type: 'string' },
        reason: { type: 'string' },
      },
      async run(v) {
        const from = typeof v.from === 'string' ? v.from : '';
        const request = {
          computations: (v.computation as string[] | undefined) ?? [],
          from,
          to: typeof v.to === 'string' ? v.to : from,
          reason: typeof v.reason === 'string' ? v.reason : '',
          requestedBy: requestedBy(),
        };
        return withProject(v, async (client) => {
          const answer = await client.invalidate(request);
          if (v.json) out(JSON.stringify(answer, null, 2));
          else
            out(
              `${answer.replayed ? 'already recorded' : 'invalidated'} ${[...new Set(request.computations)].sort().join(', ')} for ${request.from}..${request.to} (${answer.invalidationId}): ${answer.tainted} result${answer.tainted === 1 ? '' : 's'} tainted, re-run on their next run`,
            );
          return 0;
        });
      },
    },
    retention: {
      summary:
        "remove results of dates older than each computation's ttlDays (recorded in the log)",
      usage: [
        'almanac retention [--dry-run] [--as-of TIMESTAMP] [--json]',
        '',
        '  every version of a date before today - ttlDays is recorded (ResultVersionsExpired),',
        '  then deleted; a version written in the last day is kept until the next sweep.',
        '  --dry-run    say what would be removed; append and delete nothing',
        '  --as-of T    decide as of that time instead of now (e.g. a dry run of next week)',
      ].join('\n'),
      options: { 'dry-run': { type: 'boolean' }, 'as-of': { type: 'string' } },
      async run(v) {
        const asOf = kit.timestampOption(v, 'as-of');
        return withProject(v, async (client) => {
          const report = await client.retention({ dryRun: Boolean(v['dry-run']), asOf });
          if (v.json) {
            out(JSON.stringify(report, null, 2));
            return 0;
          }
          const would = report.dryRun ? 'would remove' : 'removed';
          out(
            table(
              ['computation', 'ttlDays', 'keeps from', 'dates expired', `versions ${would}`],
              report.computations.map((c) => {
                const dates = report.expired.filter((e) => e.computation === c.computation);
                const versions = report.deleted
                  .filter((d) => d.computation === c.computation)
                  .reduce((n, d) => n + d.versions.length, 0);
                return [
                  c.computation,
                  String(c.ttlDays),
                  c.cutoff,
                  String(dates.length),
                  String(versions),
                ];
              }),
            ),
          );
          for (const e of report.expired)
            out(
              `${report.dryRun ? 'would expire' : 'expired'} ${e.computation} ${e.date}: ${e.versions.length} version${e.versions.length === 1 ? '' : 's'}${e.current ? ' (the current result included)' : ''}`,
            );
          return 0;
        });
      },
    },
  };
}
