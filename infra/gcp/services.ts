// The one list of Almanac's deployed services, read by the Terraform and Kubernetes generators
// (infra/gcp/terraform.ts, infra/gcp/kubernetes.ts). Subscriptions are not listed here: a service
// owns the subscriptions of infra/pubsub/topology.json whose name starts with "<service>.".
import { topics } from '@almanac/contracts';

export type ServiceName = 'scheduler' | 'planner' | 'executor' | 'worker' | 'api';

/** How a service scales (KEDA ScaledObject). */
export type Scaling =
  /** on the backlog of each subscription it owns: replicas = ceil(undelivered / perReplica) */
  | { kind: 'backlog'; messagesPerReplica: number; oldestUnackedSeconds?: number }
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
