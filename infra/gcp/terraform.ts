// Generates the Terraform JSON (infra/gcp/almanac.tf.json) of one GCP project's Almanac
// resources from the two single sources: infra/pubsub/topology.json and SERVICES.
import { type PubSubTopology } from '@almanac/messaging';
import { SERVICES, ownerOf, type ServiceName } from './services';

/** Where the KEDA operator runs (its Kubernetes service account reads Cloud Monitoring). */
const KEDA_KSA = { namespace: 'keda', name: 'keda-operator' };
export const NAMESPACE = 'almanac';
/** The one-shot Job that applies infra/spanner with the existing migrator. */
export const MIGRATE = 'migrate';

type Block = Record<string, unknown>;

/** A Terraform identifier for a Pub/Sub or service name ("worker.batches" -> "worker_batches"). */
const tfId = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_');

export const serviceAccountId = (service: ServiceName | typeof MIGRATE): string =>
  `almanac-${service}`;

export function terraform(topology: PubSubTopology): Block {
  const topic: Record<string, Block> = {};
  const subscription: Record<string, Block> = {};
  const topicIam: Record<string, Block> = {};
  const subscriptionIam: Record<string, Block> = {};
  const account: Record<string, Block> = {};
  const accountIam: Record<string, Block> = {};
  const databaseIam: Record<string, Block> = {};
  const bucketIam: Record<string, Block> = {};
  const pubsubAgent =
    'serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com';
  const member = (service: string) =>
    `serviceAccount:\${google_service_account.${tfId(service)}.email}`;

  for (const name of topology.topics) topic[tfId(name)] = { name };
  for (const sub of topology.subscriptions) {
    const owner = ownerOf(sub.name);
    const dlt = tfId(sub.deadLetterTopic);
    topic[dlt] = { name: sub.deadLetterTopic };
    // a dead-letter topic keeps its letters in a subscription of the same name (provisionPubSub)
    subscription[dlt] = {
      name: sub.deadLetterTopic,
      topic: `\${google_pubsub_topic.${dlt}.id}`,
      message_retention_duration: '604800s',
    };
    subscription[tfId(sub.name)] = {
      name: sub.name,
      topic: `\${google_pubsub_topic.${tfId(sub.topic)}.id}`,
      ack_deadline_seconds: sub.ackDeadlineSeconds ?? 10,
      dead_letter_policy: {
        dead_letter_topic: `\${google_pubsub_topic.${dlt}.id}`,
        max_delivery_attempts: sub.maxDeliveryAttempts,
      },
    };
    subscriptionIam[`${tfId(sub.name)}_${owner.name}`] = {
      subscription: `\${google_pubsub_subscription.${tfId(sub.name)}.name}`,
      role: 'roles/pubsub.subscriber',
      member: member(owner.name),
    };
    // the adapter publishes a letter that can never succeed to the dead-letter topic itself
    topicIam[`${dlt}_${owner.name}`] = {
      topic: `\${google_pubsub_topic.${dlt}.name}`,
      role: 'roles/pubsub.publisher',
      member: member(owner.name),
    };
    // Pub/Sub forwards after max_delivery_attempts with its own service agent
    topicIam[`${dlt}_pubsub_agent`] = {
      topic: `\${google_pubsub_topic.${dlt}.name}`,
      role: 'roles/pubsub.publisher',
      member: pubsubAgent,
    };
    subscriptionIam[`${tfId(sub.name)}_pubsub_agent`] = {
      subscription: `\${google_pubsub_subscription.${tfId(sub.name)}.name}`,
      role: 'roles/pubsub.subscriber',
      member: pubsubAgent,
    };
  }

  const workloadIdentity = (ksa: string, namespace: string) =>
    `serviceAccount:\${var.project}.svc.id.goog[${namespace}/${ksa}]`;
  for (const service of SERVICES) {
    const id = tfId(service.name);
    account[id] = {
      account_id: serviceAccountId(service.name),
      display_name: `Almanac ${service.name}`,
    };
    accountIam[id] = {
      service_account_id: `\${google_service_account.${id}.name}`,
      role: 'roles/iam.workloadIdentityUser',
      member: workloadIdentity(serviceAccountId(service.name), NAMESPACE),
    };
    // claim check (ADR 0026): a publisher writes a large message's data, a subscriber reads it
    if (service.publishes.length > 0) {
      bucketIam[`${id}_creator`] = {
        bucket: '${google_storage_bucket.almanac.name}',
        role: 'roles/storage.objectCreator',
        member: member(service.name),
      };
    }
    // staged reads (ADR 0026): the executor writes, reads back and deletes what it stages
    if (service.name === 'executor') {
      bucketIam[`${id}_stager`] = {
        bucket: '${google_storage_bucket.almanac.name}',
        role: 'roles/storage.objectUser',
        member: member(service.name),
      };
    }
    if (topology.subscriptions.some((sub) => ownerOf(sub.name).name === service.name)) {
      bucketIam[`${id}_viewer`] = {
        bucket: '${google_storage_bucket.almanac.name}',
        role: 'roles/storage.objectViewer',
        member: member(service.name),
      };
    }
    for (const name of service.publishes) {
      if (!topology.topics.includes(name)) {
        throw new Error(
          `service "${service.name}" publishes to "${name}", which is not in infra/pubsub/topology.json topics`,
        );
      }
      topicIam[`${tfId(name)}_${id}`] = {
        topic: `\${google_pubsub_topic.${tfId(name)}.name}`,
        role: 'roles/pubsub.publisher',
        member: member(service.name),
      };
    }
    if (service.spanner) {
      databaseIam[id] = {
        instance: '${google_spanner_instance.almanac.name}',
        database: '${google_spanner_database.almanac.name}',
        role: 'roles/spanner.databaseUser',
        member: member(service.name),
      };
    }
  }
  // only the migration Job may change the schema
  account[MIGRATE] = {
    account_id: serviceAccountId(MIGRATE),
    display_name: 'Almanac Spanner migrations',
  };
  accountIam[MIGRATE] = {
    service_account_id: `\${google_service_account.${MIGRATE}.name}`,
    role: 'roles/iam.workloadIdentityUser',
    member: workloadIdentity(serviceAccountId(MIGRATE), NAMESPACE),
  };
  databaseIam[MIGRATE] = {
    instance: '${google_spanner_instance.almanac.name}',
    database: '${google_spanner_database.almanac.name}',
    role: 'roles/spanner.databaseAdmin',
    member: member(MIGRATE),
  };
  // KEDA's gcp-pubsub scaler reads subscription metrics from Cloud Monitoring
  account.keda = { account_id: 'almanac-keda', display_name: 'KEDA Pub/Sub scaler' };
  accountIam.keda = {
    service_account_id: '${google_service_account.keda.name}',
    role: 'roles/iam.workloadIdentityUser',
    member: workloadIdentity(KEDA_KSA.name, KEDA_KSA.namespace),
  };

  return {
    terraform: {
      required_providers: { google: { source: 'hashicorp/google', version: '>= 5.0' } },
    },
    variable: {
      project: { type: 'string', description: 'the GCP project id' },
      region: { type: 'string', default: 'europe-west1' },
      spanner_config: { type: 'string', default: 'regional-europe-west1' },
      spanner_processing_units: { type: 'number', default: 100 },
      storage_bucket: {
        type: 'string',
        description: 'storage.bucket of almanac.config.ts (claim check, export staging)',
      },
      storage_prefix: {
        type: 'string',
        default: 'almanac/',
        description: 'storage.prefix of almanac.config.ts',
      },
      claim_retention_days: {
        type: 'number',
        default: 7,
        description: 'days a claim-checked message stays readable (its redelivery window)',
      },
    },
    provider: { google: { project: '${var.project}', region: '${var.region}' } },
    data: { google_project: { this: { project_id: '${var.project}' } } },
    resource: {
      google_pubsub_topic: topic,
      google_pubsub_subscription: subscription,
      google_pubsub_topic_iam_member: topicIam,
      google_pubsub_subscription_iam_member: subscriptionIam,
      google_spanner_instance: {
        almanac: {
          name: 'almanac',
          display_name: 'Almanac',
          config: '${var.spanner_config}',
          processing_units: '${var.spanner_processing_units}',
        },
      },
      // the schema is infra/spanner/*.sql, applied by the migrate Job (libs/eventlog migrateSpanner,
      // which records each file's checksum): Terraform creates the empty database only
      google_spanner_database: {
        almanac: {
          instance: '${google_spanner_instance.almanac.name}',
          name: 'almanac',
          deletion_protection: true,
        },
      },
      google_spanner_database_iam_member: databaseIam,
      // consumers never delete claims (a topic may have several subscriptions): the bucket does
      google_storage_bucket: {
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
            // the executor deletes what it staged at completion; this removes what a dead one left
            {
              condition: { age: 2, matches_prefix: ['${var.storage_prefix}stage/'] },
              action: { type: 'Delete' },
            },
          ],
        },
      },
      google_storage_bucket_iam_member: bucketIam,
      google_service_account: account,
      google_service_account_iam_member: accountIam,
      google_project_iam_member: {
        keda_monitoring_viewer: {
          project: '${var.project}',
          role: 'roles/monitoring.viewer',
          member: 'serviceAccount:${google_service_account.keda.email}',
        },
      },
    },
  };
}
