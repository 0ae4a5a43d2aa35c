import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { loadTopology } from '../../infra/gcp/generate.main';
import { kubernetes } from '../../infra/gcp/kubernetes';

/** labels Prometheus adds when it scrapes a pod: a query may filter on them, /metrics has none */
const SCRAPE_LABELS = new Set(['namespace', 'pod', 'job', 'instance', 'container']);

/** The Prometheus query the api's KEDA ScaledObject scales on (infra/gcp/kubernetes.ts). */
export function apiAutoscalerQuery(): string {
  const manifests = kubernetes(loadTopology(), {
    project: 'p',
    registry: 'r',
    tag: 't',
    prometheus: 'http://prometheus:9090',
  });
  const api = manifests.find(
    (m): m is ScaledObject => m instanceof ScaledObject && m.metadata?.name === 'almanac-api',
  );
  const trigger = api?.spec.triggers.find((t) => t.type === 'prometheus');
  if (!trigger) throw new Error('the api has no prometheus trigger');
  return String(trigger.metadata.query);
}

/**
 * What in the query must be on the api's /metrics: each selector's metric name and each label it
 * matches on that the scrape does not add. Returns the problems (empty: the query can be answered).
 */
export function unansweredSelectors(query: string, exposition: string): string[] {
  const problems: string[] = [];
  const selectors = [...query.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)];
  if (selectors.length === 0) problems.push(`no metric selector in ${query}`);
  for (const [, name, matchers] of selectors) {
    const samples = exposition.split('\n').filter((l) => l.startsWith(`${name}{`));
    if (samples.length === 0) {
      problems.push(`${name}: not on /metrics`);
      continue;
    }
    for (const [, label] of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!=|!~|=)/g)) {
      if (SCRAPE_LABELS.has(label)) continue;
      if (!samples.some((l) => l.includes(`${label}="`)))
        problems.push(`${name}: no sample has the label ${label}`);
    }
  }
  return problems;
}
