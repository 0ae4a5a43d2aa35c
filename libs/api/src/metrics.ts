import type { Views } from './queries';

type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (l: Labels) => {
  const entries = Object.entries(l);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}` : '';
};

/**
 * Prometheus text exposition (format 0.0.4): HTTP counters kept by the api process, and gauges
 * computed from the projections at scrape time (so they agree with every other answer).
 */
export class MetricsRegistry {
  private readonly requests = new Map<string, { labels: Labels; count: number; seconds: number }>();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    const key = labelText(labels);
    const entry = this.requests.get(key) ?? { labels, count: 0, seconds: 0 };
    entry.count++;
    entry.seconds += seconds;
    this.requests.set(key, entry);
  }

  render(views: Views, now: Date): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[Labels, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [l, v] of samples) lines.push(`${name}${labelText(l)} ${v}`);
    };
    // the views hold the recent runs and count the ones they dropped (ADR 0014)
    const runs = Object.values(views.runs.runs);
    const byStatus = new Map<string, number>(Object.entries(views.runs.dropped));
    for (const r of runs) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    metric(
      'almanac_runs',
      'gauge',
      'Runs in the log by status.',
      [...byStatus].map(([status, n]) => [{ status }, n]),
    );
    const decisions = new Map<string, { labels: Labels; n: number }>();
    let failedEntities = 0;
    for (const entry of Object.values(views.decisions)) {
      for (const [status, n] of Object.entries(entry.counts)) {
        const labels = { computation: entry.computation, status };
        const key = labelText(labels);
        const cur = decisions.get(key) ?? { labels, n: 0 };
        cur.n += n;
        decisions.set(key, cur);
      }
      failedEntities += entry.failedEntities;
    }
    metric(
      'almanac_computation_decisions_total',
      'counter',
      'Computation decisions recorded in the log (ComputationCompleted) by computation and status.',
      [...decisions.values()].map((d) => [d.labels, d.n]),
    );
    metric('almanac_failed_entities_total', 'counter', 'Per-entity failures reported by workers.', [
      [{}, failedEntities],
    ]);
    const active = runs.filter((r) => ['requested', 'planned', 'running'].includes(r.status));
    const oldest = active.reduce(
      (m, r) => Math.max(m, (now.getTime() - Date.parse(r.requestedAt)) / 1000),
      0,
    );
    metric('almanac_active_run_age_seconds', 'gauge', 'Age of the oldest run not yet completed.', [
      [{}, oldest],
    ]);
    const done = runs.filter((r) => r.durationMs !== null);
    const dropped = views.runs.droppedDurations;
    metric('almanac_run_duration_seconds_sum', 'counter', 'Total duration of completed runs.', [
      [{}, (dropped.totalMs + done.reduce((s, r) => s + (r.durationMs ?? 0), 0)) / 1000],
    ]);
    metric('almanac_run_duration_seconds_count', 'counter', 'Completed runs.', [
      [{}, dropped.runs + done.length],
    ]);
    metric(
      'almanac_http_requests_total',
      'counter',
      'HTTP requests answered by the api.',
      [...this.requests.values()].map((r) => [r.labels, r.count]),
    );
    metric(
      'almanac_http_request_duration_seconds_sum',
      'counter',
      'Time spent answering HTTP requests.',
      [...this.requests.values()].map((r) => [r.labels, r.seconds]),
    );
    return `${lines.join('\n')}\n`;
  }
}
