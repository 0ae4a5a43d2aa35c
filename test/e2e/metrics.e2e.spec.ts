import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../cluster/cluster';
import { E2E_DATE, requestRun, waitForRun } from '../cluster/e2e-run';
import { generateSampleData } from '../../computations/sample-data/generate';
import { apiAutoscalerQuery, unansweredSelectors } from '../api/autoscaler-query';

/** every sample of `name` (any labels): labels text -> value */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}
const total = (text: string, name: string) =>
  [...samples(text, name).values()].reduce((s, v) => s + v, 0);

// Each of the five deployed services serves its metrics on /metrics after a run (README "Metrics").
describe('metrics of the distributed services (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  const scraped: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-metrics-'));
    const warehouse = join(dir, 'warehouse.duckdb');
    await generateSampleData({ path: warehouse, users: 60, days: 3, endDate: E2E_DATE });
    cluster = await startCluster({ warehousePath: warehouse });
    const runId = await requestRun(cluster.apiUrl, { date: E2E_DATE });
    expect((await waitForRun(cluster.apiUrl, runId, 150_000)).status).toBe('completed');
    for (const p of cluster.processes) {
      const res = await fetch(`${p.url}/metrics`);
      expect(`${p.service} ${res.status}`).toBe(`${p.service} 200`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
      scraped[p.service] = await res.text();
    }
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("every service: prom-client's process metrics, and the message metrics of each subscription it consumes", () => {
    expect(Object.keys(scraped).sort()).toEqual([
      'api',
      'executor',
      'planner',
      'scheduler',
      'worker',
    ]);
    for (const [service, text] of Object.entries(scraped)) {
      expect(`${service} ${total(text, 'process_cpu_seconds_total') > 0}`).toBe(`${service} true`);
      expect(text).toContain('# TYPE almanac_event_append_duration_seconds histogram');
    }
    // consumers: a lag observed per message received, and the in-flight gauge back at 0
    const consumed = {
      planner: 'planner.runs',
      executor: 'executor.batch-results',
      worker: 'worker.batches',
      scheduler: 'scheduler.backfill-computations',
    };
    for (const [service, subscription] of Object.entries(consumed)) {
      const text = scraped[service];
      const labels = `{subscription="${subscription}"}`;
      expect([
        service,
        samples(text, 'almanac_message_age_seconds_count').get(labels)! > 0,
      ]).toEqual([service, true]);
      expect([service, samples(text, 'almanac_messages_in_flight').get(labels)]).toEqual([
        service,
        0,
      ]);
    }
  });

  it('events appended by the services that append: RunRequested by the api, plans by the planner, batches by executor and worker', () => {
    const appended = (service: string, type: string) =>
      samples(scraped[service], 'almanac_events_appended_total').get(`{type="${type}"}`) ?? 0;
    expect(appended('api', 'RunRequested')).toBe(1);
    expect(appended('planner', 'RunPlanned')).toBe(1);
    expect(appended('executor', 'BatchRequested')).toBeGreaterThan(0);
    expect(appended('executor', 'RunCompleted')).toBe(1);
    expect(appended('worker', 'BatchDone')).toBe(appended('executor', 'BatchRequested'));
    for (const service of ['api', 'planner', 'executor', 'worker'])
      expect([
        service,
        total(scraped[service], 'almanac_event_append_duration_seconds_count') > 0,
      ]).toEqual([service, true]);
  });

  it('executor: batches dispatched and done by computation, none failed, every breaker closed, the lag of its views', () => {
    const text = scraped.executor;
    const dispatched = samples(text, 'almanac_batches_dispatched_total');
    const done = samples(text, 'almanac_batches_done_total');
    expect(dispatched.size).toBeGreaterThan(0);
    // every batch answered (a redelivered answer counts again), none with a batch error
    expect([...done.keys()].sort()).toEqual([...dispatched.keys()].sort());
    for (const [labels, n] of dispatched)
      expect([labels, done.get(labels)! >= n]).toEqual([labels, true]);
    expect(total(text, 'almanac_batches_failed_total')).toBe(0);
    const breakers = samples(text, 'almanac_breaker_state');
    expect([...breakers.keys()].sort()).toEqual([...dispatched.keys()].sort());
    expect([...new Set(breakers.values())]).toEqual([0]);
    expect(samples(text, 'almanac_projection_lag_seconds').has('{group="executor"}')).toBe(true);
  });

  it('worker: entities processed by computation, none failed, batch durations observed', () => {
    const text = scraped.worker;
    expect(total(text, 'almanac_entities_processed_total')).toBeGreaterThan(0);
    expect(total(text, 'almanac_entities_failed_total')).toBe(0);
    // one duration per batch answered
    expect(total(text, 'almanac_batch_duration_seconds_count')).toBe(
      samples(text, 'almanac_events_appended_total').get('{type="BatchDone"}'),
    );
  });

  it('planner: the outbox it relays, read at scrape time', () => {
    expect(samples(scraped.planner, 'almanac_outbox_pending').get('')).toBeGreaterThanOrEqual(0);
    expect(scraped.worker).not.toContain('almanac_outbox_pending');
  });

  it("api: its request metric (the autoscaler's), its views and lag, from the same registry", () => {
    const text = scraped.api;
    expect(
      samples(text, 'almanac_http_requests_total').get(
        '{method="POST",route="/runs",status="202"}',
      ),
    ).toBe(1);
    expect(samples(text, 'almanac_runs').get('{status="completed"}')).toBe(1);
    expect(samples(text, 'almanac_projection_lag_seconds').get('{group="api"}')).toBe(0);
    expect(unansweredSelectors(apiAutoscalerQuery(), text)).toEqual([]);
  });
});
