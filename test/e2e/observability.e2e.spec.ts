import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TraceFileSpan } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { startCluster, type Cluster } from '../cluster/cluster';
import { SERVICES } from '../cluster/cluster.args';
import { requestRun, waitForRun } from '../cluster/e2e-run';

const DATE = '2026-01-15';
const LABELS = 'logging.googleapis.com/labels';
const TRACE = 'logging.googleapis.com/trace';

type Line = { severity: string; message: string; [LABELS]: Record<string, string> } & Record<
  string,
  unknown
>;

// What an operator sees of one run of the five deployed services (issue 11): every service's log
// lines as the cluster passes them through (JSON with the Cloud Logging fields, ADR 0023), and
// the spans each appends to one file (ALMANAC_TRACES=file, ADR 0022). One cluster for both: a
// cluster start is the longest part of an e2e.
describe('logs and traces of the distributed services (e2e)', () => {
  let dir: string;
  let traceFile: string;
  let cluster: Cluster | undefined;
  const output: Array<{ name: string; line: string }> = [];
  // a start that outlives the hook's timeout stops what it started
  const starting = new AbortController();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-e2e-observe-'));
    traceFile = join(dir, 'spans.jsonl');
    const warehousePath = join(dir, 'warehouse.duckdb');
    await generateSampleData({ path: warehousePath, users: 20, days: 3, endDate: DATE });
    // no closes on DATE: MarketStats logs "no prices" and saves nothing, so every
    // UserPortfolioSummary entity logs that its holdings are unpriced
    const duck = await DuckDBInstance.create(warehousePath);
    const connection = await duck.connect();
    await connection.run(`DELETE FROM prices WHERE price_date = DATE '${DATE}'`);
    connection.closeSync();
    duck.closeSync();
    cluster = await startCluster({
      warehousePath,
      // debug: each message handled is a line, so the scheduler, which only follows this run's
      // events (for backfills), has lines of it too
      env: { ALMANAC_TRACES: 'file', ALMANAC_TRACE_FILE: traceFile, ALMANAC_LOG_LEVEL: 'debug' },
      onOutput: (name, line) => output.push({ name, line }),
      signal: starting.signal,
    });
  }, 420_000);

  afterAll(async () => {
    starting.abort(new Error('the test ended while the cluster started'));
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("one run: JSON lines from each service carry the run's trace id and labels, computations' lines their entity; the run is one connected trace over all five services", async () => {
    const { apiUrl } = cluster!;
    const runId = await requestRun(apiUrl, { date: DATE });
    const run = await waitForRun(apiUrl, runId, 150_000);
    expect(run.status).toBe('completed');
    expect(run.computations.MarketStats.status).toBe('completed');

    const timeline = (await (await fetch(`${apiUrl}/runs/${runId}/events`)).json()) as {
      events: Array<{ type: string; eventId: string; traceId: string | null }>;
    };
    expect(timeline.events.at(-1)!.type).toBe('RunCompleted');
    const traceId = timeline.events[0].traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(timeline.events.filter((e) => e.traceId !== traceId)).toEqual([]);

    const linesOf = (service: string) =>
      output.filter((o) => o.name === `${service}-1`).map((o) => JSON.parse(o.line) as Line);
    // the executor's last decision line may still be in the pipe
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      if (linesOf('executor').some((l) => l.message === 'run completed')) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    for (const service of SERVICES) {
      // every line parses (JSON.parse throws on one that does not)
      const lines = linesOf(service);
      expect(`${service}: ${lines.length > 0}`).toBe(`${service}: true`);
      for (const l of lines) {
        expect(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']).toContain(l.severity);
        expect(typeof l.message).toBe('string');
        expect(l[LABELS].service).toBe(service);
        // present whenever a trace id is known, in the form Cloud Logging links to Cloud Trace
        if (l[TRACE] !== undefined)
          expect(l[TRACE]).toMatch(/^projects\/almanac-local\/traces\/[0-9a-f]{32}$/);
      }
      expect(lines.some((l) => l.message.startsWith(`almanac ${service}: listening on http`))).toBe(
        true,
      );
    }

    // the decisions of this run, by the service that made each, labelled with the run
    const about = (service: string) => linesOf(service).filter((l) => l[LABELS].run === runId);
    expect(about('api').map((l) => l.message)).toContain(`run requested for ${DATE}`);
    expect(about('planner').map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^pass 0 ready: .*MarketStats/),
    );
    const executor = about('executor');
    expect(executor.map((l) => l.message)).toContain('run completed');
    const completed = executor.find(
      (l) => l[LABELS].computation === 'UserPortfolioSummary' && l.event === 'ComputationCompleted',
    );
    expect(completed?.message).toBe('computation completed: first-run');
    // a line about the run never names another run
    for (const service of SERVICES)
      for (const l of linesOf(service))
        if (typeof l.eventId === 'string' && l.eventId.includes(runId))
          expect(l[LABELS].run).toBe(runId);

    // computations' this.log() lines, from the worker, tagged with the entity, run and batch
    const worker = about('worker');
    const market = worker.find((l) => l.message === `no prices on ${DATE}`);
    expect(market).toMatchObject({ severity: 'WARNING' });
    expect(market![LABELS]).toMatchObject({
      computation: 'MarketStats',
      entity: '_global',
      batch: '0',
    });
    const unpriced = worker.filter(
      (l) => l.message === `no MarketStats for ${DATE}: every holding is unpriced`,
    );
    expect(unpriced.length).toBeGreaterThan(0);
    for (const l of unpriced) {
      expect(l[LABELS]).toMatchObject({
        service: 'worker',
        run: runId,
        computation: 'UserPortfolioSummary',
      });
      expect(l[LABELS].entity).toMatch(/\S/);
      expect(l[LABELS].entity).not.toBe('_global');
      expect(l[LABELS].batch).toMatch(/^\d+$/);
    }

    // every service logged lines of this run under the run's trace, which Cloud Logging links
    for (const service of SERVICES)
      expect(
        `${service}: ${linesOf(service).filter((l) => l[TRACE] === `projects/almanac-local/traces/${traceId}`).length > 0}`,
      ).toBe(`${service}: true`);
    // and every line labelled with the run is in its trace
    for (const service of SERVICES)
      for (const l of about(service))
        expect(`${service} ${l.message}: ${String(l[TRACE])}`).toBe(
          `${service} ${l.message}: projects/almanac-local/traces/${traceId}`,
        );

    // a stop is logged: the drain, then the end
    await cluster!.kill('scheduler-1');
    const stopLines = () =>
      linesOf('scheduler')
        .map((l) => l.message)
        .filter((m) => m.includes('stop'));
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      if (stopLines().length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stopLines()).toEqual([
      'almanac scheduler: stopping: finishing in-flight messages',
      'almanac scheduler: stopped',
    ]);
    // a graceful stop: the services finish their in-flight messages, whose spans end and are written
    await cluster!.stop();
    cluster = undefined;
    expect(existsSync(traceFile)).toBe(true);
    const spans = readFileSync(traceFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as TraceFileSpan)
      .filter((s) => s.traceId === traceId);

    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => s.parentSpanId === null);
    expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual(['api run.request']);
    const orphans = spans.filter((s) => s.parentSpanId !== null && !ids.has(s.parentSpanId));
    expect(orphans.map((s) => `${s.service} ${s.name}`)).toEqual([]);

    const services = [...new Set(spans.map((s) => s.service))].sort();
    expect(services).toEqual(['api', 'executor', 'planner', 'scheduler', 'worker']);
    const of = (service: string) =>
      new Set(spans.filter((s) => s.service === service).map((s) => s.name));
    expect([...of('planner')]).toEqual(
      expect.arrayContaining(['process RunRequested', 'plan', 'publish PassReady']),
    );
    expect([...of('executor')]).toEqual(
      expect.arrayContaining([
        'process PassReady',
        'pass 0',
        'computation UserDailyActive',
        'publish BatchRequested',
        'process BatchDone',
        'publish ComputationCompleted',
        'publish RunCompleted',
      ]),
    );
    expect([...of('worker')]).toEqual(
      expect.arrayContaining(['process BatchRequested', 'batch UserDailyActive#0']),
    );
    // the scheduler follows the ends of runs for its backfills: it receives this run's events too
    expect([...of('scheduler')]).toEqual(expect.arrayContaining(['process RunCompleted']));

    // every event of the run was published from a span of this trace
    const published = new Set(
      spans.filter((s) => s.kind === 'PRODUCER').map((s) => s.attributes['almanac.event_id']),
    );
    expect(timeline.events.filter((e) => !published.has(e.eventId))).toEqual([]);
  }, 360_000);
});
