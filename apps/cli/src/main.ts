import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { exportJsonSchemas } from '@almanac/contracts';
import { ApiRequestError, describeReason, type AuditNode } from '@almanac/api';
import { serveEmbedded } from '@almanac/embedded';
import {
  cliLogFormat,
  computationLogSink,
  createLogger,
  dateFormatIssue,
  findProjectRoot,
  InvalidBackfillRequestError,
  InvalidRunRequestError,
  InvalidLogFormatError,
  loadProjectConfig,
  loadDuckDbIntoBigQuery,
  bigQueryClient,
  projectPaths,
  type ProjectConfig,
} from '@almanac/platform';
import {
  DEFAULT_WAIT_LOCK_MS,
  holdProject,
  openProject,
  parseWait,
  untilUnlocked,
  ServerHoldsProjectError,
} from './project-access';
import { maintenanceCommands } from './maintenance-commands';
import { backfillCommand } from './backfill.command';
import { describeServer, type ProjectClient } from './project-client';
import { duration, Progress, runSummary, table } from './render';
import { scheduleCommand } from './schedule-command';
import { graphCommand, previewRange } from './preview.command';

class UsageError extends Error {}

/** a run estimated to bill more than warehouse.bigquery.runBudgetBytes, without --confirm-cost */
class RunBudgetError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
const common: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  project: { type: 'string' },
  'wait-lock': { type: 'string' },
  'log-format': { type: 'string' },
};

interface Command {
  summary: string;
  usage: string;
  options: Options;
  /** names of the positional arguments it takes (none by default) */
  positionals?: string[];
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

// a reader that stops early (`almanac replay ... | head`) is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

function requireDate(values: Record<string, unknown>, name = 'date'): string {
  const v = values[name];
  if (typeof v !== 'string') throw new UsageError(`--${name} is required (YYYY-MM-DD)`);
  const issue = dateFormatIssue(v, `--${name}`);
  if (issue) throw new UsageError(issue);
  return v;
}

/**
 * The date of a run (run, analyze): checked with the rest of the request by the rules the api and
 * the planner apply (validateRunRequest), so that a bad one gets the api's message.
 */
function runDate(values: Record<string, unknown>): string {
  if (typeof values.date !== 'string') throw new UsageError('--date is required (YYYY-MM-DD)');
  return values.date;
}

function project(values: Record<string, unknown>): { root: string; config: ProjectConfig } {
  const root = findProjectRoot(
    typeof values.project === 'string' ? resolve(values.project) : process.cwd(),
  );
  return { root, config: loadProjectConfig(root) };
}

/** the command being run, for lines on stderr while it waits */
let commandName = '';

function access(values: Record<string, unknown>) {
  const { root, config } = project(values);
  const wait = values['wait-lock'];
  const waitLockMs = typeof wait === 'string' ? parseWait(wait) : DEFAULT_WAIT_LOCK_MS;
  if (waitLockMs === null)
    throw new UsageError(`--wait-lock "${String(wait)}" is not a duration (e.g. 30s, 500ms, 2m)`);
  return {
    root,
    config,
    waitLockMs,
    say: (line: string) => err(`almanac ${commandName}: ${line}`),
  };
}

/**
 * The project, through the `almanac serve` that holds it or opened here (waiting for another
 * process's lock up to --wait-lock); progress of a run on stderr unless --json or --quiet.
 */
async function withProject<T>(
  values: Record<string, unknown>,
  fn: (client: ProjectClient) => Promise<T>,
  /** run: show its progress, and check that a server runs the code on disk; backfills: host them */
  opts: { run?: boolean; backfills?: boolean } = {},
): Promise<T> {
  const a = access(values);
  const paths = projectPaths(a.root, a.config);
  if (a.config.warehouse.kind === 'duckdb' && !existsSync(paths.warehouse)) {
    throw new UsageError(
      `no warehouse at ${paths.warehouse}: run \`almanac sample-data\` (or \`npm start\`) first`,
    );
  }
  // JSON lines on stderr (stdout keeps the command's output): the services' decisions and the
  // computations' this.log() lines, at info (debug with --verbose)
  const logger = jsonLogs(values)
    ? createLogger({
        service: 'cli',
        format: 'json',
        level: values.verbose ? 'debug' : 'info',
        write: (line) => void process.stderr.write(line),
      })
    : undefined;
  const client = await openProject({
    ...a,
    progress: new Progress(
      process.stderr,
      Boolean(opts.run) && !values.json && !values.quiet && !logger,
    ),
    checkCode: opts.run || opts.backfills,
    backfills: opts.backfills,
    logger,
    log: logger
      ? computationLogSink(logger)
      : (l) => {
          if (values.verbose || l.level === 'WARN' || l.level === 'ERROR')
            err(`[${l.level}] [${l.computation}] [${l.entityId}] ${l.message}`);
        },
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** --log-format json (or ALMANAC_LOG_FORMAT=json): stderr carries JSON lines only */
function jsonLogs(values: Record<string, unknown>): boolean {
  return cliLogFormat(values['log-format'], process.env) === 'json';
}

function timestampOption(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v)))
    throw new UsageError(`--${name} "${String(v)}" is not a timestamp (e.g. 2026-01-15T10:00:00Z)`);
  return new Date(v).toISOString();
}

function auditLines(node: AuditNode, indent = ''): string[] {
  const lines: string[] = [];
  const head = `${indent}${node.computation} ${node.date}`;
  if (!node.runId) lines.push(`${head}: no completed result`);
  else
    lines.push(
      `${head}: result ${node.resultHash?.slice(0, 12) ?? '(none saved)'} from run ${node.runId} at ${node.completedAt}${node.taint ? ` (tainted by ${node.taint.requestedBy} at ${node.taint.at}: its next run re-runs it)` : node.valid ? '' : ' (invalidated: a later run is rewriting it, or it was restricted to some entities)'}`,
    );
  for (const i of node.invalidations ?? [])
    lines.push(
      `${indent}  invalidated ${i.from}..${i.to} at ${i.at} by ${i.requestedBy}: ${i.reason}`,
    );
  if (node.exported)
    lines.push(
      `${indent}  exported version ${node.exported.version} (${node.exported.rows} rows) to ${node.exported.table} at ${node.exported.at}`,
    );
  if (node.hashParts) {
    const h = node.hashParts;
    lines.push(
      `${indent}  composite ${node.compositeHash?.slice(0, 12)}: code ${h.code.slice(0, 12)}, epoch ${h.epoch}${h.previous ? `, previous ${h.previous.slice(0, 12)}` : ''}`,
    );
    for (const [t, fp] of Object.entries(h.inputs)) lines.push(`${indent}  input ${t}: ${fp}`);
  }
  if (node.decisions.length) {
    lines.push(`${indent}  decisions:`);
    for (const d of node.decisions)
      lines.push(
        `${indent}    ${d.at}  run ${d.runId}  ${d.status}${d.dryRun ? ' (dry run)' : ''}: ${d.why}`,
      );
  }
  for (const dep of node.dependencies) {
    lines.push(
      `${indent}  depends on ${dep.name} result ${dep.resultHash?.slice(0, 12) ?? 'none'}${dep.producedBy ? ` from run ${dep.producedBy}` : ''}${dep.replaced ? ' (since replaced by a newer result)' : dep.lineage ? '' : ' (lineage above)'}`,
    );
    if (dep.lineage) lines.push(...auditLines(dep.lineage, `${indent}    `));
  }
  return lines;
}

async function runCommand(values: Record<string, unknown>, date: string): Promise<number> {
  return withProject(
    values,
    async (client) => {
      const forceUpstream = Boolean(values['force-upstream']);
      await checkRunBudget(client, values, date);
      if (!values.json && !jsonLogs(values))
        err(
          `running ${date}${forceUpstream ? ' (forced with their dependencies)' : values.force ? ' (forced)' : ''}${values['dry-run'] ? ' (dry run)' : ''}${client.server ? ` through ${describeServer(client.server)}` : ''} ...`,
        );
      const run = await client.run({
        date,
        targets: (values.computation as string[] | undefined) ?? [],
        entityIds: (values.entity as string[] | undefined) ?? [],
        force: Boolean(values.force),
        forceUpstream,
        dryRun: Boolean(values['dry-run']),
      });
      if (values.json) out(JSON.stringify(run, null, 2));
      else {
        out(runSummary(run));
        if (run.rejection && !jsonLogs(values)) err(`run rejected: ${run.rejection.message}`);
      }
      const failed = Object.values(run.computations).some((c) => c.status === 'failed');
      return failed || run.status === 'rejected' || run.status === 'failed' ? 1 : 0;
    },
    { run: true },
  );
}

/**
 * warehouse.bigquery.runBudgetBytes (ADR 0026): a run whose reads are estimated (dry runs) to
 * bill more is refused before anything is requested, unless --confirm-cost says to go on.
 */
async function checkRunBudget(
  client: ProjectClient,
  values: Record<string, unknown>,
  date: string,
): Promise<void> {
  const bigquery = access(values).config.warehouse.bigquery;
  const budget = bigquery?.runBudgetBytes;
  if (!budget || values['confirm-cost'] || values['dry-run']) return;
  const rows = await client.analyze(date, (values.computation as string[] | undefined) ?? [], {
    force: Boolean(values.force),
    forceUpstream: Boolean(values['force-upstream']),
  });
  const billed = rows.reduce((sum, r) => sum + (r.scan?.bytesBilled ?? 0), 0);
  if (billed <= budget) return;
  const cost = rows.reduce((sum, r) => sum + (r.scan?.cost ?? 0), 0);
  throw new RunBudgetError(
    `the run of ${date} would bill ${bytes(billed)} (about $${cost.toFixed(2)}), above warehouse.bigquery.runBudgetBytes ${bytes(budget)}: see \`almanac analyze --date ${date}\`, and run again with --confirm-cost to go on`,
  );
}

/** bytes in binary units, as BigQuery bills them */
function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/**
 * Generates the sample warehouse. The summary goes to stdout (JSON with --json), unless `start`
 * asks for it on stderr: `start --json` prints one JSON document, the run's.
 */
async function sampleData(
  values: Record<string, unknown>,
  summaryTo: 'stdout' | 'stderr' = 'stdout',
): Promise<number> {
  const a = access(values);
  const { root, config } = a;
  const sample = config.sample;
  if (!sample)
    throw new UsageError('almanac.config.ts has no "sample" section: nothing to generate');
  const users = values.users !== undefined ? positiveInt(values.users, 'users') : sample.users;
  const days = values.days !== undefined ? positiveInt(values.days, 'days') : sample.days;
  const endDate = values['end-date'] !== undefined ? requireDate(values, 'end-date') : sample.date;
  const seed = values.seed !== undefined ? positiveInt(values.seed, 'seed') : undefined;
  const target = values.target ?? 'duckdb';
  if (target !== 'duckdb' && target !== 'bigquery')
    throw new UsageError(`--target must be duckdb or bigquery, got "${String(target)}"`);
  const bigquery = config.warehouse.bigquery;
  if (target === 'bigquery' && !bigquery)
    throw new UsageError(
      '--target bigquery needs warehouse.bigquery (dataset, and projectId or GOOGLE_CLOUD_PROJECT) in almanac.config.ts',
    );
  const path = projectPaths(root, config).warehouse;
  const t0 = Date.now();
  // the generator replaces the warehouse file: no run may read it meanwhile
  const summary = await holdProject(a, 'sample-data replaces the warehouse it reads', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(resolve(root, sample.module)) as {
      generateSampleData(o: {
        path: string;
        users: number;
        days: number;
        endDate: string;
        seed?: number;
        onProgress?: (d: number, t: number) => void;
      }): Promise<{ tables: Record<string, number> }>;
    };
    if (!values.json)
      err(`generating ${users} users x ${days} days ending ${endDate} into ${path} ...`);
    return mod.generateSampleData({
      path,
      users,
      days,
      endDate,
      seed,
      onProgress: values.json
        ? undefined
        : (d, t) => process.stderr.isTTY && process.stderr.write(`\r  ${d}/${t} steps`),
    });
  });
  if (process.stderr.isTTY && !values.json) process.stderr.write('\n');
  let loaded: { project: string; dataset: string; tables: Record<string, number> } | undefined;
  if (target === 'bigquery' && bigquery) {
    const { bigquery: client, projectId } = bigQueryClient(bigquery, process.env);
    const where = `${projectId}.${bigquery.dataset}`;
    err(`loading ${Object.keys(summary.tables).length} tables into BigQuery ${where} ...`);
    const { tables } = await loadDuckDbIntoBigQuery({
      duckDbPath: path,
      bigquery: client,
      dataset: bigquery.dataset,
      location: bigquery.location,
      tables: config.tables,
      onTable: (t, n) => err(`  ${where}.${t}: ${n} rows`),
    });
    loaded = { project: projectId, dataset: bigquery.dataset, tables };
  }
  if (summaryTo === 'stderr')
    err(
      `generated sample data into ${path}: ${Object.entries(summary.tables)
        .map(([t, n]) => `${t} ${n} rows`)
        .join(', ')}`,
    );
  else if (values.json)
    out(JSON.stringify({ path, ...summary, ...(loaded && { bigquery: loaded }) }, null, 2));
  else
    out(
      `${table(
        ['table', 'rows'],
        Object.entries(summary.tables).map(([t, n]) => [t, String(n)]),
      )}\nwritten in ${duration(Date.now() - t0)}`,
    );
  return 0;
}

function positiveInt(v: unknown, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive integer, got "${String(v)}"`);
  return n;
}

const FORCE_HELP = [
  '  --force           re-run the named computations (every computation without --computation)',
  '                    even if nothing changed; their dependencies still skip when unchanged',
  '  --force-upstream  re-run the named computations and every computation they depend on',
].join('\n');

const commands: Record<string, Command> = {
  run: {
    summary: 'run the computations for a date, skipping what did not change',
    usage: [
      'almanac run --date YYYY-MM-DD [--computation NAME]... [--entity ID]... [--force | --force-upstream] [--dry-run] [--confirm-cost] [--json] [--verbose]',
      '',
      '  a run includes the dependencies of the named computations; they run only if something',
      '  they depend on changed',
      FORCE_HELP,
      '  --confirm-cost    run even if the reads are estimated to bill more than',
      '                    warehouse.bigquery.runBudgetBytes (BigQuery; see `almanac analyze`)',
    ].join('\n'),
    options: {
      date: { type: 'string' },
      computation: { type: 'string', multiple: true, short: 'c' },
      entity: { type: 'string', multiple: true, short: 'e' },
      force: { type: 'boolean' },
      'force-upstream': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'confirm-cost': { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      quiet: { type: 'boolean', short: 'q' },
    },
    run: (v) => runCommand(v, runDate(v)),
  },
  backfill: backfillCommand({ withProject, out, err, usageError: (m) => new UsageError(m) }),
  analyze: {
    summary:
      'say what a run (or runs of a range of dates) would run, skip, block or find impossible, without running',
    usage: [
      'almanac analyze --date YYYY-MM-DD [--computation NAME]... [--force | --force-upstream] [--json]',
      '       almanac analyze --from YYYY-MM-DD --to YYYY-MM-DD [--computation NAME]... [--force | --force-upstream] [--json]',
      '',
      '  --from, --to  every date of the range: a table of what would run on which dates and why,',
      '                then a summary by cause (code files, tables, never run, blocked, impossible)',
      FORCE_HELP,
    ].join('\n'),
    options: {
      date: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      computation: { type: 'string', multiple: true, short: 'c' },
      force: { type: 'boolean' },
      'force-upstream': { type: 'boolean' },
    },
    async run(v) {
      if (v.from !== undefined || v.to !== undefined) {
        if (v.date !== undefined) throw new UsageError('give --date, or --from and --to, not both');
        const range = { from: requireDate(v, 'from'), to: requireDate(v, 'to') };
        return withProject(v, async (q) => previewRange(q, range, v, out));
      }
      const date = runDate(v);
      return withProject(v, async (q) => {
        const rows = await q.analyze(date, (v.computation as string[]) ?? [], {
          force: Boolean(v.force),
          forceUpstream: Boolean(v['force-upstream']),
        });
        if (v.json) out(JSON.stringify(rows, null, 2));
        else if (rows.some((r) => r.scan)) {
          // reads billed by bytes (BigQuery): what each computation's run would scan and cost
          out(
            table(
              ['computation', 'pass', 'would', 'scans', 'billed', 'cost', 'why'],
              rows.map((r) => [
                r.computation,
                String(r.pass),
                r.prediction,
                r.scan ? bytes(r.scan.bytesProcessed) : '',
                r.scan ? bytes(r.scan.bytesBilled) : '',
                r.scan ? `$${r.scan.cost.toFixed(2)}` : '',
                r.why,
              ]),
            ),
          );
          const billed = rows.reduce((sum, r) => sum + (r.scan?.bytesBilled ?? 0), 0);
          const cost = rows.reduce((sum, r) => sum + (r.scan?.cost ?? 0), 0);
          out(`a run would bill ${bytes(billed)}, about $${cost.toFixed(2)}`);
        } else
          out(
            table(
              ['computation', 'pass', 'would', 'why'],
              rows.map((r) => [r.computation, String(r.pass), r.prediction, r.why]),
            ),
          );
        return 0;
      });
    },
  },
  graph: {
    summary: 'print the DAG (passes, dependencies), marked with what runs of a range would do',
    usage: [
      'almanac graph [--format text|mermaid|dot] [--from YYYY-MM-DD --to YYYY-MM-DD] [--json]',
      '',
      '  --format      text (default), mermaid (paste into a Markdown review) or dot (Graphviz)',
      '  --from, --to  mark each computation with what runs of those dates would do',
      '                ("runs on 31 of 31 dates"), as `almanac analyze --from --to` predicts it',
      '  --json        the graph as data (nodes, passes, marks)',
    ].join('\n'),
    options: { format: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
    async run(v) {
      const range =
        v.from !== undefined || v.to !== undefined
          ? { from: requireDate(v, 'from'), to: requireDate(v, 'to') }
          : undefined;
      const print = graphCommand(v, (m) => new UsageError(m));
      return withProject(v, async (q) => print(await q.graph(range), out));
    },
  },
  status: {
    summary: "each computation's latest status for a date (default: the date of the latest run)",
    usage: 'almanac status [--date YYYY-MM-DD] [--as-of TIMESTAMP] [--json]',
    options: { date: { type: 'string' }, 'as-of': { type: 'string' } },
    async run(v) {
      const date = v.date !== undefined ? requireDate(v) : undefined;
      const asOf = timestampOption(v, 'as-of');
      return withProject(v, async (q) => {
        const status = await q.status(date, asOf);
        if (!status.date) {
          out(asOf ? `no runs before ${asOf}` : 'no runs yet: try `almanac run --date YYYY-MM-DD`');
          return 0;
        }
        if (v.json) out(JSON.stringify(status.computations, null, 2));
        else {
          out(`status for ${status.date}${asOf ? ` as of ${asOf}` : ''}`);
          out(
            table(
              ['computation', 'pass', 'type', 'status', 'run', 'result', 'reason'],
              status.computations.map((r) => {
                const now = r.inProgress;
                const latest =
                  r.status === 'never-run'
                    ? 'never run before'
                    : `latest: ${r.status}, ${describeReason(r.reason, r.failures)}`;
                // a run executing it now is shown; the result stays the latest decision's
                return [
                  r.computation,
                  String(r.pass),
                  r.type,
                  now?.status ?? r.status,
                  now?.runId ?? r.runId ?? '',
                  r.resultHash?.slice(0, 12) ?? '',
                  now
                    ? `in progress (${latest})${now.status === 'running' ? ` ${now.batchesDone}/${now.batchCount} batches` : ''}`
                    : describeReason(r.reason, r.failures),
                ];
              }),
            ),
          );
        }
        return 0;
      });
    },
  },
  replay: {
    summary: "print a run's timeline, replayed from the event log",
    usage: 'almanac replay --run RUN_ID [--json]',
    options: { run: { type: 'string', short: 'r' } },
    async run(v) {
      const runId = v.run;
      if (typeof runId !== 'string') throw new UsageError('--run is required (a run id)');
      return withProject(v, async (q) => {
        const timeline = await q.runEvents(runId);
        if (v.json) out(JSON.stringify(timeline, null, 2));
        else {
          const t0 = Date.parse(timeline.events[0].occurredAt);
          for (const e of timeline.events)
            out(
              `${e.recordedAt}  +${duration(Date.parse(e.occurredAt) - t0).padStart(7)}  ${e.type.padEnd(20)} ${e.summary}`,
            );
        }
        return 0;
      });
    },
  },
  audit: {
    summary: 'the lineage of the current result of a computation for a date, replayed from the log',
    usage: 'almanac audit --computation NAME --date YYYY-MM-DD [--as-of TIMESTAMP] [--json]',
    options: {
      date: { type: 'string' },
      computation: { type: 'string', short: 'c' },
      'as-of': { type: 'string' },
    },
    async run(v) {
      const date = requireDate(v);
      const name = v.computation;
      if (typeof name !== 'string') throw new UsageError('--computation is required');
      const asOf = timestampOption(v, 'as-of');
      return withProject(v, async (q) => {
        const lineage = await q.audit(name, date, asOf);
        if (v.json) out(JSON.stringify(lineage, null, 2));
        else out(auditLines(lineage).join('\n'));
        return 0;
      });
    },
  },
  projections: {
    summary: 'rebuild the checkpointed views from the whole log, or verify them against a rebuild',
    usage: 'almanac projections rebuild|verify [--json]',
    options: {},
    positionals: ['rebuild|verify'],
    async run(v, positionals) {
      const action = positionals[0];
      if (action !== 'rebuild' && action !== 'verify')
        throw new UsageError(
          action ? `unknown action "${action}": use rebuild or verify` : 'say rebuild or verify',
        );
      return withProject(v, async (q) => {
        const t0 = Date.now();
        if (action === 'rebuild') {
          const r = await q.rebuildProjections();
          if (v.json) out(JSON.stringify(r, null, 2));
          else
            out(
              `rebuilt from ${r.events} events (up to ${r.position ?? 'the start'}) in ${duration(Date.now() - t0)}`,
            );
          return 0;
        }
        const report = await q.verifyProjections();
        if (v.json) out(JSON.stringify(report, null, 2));
        else if (report.equal)
          out(
            `equal: the live views match a rebuild from ${report.events} events (up to ${report.position ?? 'the start'})`,
          );
        else {
          out(
            `DIFFERENT: ${report.differences.length} difference(s) between the live views and a rebuild`,
          );
          for (const d of report.differences)
            out(
              `  ${d.view} ${d.path}: live ${JSON.stringify(d.live)} rebuilt ${JSON.stringify(d.rebuilt)}`,
            );
        }
        return report.equal ? 0 : 1;
      });
    },
  },
  serve: {
    summary: 'serve the api and the status page, with the services running runs in this process',
    usage: [
      'almanac serve [--host 127.0.0.1] [--port 8080] [--allowed-host NAME]... [--allowed-origin ORIGIN]...',
      '',
      '  /status the status page, /docs the OpenAPI document, /health, /metrics',
      '  auth: ALMANAC_API_TOKENS="name:operator:<token>,name:viewer:<token>" (or api.auth in',
      '  almanac.config.ts); without any, the api listens on loopback only',
      '  --allowed-host: a name the api is reached as besides localhost, 127.0.0.1, [::1]',
      '  (also ALMANAC_ALLOWED_HOSTS); --allowed-origin: an origin whose pages may call the api',
      '  (CORS; also ALMANAC_ALLOWED_ORIGINS). Both comma-separated in the environment.',
      '  ALMANAC_RATE_LIMIT=120/min (or api.rateLimit): requests per caller; off by default',
      '  without auth, 600/min with it.',
      '  The scheduler ticks every scheduler.tickIntervalMs (ALMANAC_TICK_INTERVAL_MS; 0: never),',
      '  and after a tick sweeps retention at most every scheduler.retentionIntervalMs (0: never).',
    ].join('\n'),
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      'allowed-origin': { type: 'string', multiple: true },
    },
    async run(v) {
      const a = access(v);
      const port = v.port !== undefined ? Number(v.port) : 8080;
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port must be 0..65535, got "${String(v.port)}"`);
      if (!existsSync(projectPaths(a.root, a.config).warehouse))
        throw new UsageError('no warehouse yet: run `almanac sample-data` (or `npm start`) first');
      const served = await untilUnlocked(a, async (server) => {
        if (server) throw new ServerHoldsProjectError(server, 'one server per project');
        return serveEmbedded({
          root: a.root,
          config: a.config,
          host: typeof v.host === 'string' ? v.host : '127.0.0.1',
          port,
          allowedHosts: v['allowed-host'] as string[] | undefined,
          allowedOrigins: v['allowed-origin'] as string[] | undefined,
          tickIntervalMs: tickInterval(a.config),
        });
      });
      out(`almanac api listening on ${served.url}`);
      out(
        `  status page ${served.url}/status   OpenAPI ${served.url}/docs   health ${served.url}/health`,
      );
      await new Promise<void>((resolveStop) => {
        const stop = () => resolveStop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      err('stopping: finishing in-flight work ...');
      await served.close();
      return 0;
    },
  },
  explain: {
    summary: "why a computation's latest decision for a date was what it was",
    usage: 'almanac explain --computation NAME --date YYYY-MM-DD [--json]',
    options: { date: { type: 'string' }, computation: { type: 'string', short: 'c' } },
    async run(v) {
      const date = requireDate(v);
      const name = v.computation;
      if (typeof name !== 'string') throw new UsageError('--computation is required');
      return withProject(v, async (q) => {
        const report = await q.explain(name, date);
        if (!report) {
          out(`${name} has never run for ${date}`);
          return 0;
        }
        if (v.json) {
          out(JSON.stringify(report, null, 2));
          return 0;
        }
        const d = report.decision;
        out(`${name} on ${date}: ${d.status} in run ${d.runId} at ${d.at}`);
        out(`  reason: ${describeReason(d.reason)}`);
        for (const i of report.invalidations ?? [])
          out(`  invalidated at ${i.at} by ${i.requestedBy}: ${i.reason}`);
        if (report.previous)
          out(`  compared with: completed run ${report.previous.runId} at ${report.previous.at}`);
        else out('  compared with: no earlier completed result');
        if (report.changedParts.length) out(`  changed parts: ${report.changedParts.join(', ')}`);
        if (report.changedFiles.length)
          out(`  changed code files: ${report.changedFiles.join(', ')}`);
        if (report.hashParts) {
          const h = report.hashParts;
          out(`  composite hash: ${d.compositeHash}`);
          out(
            `    code ${h.code.slice(0, 12)}  epoch ${h.epoch}${h.previous ? `  previous ${h.previous.slice(0, 12)}` : ''}${h.scope ? `  scope ${h.scope.slice(0, 12)}` : ''}`,
          );
          for (const [t, fp] of Object.entries(h.inputs)) out(`    input ${t}: ${fp}`);
          for (const [dep, r] of Object.entries(h.dependencies))
            out(`    dependency ${dep}: ${r?.slice(0, 12) ?? 'none'}`);
        }
        if (d.failedEntities.length)
          out(
            `  failed entities: ${d.failedEntities.map((f) => `${f.entityId} (${f.message})`).join(', ')}`,
          );
        return 0;
      });
    },
  },
  'sample-data': {
    summary: 'generate the deterministic sample warehouse (DuckDB) of the example domain',
    usage: [
      'almanac sample-data [--users N] [--days N] [--end-date YYYY-MM-DD] [--seed N]',
      '                    [--target duckdb|bigquery] [--json]',
      '',
      '  --target bigquery  also load every table of the DuckDB file into the BigQuery dataset',
      '                     warehouse.bigquery.dataset (created when absent; tables replaced),',
      '                     partitioned by day on dateField, clustered by entityField; the',
      '                     project: warehouse.bigquery.projectId or GOOGLE_CLOUD_PROJECT, the API',
      '                     at ALMANAC_BIGQUERY_ENDPOINT when set (an emulator). Default: duckdb',
    ].join('\n'),
    options: {
      target: { type: 'string' },
      users: { type: 'string' },
      days: { type: 'string' },
      'end-date': { type: 'string' },
      seed: { type: 'string' },
    },
    run: (v) => sampleData(v),
  },
  'event-schemas': {
    summary:
      'print the JSON Schema of every event (envelope and payload), for other languages and docs',
    usage: 'almanac event-schemas',
    options: {},
    async run() {
      out(JSON.stringify(exportJsonSchemas(), null, 2));
      return 0;
    },
  },
  start: {
    summary: 'generate the sample data if missing, then run every computation for the sample date',
    usage: [
      'almanac start [--force] [--json]',
      '',
      '  --json  prints one JSON document, the run as `almanac run --json` prints it (a summary of',
      '          the sample data it generated goes to stderr)',
    ].join('\n'),
    options: { force: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
    async run(v) {
      const { root, config } = project(v);
      if (!config.sample) throw new UsageError('almanac.config.ts has no "sample" section');
      if (!existsSync(projectPaths(root, config).warehouse)) {
        const code = await sampleData(v, v.json ? 'stderr' : 'stdout');
        if (code !== 0) return code;
      }
      return runCommand(v, config.sample.date);
    },
  },
  ...maintenanceCommands({
    withProject: (v, fn) => withProject(v, fn),
    timestampOption,
    out,
  }),
  schedule: scheduleCommand({ withProject, out, usageError: (m) => new UsageError(m) }),
};

/** The scheduler's tick in `almanac serve`: ALMANAC_TICK_INTERVAL_MS (0: none), else the config's. */
function tickInterval(config: ProjectConfig): number | null {
  const env = process.env.ALMANAC_TICK_INTERVAL_MS;
  if (env === undefined || env === '') return config.scheduler.tickIntervalMs;
  const ms = Number(env);
  if (!Number.isInteger(ms) || ms < 0)
    throw new UsageError(`ALMANAC_TICK_INTERVAL_MS must be a whole number of ms, got "${env}"`);
  return ms === 0 ? null : ms;
}

function help(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'almanac: runs a DAG of data computations for a date, skipping what did not change.',
    '',
    'usage: almanac <command> [options]    (almanac <command> --help for its options)',
    '',
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n].summary}`),
    '',
    'common options: --json (machine-readable output), --project DIR (folder with almanac.config.ts),',
    `  --wait-lock 30s (how long to wait while another process has the project open; default ${DEFAULT_WAIT_LOCK_MS / 1000}s)`,
    '  --log-format human|json (log lines on stderr: human by default; json: one JSON object a',
    '  line with severity, message and labels, as Cloud Logging reads them; also ALMANAC_LOG_FORMAT)',
    'while `almanac serve` runs on the project, the other commands go through its api',
    'exit codes: 0 ok, 1 a computation failed or the run was rejected, 2 bad usage',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    err(`almanac: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  commandName = name;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...common, ...command.options },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      out(`${command.summary}\n\nusage: ${command.usage}`);
      return 0;
    }
    const allowed = command.positionals?.length ?? 0;
    if (positionals.length > allowed)
      throw new UsageError(`unexpected argument "${positionals[allowed]}"`);
    return await command.run(values as Record<string, unknown>, positionals);
  } catch (e) {
    if (
      e instanceof UsageError ||
      e instanceof InvalidRunRequestError ||
      e instanceof InvalidLogFormatError ||
      e instanceof InvalidBackfillRequestError ||
      (e instanceof ApiRequestError && e.status !== 409) ||
      (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      err(`almanac ${name}: ${(e as Error).message}\nusage: ${command.usage}`);
      return 2;
    }
    err(`almanac ${name}: ${(e as Error).message}`);
    if (process.env.ALMANAC_DEBUG) err((e as Error).stack ?? '');
    return 1;
  }
}
