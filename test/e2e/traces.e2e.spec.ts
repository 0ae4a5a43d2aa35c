import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceFileSpan } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { startCluster, type Cluster } from '../cluster/cluster';
import { requestRun, waitForRun } from '../cluster/e2e-run';

const DATE = '2026-01-15';

// ADR 0022: the five services as OS processes, each appending its finished spans to one file
// (ALMANAC_TRACES=file); a run requested through the api is one connected trace over all five.
describe('traces over the distributed services (e2e)', () => {
  let dir: string;
  let traceFile: string;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-e2e-traces-'));
    traceFile = join(dir, 'spans.jsonl');
    await generateSampleData({
      path: join(dir, 'warehouse.duckdb'),
      users: 40,
      days: 3,
      endDate: DATE,
    });
    cluster = await startCluster({
      warehousePath: join(dir, 'warehouse.duckdb'),
      env: { ALMANAC_TRACES: 'file', ALMANAC_TRACE_FILE: traceFile },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('one run is one trace: every span shares its trace id, every parent is there, all five services take part, and every event in the log names the trace', async () => {
    const { apiUrl } = cluster!;
    const runId = await requestRun(apiUrl, { date: DATE });
    const run = await waitForRun(apiUrl, runId, 150_000);
    expect(run.status).toBe('completed');

    const timeline = (await (await fetch(`${apiUrl}/runs/${runId}/events`)).json()) as {
      events: Array<{ type: string; eventId: string; traceId: string | null }>;
    };
    expect(timeline.events.at(-1)!.type).toBe('RunCompleted');
    const traceId = timeline.events[0].traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(timeline.events.filter((e) => e.traceId !== traceId)).toEqual([]);

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
  }, 300_000);
});
