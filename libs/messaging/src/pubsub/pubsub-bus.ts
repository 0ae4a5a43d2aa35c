import { randomUUID } from 'node:crypto';
import type { Message, PubSub, Topic } from '@google-cloud/pubsub';
import type { ObjectStore } from '@almanac/storage';
import {
  type Bus,
  type MessageHandler,
  type OutgoingMessage,
  type ReceivedMessage,
  type SubscribeOptions,
  type Subscription,
  deadLetterTopic,
  DEFAULT_MAX_DELIVERY_ATTEMPTS,
} from '../bus.port';
import {
  BusClosedError,
  InvalidSubscribeOptionError,
  SubscriptionTopicMismatchError,
} from '../bus.errors';
import {
  PUBSUB_MAX_DELIVERY_ATTEMPTS,
  createSubscriptionIfMissing,
  createTopicIfMissing,
  nativeMaxDeliveryAttempts,
  shortName,
} from './pubsub-admin';
import {
  ClaimCheckUnavailableError,
  DeliveryAttemptsConflictError,
  EmptyMessageError,
  GrpcCode,
  MessageTooLargeError,
  PublishFailedError,
  SubscriptionNotFoundError,
  SubscriptionsNotReadyError,
  grpcCode,
} from './pubsub.errors';

export interface PubSubBusOptions {
  /**
   * Create missing topics (on publish) and subscriptions with their dead-letter topic (on
   * subscribe). Default true. With false the bus makes no admin calls, so a service account with
   * only the publisher/subscriber roles works: provision with `provisionPubSub` first.
   */
  autoCreate?: boolean;
  /** publish batching; a Pub/Sub request holds at most 1000 messages (default 1000 messages, 5 ms) */
  publishBatching?: { maxMessages?: number; maxMilliseconds?: number };
  /** streaming-pull connections per subscriber (default 1; ~1-2k msg/s each on the emulator) */
  streamsPerSubscriber?: number;
  /** ack deadline of auto-created subscriptions; the client extends leases while handlers run (default 60) */
  ackDeadlineSeconds?: number;
  /** stream and dead-letter publish failures that no caller awaits (default: console.error) */
  onError?: (error: unknown, context: string) => void;
  /**
   * Claim check (ADR 0026): data larger than thresholdBytes is written to the store under
   * `claims/<topic>/<uuid>` and the message carries only its name (attribute CLAIM_ATTRIBUTE);
   * the receiving bus reads it back before the handler runs. Claims are never deleted here (a
   * topic may have several subscriptions): a bucket lifecycle rule expires them.
   */
  claimCheck?: { store: ObjectStore; thresholdBytes: number };
}

export type PubSubBus = Bus & {
  /**
   * Resolves once no handler of this bus has been running, and no message arrived, for quietMs
   * (default 250: the emulator redelivers a nacked message within ~150 ms).
   */
  idle(quietMs?: number): Promise<void>;
  /**
   * Readiness of this bus's subscriptions: rejects naming each one whose streaming pull is not
   * open or that no longer exists on the server (deleted after the bus subscribed).
   */
  checkSubscriptions(): Promise<void>;
};

const DEFAULT_CONCURRENCY = 10;
/** Pub/Sub refuses a message larger than 10 MB. */
const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;
/** The attribute of a message whose data is in the object store: the object's name. */
const CLAIM_ATTRIBUTE = 'almanac-claim';
/** Pub/Sub attribute values are limited to 1024 bytes. */
const MAX_ATTRIBUTE_BYTES = 1024;

function integerOption(
  option: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidSubscribeOptionError(
      option,
      value,
      max === Number.MAX_SAFE_INTEGER ? 'an integer >= 1' : `an integer from 1 to ${max}`,
    );
  }
  return value;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = Buffer.from(text, 'utf8')
    .subarray(0, maxBytes - 3)
    .toString('utf8');
  // a cut multi-byte character decodes as U+FFFD; drop it
  if (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return `${out}...`;
}

/** The part of a subscription's metadata the adapter reads. */
interface SubscriptionInfo {
  topic?: string | null;
  deadLetterPolicy?: {
    deadLetterTopic?: string | null;
    maxDeliveryAttempts?: number | null;
  } | null;
}

interface OpenSubscription {
  name: string;
  client: ReturnType<PubSub['subscription']>;
  inFlight: number;
  close(): Promise<void>;
}

/**
 * The gcp profile's bus over Cloud Pub/Sub, with the in-process bus's contract. Every
 * subscription carries a native dead-letter policy (without one Pub/Sub reports no
 * deliveryAttempt), but the adapter dead-letters by itself when a handler fails on delivery
 * `maxDeliveryAttempts`: it publishes the message to `deadLetterTopic(subscription)` with
 * `deadLetterReason` and `deliveryAttempts`, then acks. The native policy (max(5, attempts), the
 * Pub/Sub minimum) only catches messages whose subscriber died during the last attempt.
 * The PubSub client stays the caller's: close() does not close it.
 */
export function createPubSubBus(pubsub: PubSub, opts: PubSubBusOptions = {}): PubSubBus {
  const autoCreate = opts.autoCreate ?? true;
  const batching = {
    maxMessages: Math.min(1000, opts.publishBatching?.maxMessages ?? 1000),
    maxMilliseconds: opts.publishBatching?.maxMilliseconds ?? 5,
  };
  const streams = integerOption('streamsPerSubscriber', opts.streamsPerSubscriber, 1);
  const ackDeadlineSeconds = opts.ackDeadlineSeconds ?? 60;
  const onError =
    opts.onError ??
    ((error: unknown, context: string) => console.error(`pubsub bus: ${context}:`, error));

  const publishers = new Map<string, Topic>();
  const createdTopics = new Map<string, Promise<unknown>>();
  const open = new Set<OpenSubscription>();
  let closed = false;
  let lastActivity = Date.now();

  const publisherFor = (topic: string) => {
    let publisher = publishers.get(topic);
    if (!publisher) {
      // messageOrdering lets callers pass orderingKey; messages without one are batched as usual
      publisher = pubsub.topic(topic, { batching, messageOrdering: true });
      publishers.set(topic, publisher);
    }
    return publisher;
  };

  const ensureTopic = (topic: string) => {
    let created = createdTopics.get(topic);
    if (!created) {
      created = createTopicIfMissing(pubsub, topic);
      created.catch(() => createdTopics.delete(topic));
      createdTopics.set(topic, created);
    }
    return created;
  };

  const publishOnce = async (topic: string, messages: OutgoingMessage[]) => {
    const publisher = publisherFor(topic);
    const results = await Promise.allSettled(
      messages.map((m) =>
        publisher.publishMessage({
          data: Buffer.from(m.data, 'utf8'),
          attributes: m.attributes,
          orderingKey: m.orderingKey,
        }),
      ),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      // a failed ordered publish pauses its key until resumed
      for (const key of new Set(messages.map((m) => m.orderingKey))) {
        if (key) publisher.resumePublishing(key);
      }
      throw failure.reason;
    }
    return results.map((r) => (r as PromiseFulfilledResult<string>).value);
  };

  const publish = async (topic: string, messages: OutgoingMessage[]): Promise<string[]> => {
    if (messages.length === 0) return [];
    messages.forEach((m, i) => {
      if (m.data === '' && Object.keys(m.attributes ?? {}).length === 0) {
        throw new EmptyMessageError(topic, i);
      }
    });
    const claimCheck = opts.claimCheck;
    const sized = messages.map((m, index) => ({ m, index, bytes: Buffer.byteLength(m.data) }));
    if (!claimCheck) {
      const big = sized.find((s) => s.bytes > PUBSUB_MAX_MESSAGE_BYTES);
      if (big)
        throw new MessageTooLargeError(topic, big.index, big.bytes, PUBSUB_MAX_MESSAGE_BYTES);
    }
    const outgoing =
      claimCheck && sized.some((s) => s.bytes > claimCheck.thresholdBytes)
        ? await Promise.all(
            sized.map(async ({ m, bytes }) => {
              if (bytes <= claimCheck.thresholdBytes) return m;
              const name = `claims/${topic}/${randomUUID()}`;
              await claimCheck.store.put(name, m.data, {
                contentType: 'text/plain; charset=utf-8',
              });
              return {
                ...m,
                data: claimCheck.store.uri(name),
                attributes: { ...m.attributes, [CLAIM_ATTRIBUTE]: name },
              };
            }),
          )
        : messages;
    try {
      try {
        return await publishOnce(topic, outgoing);
      } catch (error) {
        // publish first and create on NOT_FOUND: no admin call on the hot path
        if (!autoCreate || grpcCode(error) !== GrpcCode.NOT_FOUND) throw error;
        await createTopicIfMissing(pubsub, topic); // not cached: the topic may have been deleted
        return await publishOnce(topic, outgoing);
      }
    } catch (error) {
      throw new PublishFailedError(topic, messages.length, error);
    }
  };

  const deadLetter = async (
    subscription: string,
    message: Message,
    attempt: number,
    error: unknown,
  ) => {
    const reason = error instanceof Error ? error.message : String(error);
    await publish(deadLetterTopic(subscription), [
      {
        data: message.data.toString('utf8'),
        attributes: {
          ...message.attributes,
          deadLetterReason: truncateUtf8(reason, MAX_ATTRIBUTE_BYTES),
          deliveryAttempts: String(attempt),
        },
      },
    ]);
  };

  /** Makes the subscription exist with a dead-letter policy; returns the attempts after which the adapter dead-letters. */
  const prepare = async (topic: string, name: string, requested: number | undefined) => {
    const dlTopic = deadLetterTopic(name);
    const sub = pubsub.subscription(name);
    const read = async (): Promise<SubscriptionInfo> => (await sub.getMetadata())[0];
    let metadata: SubscriptionInfo | undefined;
    try {
      metadata = await read();
    } catch (error) {
      if (grpcCode(error) !== GrpcCode.NOT_FOUND) throw error;
    }
    if (!metadata) {
      const max = requested ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
      await ensureTopic(topic);
      await ensureTopic(dlTopic);
      // dead letters published to a topic without subscriptions would be lost
      await createSubscriptionIfMissing(pubsub, { name: dlTopic, topic: dlTopic });
      const outcome = await createSubscriptionIfMissing(pubsub, {
        name,
        topic,
        deadLetter: { topic: dlTopic, maxDeliveryAttempts: max },
        ackDeadlineSeconds,
      });
      if (outcome === 'created') return max;
      metadata = await read(); // another process created it first
    }
    const existingTopic = shortName(metadata.topic);
    if (existingTopic !== topic)
      throw new SubscriptionTopicMismatchError(name, topic, existingTopic);
    const policy = metadata.deadLetterPolicy;
    if (!policy?.deadLetterTopic) {
      const max = requested ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
      await ensureTopic(dlTopic);
      await sub.setMetadata({
        deadLetterPolicy: {
          deadLetterTopic: pubsub.topic(dlTopic).name,
          maxDeliveryAttempts: nativeMaxDeliveryAttempts(max),
        },
      });
      return max;
    }
    const provisioned = policy.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
    if (requested !== undefined && requested > provisioned) {
      throw new DeliveryAttemptsConflictError(name, requested, provisioned);
    }
    return requested ?? provisioned;
  };

  /** The message's data, read back from the store when it travelled by claim check. */
  const dataOf = async (message: Message): Promise<string> => {
    const claim = message.attributes[CLAIM_ATTRIBUTE];
    if (claim === undefined) return message.data.toString('utf8');
    if (!opts.claimCheck) throw new ClaimCheckUnavailableError(claim);
    return (await opts.claimCheck.store.get(claim)).toString('utf8');
  };

  const totalInFlight = () => [...open].reduce((n, s) => n + s.inFlight, 0);

  return {
    async publish(topic, messages) {
      if (closed) throw new BusClosedError(`publish to "${topic}"`);
      return publish(topic, messages);
    },

    async subscribe(
      topic: string,
      subscription: string,
      handler: MessageHandler,
      options: SubscribeOptions = {},
    ): Promise<Subscription> {
      if (closed) throw new BusClosedError(`subscribe "${subscription}" to "${topic}"`);
      const concurrency = integerOption('concurrency', options.concurrency, DEFAULT_CONCURRENCY);
      const requested =
        options.maxDeliveryAttempts === undefined
          ? undefined
          : integerOption(
              'maxDeliveryAttempts',
              options.maxDeliveryAttempts,
              DEFAULT_MAX_DELIVERY_ATTEMPTS,
              PUBSUB_MAX_DELIVERY_ATTEMPTS,
            );
      const maxDeliveryAttempts = autoCreate
        ? await prepare(topic, subscription, requested)
        : (requested ?? DEFAULT_MAX_DELIVERY_ATTEMPTS);
      if (closed) throw new BusClosedError(`subscribe "${subscription}" to "${topic}"`);

      const client = pubsub.subscription(subscription, {
        // allowExcessMessages defaults to true, which would run more handlers than concurrency
        flowControl: { maxMessages: concurrency, allowExcessMessages: false },
        streamingOptions: { maxStreams: streams },
        // acks/nacks go out within 10 ms (default 100 ms): faster redelivery after a nack
        batching: { maxMilliseconds: 10 },
        // close() stops the stream, then waits until held messages are acked or nacked
        closeOptions: { behavior: 'WAIT' },
      });

      let drained: Array<() => void> = [];
      let closing: Promise<void> | undefined;
      const state: OpenSubscription = {
        name: subscription,
        client,
        inFlight: 0,
        close() {
          closing ??= (async () => {
            await client.close();
            if (state.inFlight > 0) await new Promise<void>((r) => drained.push(r));
            open.delete(state);
          })();
          return closing;
        },
      };

      const handle = async (message: Message) => {
        const attempt = Math.max(1, message.deliveryAttempt || 1);
        try {
          // a claim that cannot be read fails like the handler: nack, then dead letter
          const attributes = { ...message.attributes };
          delete attributes[CLAIM_ATTRIBUTE];
          const received: ReceivedMessage = {
            id: message.id,
            data: await dataOf(message),
            attributes,
            deliveryAttempt: attempt,
            publishTime: message.publishTime.toISOString(),
          };
          await handler(received);
        } catch (error) {
          if (attempt < maxDeliveryAttempts) {
            message.nack();
            return;
          }
          try {
            await deadLetter(subscription, message, attempt, error);
            message.ack();
          } catch (publishError) {
            onError(publishError, `dead-lettering message ${message.id} of "${subscription}"`);
            message.nack();
          }
          return;
        }
        message.ack();
      };

      client.on('message', (message: Message) => {
        lastActivity = Date.now();
        // messages the client still held when close() began go back to Pub/Sub at once
        if (closing) {
          message.nack();
          return;
        }
        state.inFlight++;
        void handle(message).finally(() => {
          state.inFlight--;
          lastActivity = Date.now();
          if (state.inFlight === 0 && drained.length > 0) {
            const waiters = drained;
            drained = [];
            for (const resolve of waiters) resolve();
          }
        });
      });
      client.on('error', (error: unknown) => {
        onError(
          grpcCode(error) === GrpcCode.NOT_FOUND
            ? new SubscriptionNotFoundError(subscription, topic)
            : error,
          `subscription "${subscription}"`,
        );
      });
      open.add(state);
      return { close: () => state.close() };
    },

    async close() {
      closed = true;
      await Promise.all([...open].map((s) => s.close()));
      await Promise.all([...publishers.values()].map((p) => p.flush()));
    },

    async checkSubscriptions() {
      const problems = await Promise.all(
        [...open].map(async (s) => {
          if (!s.client.isOpen) return `subscription "${s.name}": the stream is not open`;
          const [exists] = await s.client.exists();
          return exists ? undefined : `subscription "${s.name}" does not exist`;
        }),
      );
      const failed = problems.filter((p) => p !== undefined);
      if (failed.length > 0) throw new SubscriptionsNotReadyError(failed);
    },

    async idle(quietMs = 250) {
      while (totalInFlight() > 0 || Date.now() - lastActivity < quietMs) {
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}
