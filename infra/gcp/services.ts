// The one list of Almanac's deployed services, read by the Terraform and Kubernetes generators
// (infra/gcp/terraform.ts, infra/gcp/kubernetes.ts). Subscriptions are not listed here: a service
// owns the subscriptions of infra/pubsub/topology.json whose name starts with "<service>.".
import { topics } from '@almanac/contracts';

export type ServiceName = 'scheduler' | 'planner' | 'executor' | 'worker' | 'api';

/** on the backlog of each subscription it owns: replicas = ceil(undelivered / perReplica) */
export interface BacklogScaling {
  kind: 'backlog';
  messagesPerReplica: number;
  oldestUnackedSeconds?: number;
}

/** How a service scales (KEDA ScaledObject). */
export type Scaling =
  | BacklogScaling
  /** on requests per second to its HTTP port, read from its own /metrics (Prometheus) */
  | { kind: 'requests'; requestsPerSecondPerReplica: number };

export interface ServiceSpec {
  name: ServiceName;
  /** topics its events reach through the outbox relay (libs/contracts ids.ts topics) */
  publishes: readonly string[];
  /** reads and writes the event log, outbox and result store in Spanner */
  spanner: boolean;
  minReplicas: number;
  maxReplicas: number;
  scaling: Scaling;
  /** what the container asks for */
  cpu: string;
  memory: string;
}

export const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'api',
    publishes: [topics.runs],
    spanner: true,
    minReplicas: 2,
    maxReplicas: 10,
    scaling: { kind: 'requests', requestsPerSecondPerReplica: 50 },
    cpu: '500m',
    memory: '512Mi',
  },
  {
    // one tick per due instant whatever the replica count (ADR 0016): two for availability
    name: 'scheduler',
    publishes: [topics.runs],
    spanner: true,
    minReplicas: 1,
    maxReplicas: 2,
    scaling: { kind: 'backlog', messagesPerReplica: 100 },
    cpu: '250m',
    memory: '256Mi',
  },
  {
    name: 'planner',
    publishes: [topics.runs, topics.passes],
    spanner: true,
    minReplicas: 1,
    maxReplicas: 2,
    scaling: { kind: 'backlog', messagesPerReplica: 100 },
    cpu: '250m',
    memory: '256Mi',
  },
  {
    name: 'executor',
    publishes: [topics.runs, topics.passes, topics.batches, topics.computations],
    spanner: true,
    minReplicas: 1,
    maxReplicas: 10,
    scaling: { kind: 'backlog', messagesPerReplica: 50, oldestUnackedSeconds: 60 },
    cpu: '500m',
    memory: '512Mi',
  },
  {
    name: 'worker',
    publishes: [topics.batchResults],
    spanner: true,
    minReplicas: 1,
    maxReplicas: 50,
    scaling: { kind: 'backlog', messagesPerReplica: 5, oldestUnackedSeconds: 120 },
    cpu: '1',
    memory: '1Gi',
  },
];

/** The service that owns a subscription: the part of its name before the first dot. */
export function ownerOf(subscription: string): ServiceSpec {
  const prefix = subscription.split('.')[0];
  const owner = SERVICES.find((s) => s.name === prefix);
  if (!owner) {
    throw new Error(
      `subscription "${subscription}" in infra/pubsub/topology.json names no service: its name must start with one of ${SERVICES.map((s) => `"${s.name}."`).join(', ')}`,
    );
  }
  return owner;
}

/** What a backlog autoscaler reads of one subscription (Cloud Monitoring, via KEDA's gcp-pubsub scaler). */
interface Backlog {
  /** messages published and not yet acked (`num_undelivered_messages`) */
  messages: number;
  /** age of the oldest unacked message (`oldest_unacked_message_age`), when the rule uses it */
  oldestUnackedSeconds?: number;
}

/** The HPA's default tolerance: a ratio within 10 % of the target keeps the current count. */
const HPA_TOLERANCE = 0.1;

/**
 * The replica count KEDA (through the HPA it drives) asks for, given one subscription's backlog
 * and the current count: each trigger of the ScaledObject that kubernetes.ts generates is an
 * AverageValue metric, so a trigger asks for ceil(metric / target) replicas, or keeps the current
 * count when metric / (target x current) is within the tolerance; the largest ask wins, clamped to
 * [minReplicas, maxReplicas]. The HPA's time-windowed behaviour (scale-up at most doubling or +4
 * pods per 15 s, a 5-minute stabilization before scaling down) is not a function of one sample and
 * is left to the caller. A service with several subscriptions: the largest count over them.
 */
export function desiredReplicas(
  rule: Pick<ServiceSpec, 'minReplicas' | 'maxReplicas'> & { scaling: BacklogScaling },
  backlog: Backlog,
  current: number,
): number {
  const ask = (metric: number, target: number) => {
    if (current > 0 && Math.abs(metric / (target * current) - 1) <= HPA_TOLERANCE) return current;
    return Math.ceil(metric / target);
  };
  const { messagesPerReplica, oldestUnackedSeconds } = rule.scaling;
  const asks = [ask(backlog.messages, messagesPerReplica)];
  if (oldestUnackedSeconds !== undefined && backlog.oldestUnackedSeconds !== undefined)
    asks.push(ask(backlog.oldestUnackedSeconds, oldestUnackedSeconds));
  return Math.min(rule.maxReplicas, Math.max(rule.minReplicas, ...asks));
}

/** The rule of a service that scales on its backlog (the worker, the executor...). */
export function backlogRule(name: ServiceName) {
  const spec = SERVICES.find((s) => s.name === name)!;
  const { scaling } = spec;
  if (scaling.kind !== 'backlog')
    throw new Error(`${name} scales on ${scaling.kind}, not on a subscription backlog`);
  return { ...spec, scaling };
}
