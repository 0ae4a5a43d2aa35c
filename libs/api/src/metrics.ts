import { Counter, Gauge, Histogram } from 'prom-client';
import type { AlmanacMetrics } from '@almanac/platform';
import type { Views } from './queries';

/** the api's metric names: a second api on the same registry replaces the first one's */
const NAMES = [
  'almanac_runs',
  'almanac_computation_decisions_total',
  'almanac_failed_entities_total',
  'almanac_active_run_age_seconds',
  'almanac_run_duration_seconds_sum',
  'almanac_run_duration_seconds_count',
  'almanac_http_requests_total',
  'almanac_http_request_duration_seconds',
];

const ACTIVE = ['requested', 'planned', 'running'];

/**
 * The api's metrics on the process's registry: HTTP requests counted as they are answered, and
 * values computed from the projections at scrape time (so they agree with every other answer).
 */
export class ApiMetrics {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    private readonly metrics: AlmanacMetrics,
    source: { views: () => Views; now: () => Date },
  ) {
    const registers = [metrics.registry];
    for (const name of NAMES) metrics.registry.removeSingleMetric(name);
    this.requests = new Counter({
      name: 'almanac_http_requests_total',
      help: 'HTTP requests answered by the api.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'almanac_http_request_duration_seconds',
      help: 'Time spent answering HTTP requests.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    // the views hold the recent runs and count the ones they dropped (ADR 0014)
    const runs = () => Object.values(source.views().runs.runs);
    new Gauge({
      name: 'almanac_runs',
      help: 'Runs in the log by status.',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        const byStatus = new Map<string, number>(Object.entries(source.views().runs.dropped));
        for (const r of runs()) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
        for (const [status, n] of byStatus) this.set({ status }, n);
      },
    });
    new Counter({
      name: 'almanac_computation_decisions_total',
      help: 'Computation decisions recorded in the log (ComputationCompleted) by computation and status.',
      labelNames: ['computation', 'status'],
      registers,
      collect() {
        this.reset();
        for (const entry of Object.values(source.views().decisions))
          for (const [status, n] of Object.entries(entry.counts))
            this.inc({ computation: entry.computation, status }, n);
      },
    });
    new Counter({
      name: 'almanac_failed_entities_total',
      help: 'Per-entity failures reported by workers.',
      registers,
      collect() {
        this.reset();
        for (const entry of Object.values(source.views().decisions)) this.inc(entry.failedEntities);
      },
    });
    new Gauge({
      name: 'almanac_active_run_age_seconds',
      help: 'Age of the oldest run not yet completed.',
      registers,
      collect() {
        const now = source.now().getTime();
        const active = runs().filter((r) => ACTIVE.includes(r.status));
        this.set(active.reduce((m, r) => Math.max(m, (now - Date.parse(r.requestedAt)) / 1000), 0));
      },
    });
    const completed = () => {
      const dropped = source.views().runs.droppedDurations;
      const done = runs().filter((r) => r.durationMs !== null);
      return {
        seconds: (dropped.totalMs + done.reduce((s, r) => s + (r.durationMs ?? 0), 0)) / 1000,
        count: dropped.runs + done.length,
      };
    };
    new Counter({
      name: 'almanac_run_duration_seconds_sum',
      help: 'Total duration of completed runs.',
      registers,
      collect() {
        this.reset();
        this.inc(completed().seconds);
      },
    });
    new Counter({
      name: 'almanac_run_duration_seconds_count',
      help: 'Completed runs.',
      registers,
      collect() {
        this.reset();
        this.inc(completed().count);
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.requestDuration.observe(labels, seconds);
  }

  render(): Promise<string> {
    return this.metrics.render();
  }
}
