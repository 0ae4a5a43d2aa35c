// Generates the Kubernetes manifests (GKE with KEDA) of the five services from SERVICES and
// infra/pubsub/topology.json: per service a ServiceAccount (Workload Identity), a Deployment and
// a KEDA ScaledObject; the api's Service; the Job that applies infra/spanner.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import type { PubSubTopology } from '@almanac/messaging';
import { SERVICES, ownerOf, type ServiceSpec } from './services';
import { MIGRATE, NAMESPACE, serviceAccountId } from './terraform';

interface KubernetesOptions {
  /** the GCP project id (service account emails, Workload Identity) */
  project: string;
  /** where the images are pushed: each service runs `<registry>/almanac-<service>:<tag>` */
  registry: string;
  /** the tag of every image (infra/docker/<service>.Dockerfile) */
  tag: string;
  /** a Prometheus-compatible query endpoint that scrapes the api's /metrics */
  prometheus: string;
}

/** The KEDA TriggerAuthentication every Pub/Sub trigger uses: the operator's Workload Identity. */
const AUTH = 'gcp-workload-identity';
const PORT = 8080;

/** The image of a service (or of the migrate Job): one per Dockerfile of infra/docker. */
const imageOf = (name: string, options: Pick<KubernetesOptions, 'registry' | 'tag'>) =>
  `${options.registry.replace(/\/+$/, '')}/almanac-${name}:${options.tag}`;

export type Manifest =
  Namespace | ServiceAccount | Deployment | Service | Job | ScaledObject | TriggerAuthentication;

function env(options: KubernetesOptions): IEnvVar[] {
  return [
    { name: 'GOOGLE_CLOUD_PROJECT', value: options.project },
    { name: 'SPANNER_INSTANCE', value: 'almanac' },
    { name: 'SPANNER_DATABASE', value: 'almanac' },
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'PORT', value: String(PORT) },
    // each replica's owner name in the log (README, "Running distributed")
    { name: 'ALMANAC_OWNER', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
}

const gsa = (name: string, project: string) => `${name}@${project}.iam.gserviceaccount.com`;

function triggers(service: ServiceSpec, topology: PubSubTopology, options: KubernetesOptions) {
  const { scaling } = service;
  if (scaling.kind === 'requests') {
    return [
      {
        type: 'prometheus',
        metadata: {
          serverAddress: options.prometheus,
          query: `sum(rate(almanac_http_requests_total{namespace="${NAMESPACE}"}[2m]))`,
          threshold: String(scaling.requestsPerSecondPerReplica),
        },
      },
    ];
  }
  const owned = topology.subscriptions.filter((s) => ownerOf(s.name).name === service.name);
  return owned.flatMap((sub) => [
    {
      type: 'gcp-pubsub',
      authenticationRef: { name: AUTH },
      metadata: {
        subscriptionName: sub.name,
        mode: 'SubscriptionSize',
        value: String(scaling.messagesPerReplica),
      },
    },
    ...(scaling.oldestUnackedSeconds === undefined
      ? []
      : [
          {
            type: 'gcp-pubsub',
            authenticationRef: { name: AUTH },
            metadata: {
              subscriptionName: sub.name,
              mode: 'OldestUnackedMessageAge',
              value: String(scaling.oldestUnackedSeconds),
            },
          },
        ]),
  ]);
}

export function kubernetes(topology: PubSubTopology, options: KubernetesOptions): Manifest[] {
  const metadata = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    namespace: NAMESPACE,
    labels: { 'app.kubernetes.io/part-of': 'almanac', 'app.kubernetes.io/name': name },
    ...extra,
  });
  const account = (name: string) =>
    new ServiceAccount({
      metadata: metadata(serviceAccountId(name as ServiceSpec['name']), {
        annotations: {
          'iam.gke.io/gcp-service-account': gsa(
            serviceAccountId(name as ServiceSpec['name']),
            options.project,
          ),
        },
      }),
    });

  const manifests: Manifest[] = [
    new Namespace({ metadata: { name: NAMESPACE } }),
    new TriggerAuthentication({
      metadata: metadata(AUTH),
      spec: { podIdentity: { provider: 'gcp' } },
    }),
    account(MIGRATE),
    new Job({
      metadata: metadata('almanac-migrate'),
      spec: {
        backoffLimit: 3,
        template: {
          spec: {
            serviceAccountName: serviceAccountId(MIGRATE),
            restartPolicy: 'OnFailure',
            containers: [
              {
                name: 'migrate',
                image: imageOf(MIGRATE, options),
                env: [
                  { name: 'GOOGLE_CLOUD_PROJECT', value: options.project },
                  { name: 'SPANNER_INSTANCE', value: 'almanac' },
                  { name: 'SPANNER_DATABASE', value: 'almanac' },
                ],
              },
            ],
          },
        },
      },
    }),
  ];

  for (const service of SERVICES) {
    const name = `almanac-${service.name}`;
    const labels = { 'app.kubernetes.io/name': name };
    manifests.push(
      account(service.name),
      new Deployment({
        metadata: metadata(name),
        spec: {
          // KEDA owns the replica count from here on
          replicas: service.minReplicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: serviceAccountId(service.name),
              containers: [
                {
                  name: service.name,
                  // the image's CMD starts the service: node main.js
                  image: imageOf(service.name, options),
                  env: env(options),
                  ports: [{ name: 'http', containerPort: PORT }],
                  // ADR 0021: ready = Spanner answers and the subscriptions stream, not draining
                  readinessProbe: { httpGet: { path: '/health/ready', port: PORT } },
                  livenessProbe: {
                    httpGet: { path: '/health/live', port: PORT },
                    periodSeconds: 20,
                  },
                  resources: {
                    requests: { cpu: service.cpu, memory: service.memory },
                    limits: { memory: service.memory },
                  },
                },
              ],
            },
          },
        },
      }),
      new ScaledObject({
        metadata: metadata(name),
        spec: {
          scaleTargetRef: { name },
          minReplicaCount: service.minReplicas,
          maxReplicaCount: service.maxReplicas,
          triggers: triggers(service, topology, options),
        },
      }),
    );
    if (service.scaling.kind === 'requests') {
      manifests.push(
        new Service({
          metadata: metadata(name),
          spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: PORT }] },
        }),
      );
    }
  }
  return manifests;
}
