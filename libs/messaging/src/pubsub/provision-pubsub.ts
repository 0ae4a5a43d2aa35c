import type { PubSub } from '@google-cloud/pubsub';
import { z } from 'zod';
import { deadLetterTopic } from '../bus.port';
import { SubscriptionTopicMismatchError } from '../bus.errors';
import {
  PUBSUB_MAX_DELIVERY_ATTEMPTS,
  PUBSUB_MIN_DELIVERY_ATTEMPTS,
  createSubscriptionIfMissing,
  createTopicIfMissing,
  shortName,
} from './pubsub-admin';
import { InvalidTopologyError } from './pubsub.errors';

/** Pub/Sub resource ids: a letter, then 2-254 of letters, digits and - _ . ~ + %; not "goog...". */
const resourceName = z
  .string()
  .regex(/^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/, 'not a valid Pub/Sub resource name');

const topologySchema = z.object({
  topics: z.array(resourceName).min(1),
  subscriptions: z.array(
    z.object({
      name: resourceName,
      topic: resourceName,
      deadLetterTopic: resourceName,
      maxDeliveryAttempts: z
        .number()
        .int()
        .min(PUBSUB_MIN_DELIVERY_ATTEMPTS)
        .max(PUBSUB_MAX_DELIVERY_ATTEMPTS),
      ackDeadlineSeconds: z.number().int().min(10).max(600).optional(),
    }),
  ),
});

export type PubSubTopology = z.infer<typeof topologySchema>;

/** Validates a topology (e.g. infra/pubsub/topology.json) and its cross references. */
export function parseTopology(input: unknown): PubSubTopology {
  const parsed = topologySchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidTopologyError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const topology = parsed.data;
  const issues: string[] = [];
  const topics = new Set(topology.topics);
  if (topics.size !== topology.topics.length) issues.push('topics: duplicate names');
  const names = new Set<string>();
  for (const sub of topology.subscriptions) {
    if (names.has(sub.name)) issues.push(`subscription "${sub.name}" listed twice`);
    names.add(sub.name);
    if (!topics.has(sub.topic)) {
      issues.push(
        `subscription "${sub.name}": topic "${sub.topic}" is not in topics (${[...topics].join(', ')})`,
      );
    }
    // the adapter publishes dead letters (with their reason) to this name
    if (sub.deadLetterTopic !== deadLetterTopic(sub.name)) {
      issues.push(
        `subscription "${sub.name}": deadLetterTopic must be "${deadLetterTopic(sub.name)}", not "${sub.deadLetterTopic}"`,
      );
    }
  }
  if (issues.length > 0) throw new InvalidTopologyError(issues);
  return topology;
}

export interface ProvisionReport {
  created: string[];
  existing: string[];
  /** existing subscriptions whose settings differ from the topology (left as they are) */
  drift: string[];
}

/**
 * Creates the topics, dead-letter topics (each with a subscription of the same name, so dead
 * letters are kept until someone reads them) and subscriptions of the topology that are
 * missing; leaves existing ones as they are. Safe to run again and from several processes.
 * Entries read `topic <name>` / `subscription <name>`.
 */
export async function provisionPubSub(
  pubsub: PubSub,
  topologyInput: unknown,
): Promise<ProvisionReport> {
  const topology = parseTopology(topologyInput);
  const report: ProvisionReport = { created: [], existing: [], drift: [] };
  const note = (kind: string, name: string, outcome: 'created' | 'existing') =>
    report[outcome].push(`${kind} ${name}`);

  const deadLetterTopics = topology.subscriptions.map((s) => s.deadLetterTopic);
  for (const topic of [...topology.topics, ...deadLetterTopics]) {
    note('topic', topic, await createTopicIfMissing(pubsub, topic));
  }
  for (const topic of deadLetterTopics) {
    note('subscription', topic, await createSubscriptionIfMissing(pubsub, { name: topic, topic }));
  }
  for (const sub of topology.subscriptions) {
    const outcome = await createSubscriptionIfMissing(pubsub, {
      name: sub.name,
      topic: sub.topic,
      deadLetter: { topic: sub.deadLetterTopic, maxDeliveryAttempts: sub.maxDeliveryAttempts },
      ackDeadlineSeconds: sub.ackDeadlineSeconds,
    });
    note('subscription', sub.name, outcome);
    if (outcome === 'created') continue;
    const [metadata] = await pubsub.subscription(sub.name).getMetadata();
    const topic = shortName(metadata.topic);
    if (topic !== sub.topic) throw new SubscriptionTopicMismatchError(sub.name, sub.topic, topic);
    const policy = metadata.deadLetterPolicy;
    if (
      shortName(policy?.deadLetterTopic) !== sub.deadLetterTopic ||
      policy?.maxDeliveryAttempts !== sub.maxDeliveryAttempts
    ) {
      report.drift.push(
        `subscription ${sub.name}: dead-letter policy is ${shortName(policy?.deadLetterTopic) || 'none'} after ${policy?.maxDeliveryAttempts ?? '-'} attempts, topology says ${sub.deadLetterTopic} after ${sub.maxDeliveryAttempts}`,
      );
    }
  }
  return report;
}
