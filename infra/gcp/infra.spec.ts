import { readFileSync } from 'node:fs';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import type { Job } from 'kubernetes-models/batch/v1/Job';
import { parseTopology, type PubSubTopology } from '@almanac/messaging';
import { TERRAFORM_FILE, loadTopology, renderJson } from './generate.main';
import { kubernetes, type Manifest } from './kubernetes';
import { SERVICES } from './services';
import { terraform } from './terraform';

const options = {
  project: 'acme-almanac',
  registry: 'europe-west1-docker.pkg.dev/acme-almanac/almanac',
  tag: '1',
  prometheus: 'http://frontend.almanac.svc:9090',
};

type Resources = Record<string, Record<string, Record<string, unknown>>>;
const resourcesOf = (topology: PubSubTopology) =>
  (terraform(topology) as { resource: Resources }).resource;

const scaledObjectOf = (manifests: Manifest[], service: string) => {
  const found = manifests.find(
    (m): m is ScaledObject =>
      m instanceof ScaledObject && m.metadata?.name === `almanac-${service}`,
  );
  if (!found) throw new Error(`no ScaledObject for ${service}`);
  return found;
};

const pubsubTriggers = (so: ScaledObject) =>
  so.spec.triggers
    .filter((t) => t.type === 'gcp-pubsub')
    .map((t) => `${t.metadata.subscriptionName}:${t.metadata.mode}`);

const withSubscription = (name: string, topic: string): PubSubTopology => {
  const topology = loadTopology();
  return parseTopology({
    ...topology,
    subscriptions: [
      ...topology.subscriptions,
      { name, topic, deadLetterTopic: `${name}.dead-letter`, maxDeliveryAttempts: 5 },
    ],
  });
};

describe('infrastructure generated from topology.json and the service list', () => {
  const topology = loadTopology();

  it('given the sources, then the checked-in almanac.tf.json is what the generator writes', () => {
    expect(readFileSync(TERRAFORM_FILE, 'utf8')).toBe(renderJson(terraform(topology)));
  });

  it('given every subscription of topology.json, then Terraform creates it with its dead-letter topic, a subscription keeping the letters, and IAM for its owner and the Pub/Sub agent', () => {
    const r = resourcesOf(topology);
    for (const sub of topology.subscriptions) {
      const id = sub.name.replace(/\./g, '_');
      const dlt = sub.deadLetterTopic.replace(/\./g, '_');
      const owner = sub.name.split('.')[0];
      expect(r.google_pubsub_subscription[id]).toEqual({
        name: sub.name,
        topic: `\${google_pubsub_topic.${sub.topic.replace(/\./g, '_')}.id}`,
        ack_deadline_seconds: sub.ackDeadlineSeconds,
        dead_letter_policy: {
          dead_letter_topic: `\${google_pubsub_topic.${dlt}.id}`,
          max_delivery_attempts: sub.maxDeliveryAttempts,
        },
      });
      expect(r.google_pubsub_topic[dlt]).toEqual({ name: sub.deadLetterTopic });
      expect(r.google_pubsub_subscription[dlt]).toMatchObject({ name: sub.deadLetterTopic });
      const readers = Object.values(r.google_pubsub_subscription_iam_member)
        .filter((m) => m.subscription === `\${google_pubsub_subscription.${id}.name}`)
        .map((m) => m.member);
      expect(readers.sort()).toEqual(
        [
          `serviceAccount:\${google_service_account.${owner}.email}`,
          'serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com',
        ].sort(),
      );
    }
    for (const name of topology.topics) {
      expect(r.google_pubsub_topic[name.replace(/\./g, '_')]).toEqual({ name });
    }
  });

  it('given the services, then each has its own service account with the least roles: subscriber on its subscriptions, publisher on the topics it publishes and its dead-letter topics, databaseUser on Spanner', () => {
    const r = resourcesOf(topology);
    for (const service of SERVICES) {
      const member = `serviceAccount:\${google_service_account.${service.name}.email}`;
      const topics = Object.values(r.google_pubsub_topic_iam_member)
        .filter((m) => m.member === member)
        .map((m) => String(m.topic));
      const expected = [
        ...service.publishes,
        ...topology.subscriptions
          .filter((s) => s.name.startsWith(`${service.name}.`))
          .map((s) => s.deadLetterTopic),
      ].map((t) => `\${google_pubsub_topic.${t.replace(/\./g, '_')}.name}`);
      expect(topics.sort()).toEqual(expected.sort());
      const subs = Object.values(r.google_pubsub_subscription_iam_member)
        .filter((m) => m.member === member)
        .map((m) => String(m.subscription));
      expect(subs.sort()).toEqual(
        topology.subscriptions
          .filter((s) => s.name.startsWith(`${service.name}.`))
          .map((s) => `\${google_pubsub_subscription.${s.name.replace(/\./g, '_')}.name}`)
          .sort(),
      );
      expect(r.google_spanner_database_iam_member[service.name]).toMatchObject({
        role: 'roles/spanner.databaseUser',
        member,
      });
    }
    // schema changes belong to the migrate Job alone; the only project-wide role is KEDA's reader
    const admins = Object.values(r.google_spanner_database_iam_member).filter(
      (m) => m.role === 'roles/spanner.databaseAdmin',
    );
    expect(admins.map((m) => m.member)).toEqual([
      'serviceAccount:${google_service_account.migrate.email}',
    ]);
    expect(Object.values(r.google_project_iam_member).map((m) => m.role)).toEqual([
      'roles/monitoring.viewer',
    ]);
  });

  it('given the claim check and staged reads, then one bucket named by var.storage_bucket deletes <prefix>claims/ objects after var.claim_retention_days and <prefix>stage/ ones after 2 days; publishers may create objects, subscribers read them, the executor also deletes', () => {
    const r = resourcesOf(topology);
    expect(r.google_storage_bucket).toEqual({
      almanac: {
        name: '${var.storage_bucket}',
        location: '${var.region}',
        uniform_bucket_level_access: true,
        lifecycle_rule: [
          {
            condition: {
              age: '${var.claim_retention_days}',
              matches_prefix: ['${var.storage_prefix}claims/'],
            },
            action: { type: 'Delete' },
          },
          {
            condition: { age: 2, matches_prefix: ['${var.storage_prefix}stage/'] },
            action: { type: 'Delete' },
          },
        ],
      },
    });
    const variables = (terraform(topology) as { variable: Record<string, { default?: unknown }> })
      .variable;
    expect(variables.storage_prefix.default).toBe('almanac/');
    expect(variables.claim_retention_days.default).toBe(7);
    const grants = Object.values(r.google_storage_bucket_iam_member).map(
      (m) => `${String(m.member)} ${String(m.role)}`,
    );
    const expected = SERVICES.flatMap((service) => {
      const member = `serviceAccount:\${google_service_account.${service.name}.email}`;
      const subscribes = topology.subscriptions.some((s) => s.name.startsWith(`${service.name}.`));
      return [
        ...(service.publishes.length > 0 ? [`${member} roles/storage.objectCreator`] : []),
        ...(subscribes ? [`${member} roles/storage.objectViewer`] : []),
        ...(service.name === 'executor' ? [`${member} roles/storage.objectUser`] : []),
      ];
    });
    expect(grants.sort()).toEqual(expected.sort());
    expect(grants.length).toBeGreaterThan(0);
  });

  it('given a subscription whose name starts with no service, then generating fails naming it and the services', () => {
    const stray = withSubscription('reporter.runs', 'almanac.runs');
    expect(() => terraform(stray)).toThrow(
      'subscription "reporter.runs" in infra/pubsub/topology.json names no service: its name must start with one of "api.", "scheduler.", "planner.", "executor.", "worker."',
    );
    expect(() => kubernetes(stray, options)).toThrow('subscription "reporter.runs"');
  });

  it('given the manifests, then every one validates against its Kubernetes or KEDA schema', () => {
    const manifests = kubernetes(topology, options);
    for (const m of manifests) expect(() => m.validate()).not.toThrow();
    expect(manifests.filter((m) => m instanceof Deployment)).toHaveLength(SERVICES.length);
    expect(manifests.filter((m) => m instanceof ScaledObject)).toHaveLength(SERVICES.length);
  });

  it('given a ScaledObject without a target, then the KEDA schema rejects it (the validation above is real)', () => {
    const broken = new ScaledObject({
      metadata: { name: 'x' },
      spec: { triggers: [] },
    } as unknown as ScaledObject);
    expect(() => broken.validate()).toThrow(/scaleTargetRef/);
  });

  it('given every subscription, then its owner scales on its backlog, or (the api) on requests', () => {
    const manifests = kubernetes(topology, options);
    for (const sub of topology.subscriptions) {
      const owner = sub.name.split('.')[0];
      const so = scaledObjectOf(manifests, owner);
      if (owner === 'api') {
        expect(so.spec.triggers).toEqual([
          expect.objectContaining({
            type: 'prometheus',
            metadata: expect.objectContaining({ threshold: '50' }),
          }),
        ]);
      } else {
        expect(pubsubTriggers(so)).toContain(`${sub.name}:SubscriptionSize`);
      }
    }
  });

  it('given worker and executor, then each scales on backlog and on oldest-unacked age; scheduler and planner stay small', () => {
    const manifests = kubernetes(topology, options);
    expect(pubsubTriggers(scaledObjectOf(manifests, 'worker'))).toEqual([
      'worker.batches:SubscriptionSize',
      'worker.batches:OldestUnackedMessageAge',
    ]);
    expect(pubsubTriggers(scaledObjectOf(manifests, 'executor'))).toEqual([
      'executor.passes:SubscriptionSize',
      'executor.passes:OldestUnackedMessageAge',
      'executor.batch-results:SubscriptionSize',
      'executor.batch-results:OldestUnackedMessageAge',
      'executor.computations:SubscriptionSize',
      'executor.computations:OldestUnackedMessageAge',
    ]);
    for (const small of ['scheduler', 'planner']) {
      expect(scaledObjectOf(manifests, small).spec).toMatchObject({
        minReplicaCount: 1,
        maxReplicaCount: 2,
      });
    }
  });

  it('given a new subscription in topology.json, then it gets its Pub/Sub resources, IAM and a scaling trigger without another edit', () => {
    const grown = withSubscription('worker.extra', 'almanac.batches');
    const r = resourcesOf(grown);
    expect(r.google_pubsub_subscription.worker_extra).toBeDefined();
    expect(r.google_pubsub_subscription_iam_member.worker_extra_worker).toMatchObject({
      role: 'roles/pubsub.subscriber',
      member: 'serviceAccount:${google_service_account.worker.email}',
    });
    expect(pubsubTriggers(scaledObjectOf(kubernetes(grown, options), 'worker'))).toContain(
      'worker.extra:SubscriptionSize',
    );
  });

  it('given a project, then each pod runs as its service account bound to its own Google service account', () => {
    const manifests = kubernetes(topology, options);
    const worker = manifests.find(
      (m): m is Deployment => m instanceof Deployment && m.metadata?.name === 'almanac-worker',
    );
    expect(worker?.spec?.template.spec?.serviceAccountName).toBe('almanac-worker');
    const container = worker?.spec?.template.spec?.containers[0];
    // its own image, whose CMD starts the worker (infra/docker/worker.Dockerfile)
    expect(container?.image).toBe(
      'europe-west1-docker.pkg.dev/acme-almanac/almanac/almanac-worker:1',
    );
    expect(container?.command).toBeUndefined();
    expect(container?.readinessProbe?.httpGet?.path).toBe('/health/ready');
    expect(container?.livenessProbe?.httpGet?.path).toBe('/health/live');
    const ksa = manifests.find(
      (m) => m.kind === 'ServiceAccount' && m.metadata?.name === 'almanac-worker',
    );
    expect(ksa?.metadata?.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'almanac-worker@acme-almanac.iam.gserviceaccount.com',
    });
    const r = resourcesOf(topology);
    expect(r.google_service_account_iam_member.worker).toMatchObject({
      role: 'roles/iam.workloadIdentityUser',
      member: 'serviceAccount:${var.project}.svc.id.goog[almanac/almanac-worker]',
    });
  });

  it('given the manifests, then a Job applies infra/spanner as the migrate account and only the api has a Service', () => {
    const manifests = kubernetes(topology, options);
    const job = manifests.find((m) => m.kind === 'Job') as Job | undefined;
    expect(job?.spec?.template.spec?.serviceAccountName).toBe('almanac-migrate');
    expect(job?.spec?.template.spec?.containers[0].image).toBe(
      'europe-west1-docker.pkg.dev/acme-almanac/almanac/almanac-migrate:1',
    );
    expect(manifests.filter((m) => m.kind === 'Service').map((m) => m.metadata?.name)).toEqual([
      'almanac-api',
    ]);
  });
});
