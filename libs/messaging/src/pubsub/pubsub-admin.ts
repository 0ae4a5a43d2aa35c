import type { PubSub } from '@google-cloud/pubsub';
import { GrpcCode, grpcCode } from './pubsub.errors';

/** Bounds Pub/Sub puts on a dead-letter policy's maxDeliveryAttempts (the emulator enforces them too). */
export const PUBSUB_MIN_DELIVERY_ATTEMPTS = 5;
export const PUBSUB_MAX_DELIVERY_ATTEMPTS = 100;

type Outcome = 'created' | 'existing';

/** Creates the topic unless it exists; safe when several processes race to create it. */
export async function createTopicIfMissing(pubsub: PubSub, name: string): Promise<Outcome> {
  try {
    await pubsub.createTopic(name);
    return 'created';
  } catch (error) {
    if (grpcCode(error) === GrpcCode.ALREADY_EXISTS) return 'existing';
    throw error;
  }
}

interface SubscriptionSpec {
  name: string;
  topic: string;
  /** omitted: a subscription without a dead-letter policy (e.g. one that retains dead letters) */
  deadLetter?: { topic: string; maxDeliveryAttempts: number };
  ackDeadlineSeconds?: number;
}

/** The native policy: Pub/Sub accepts 5..100 attempts, the adapter may dead-letter earlier itself. */
export const nativeMaxDeliveryAttempts = (requested: number) =>
  Math.min(PUBSUB_MAX_DELIVERY_ATTEMPTS, Math.max(PUBSUB_MIN_DELIVERY_ATTEMPTS, requested));

/** Creates the subscription unless it exists (its topic and dead-letter topic must exist). */
export async function createSubscriptionIfMissing(
  pubsub: PubSub,
  spec: SubscriptionSpec,
): Promise<Outcome> {
  try {
    await pubsub.topic(spec.topic).createSubscription(spec.name, {
      ...(spec.ackDeadlineSeconds ? { ackDeadlineSeconds: spec.ackDeadlineSeconds } : {}),
      ...(spec.deadLetter
        ? {
            deadLetterPolicy: {
              deadLetterTopic: pubsub.topic(spec.deadLetter.topic).name,
              maxDeliveryAttempts: nativeMaxDeliveryAttempts(spec.deadLetter.maxDeliveryAttempts),
            },
          }
        : {}),
    });
    return 'created';
  } catch (error) {
    if (grpcCode(error) === GrpcCode.ALREADY_EXISTS) return 'existing';
    throw error;
  }
}

/** `projects/p/topics/x` -> `x` */
export const shortName = (fullName: string | null | undefined) =>
  (fullName ?? '').split('/').pop() ?? '';
