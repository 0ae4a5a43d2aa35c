import {
  type Bus,
  type MessageHandler,
  type OutgoingMessage,
  type ReceivedMessage,
  type SubscribeOptions,
  type Subscription,
  deadLetterTopic,
  DEFAULT_MAX_DELIVERY_ATTEMPTS,
} from './bus.port';
import {
  BusClosedError,
  InvalidSubscribeOptionError,
  SubscriptionTopicMismatchError,
} from './bus.errors';

export interface InProcessBusOptions {
  /** wait before redelivering a failed message, times the attempt that failed (default 10 ms) */
  redeliveryDelayMs?: number;
}

export type InProcessBus = Bus & {
  /**
   * Resolves when no message is queued, in flight or waiting for redelivery on any subscription
   * that has a subscriber. Messages of a subscription whose subscribers all closed wait for the
   * next subscriber (as on Pub/Sub) and do not hold idle() up.
   */
  idle(): Promise<void>;
};

const DEFAULT_CONCURRENCY = 10;
const DEFAULT_REDELIVERY_DELAY_MS = 10;

interface Delivery {
  id: string;
  data: string;
  attributes: Record<string, string>;
  /** the attempt number this delivery will carry */
  attempt: number;
  publishTime: string;
}

/** FIFO with O(1) push and shift (Array#shift is O(n)). */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  get length() {
    return this.items.length - this.head;
  }
  push(item: T) {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

interface Consumer {
  handler: MessageHandler;
  concurrency: number;
  inFlight: number;
  closed: boolean;
  onDrained: Array<() => void>;
}

interface SubscriptionState {
  name: string;
  topic: string;
  maxDeliveryAttempts: number;
  ready: Fifo<Delivery>;
  inFlight: number;
  /** failed messages waiting for their redelivery timer */
  delayed: number;
  consumers: Consumer[];
  /** round-robin cursor over consumers, so competing consumers share the work */
  next: number;
  pumpScheduled: boolean;
}

function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidSubscribeOptionError(option, value, 'an integer >= 1');
  }
  return value;
}

/**
 * The embedded profile's bus, with the same at-least-once contract as the Pub/Sub adapter:
 * ack on resolve, redelivery on throw, dead-letter topic after maxDeliveryAttempts.
 * Delivery is always asynchronous, so a handler that publishes never recurses into handlers.
 * Ordering keys are accepted and ignored (concurrent handlers reorder anyway).
 * A subscription's maxDeliveryAttempts is the one given when it was first subscribed.
 */
export function createInProcessBus(opts: InProcessBusOptions = {}): InProcessBus {
  const redeliveryDelayMs = opts.redeliveryDelayMs ?? DEFAULT_REDELIVERY_DELAY_MS;
  if (!(redeliveryDelayMs >= 0)) {
    throw new InvalidSubscribeOptionError('redeliveryDelayMs', redeliveryDelayMs, 'a number >= 0');
  }
  const byTopic = new Map<string, SubscriptionState[]>();
  const byName = new Map<string, SubscriptionState>();
  const timers = new Set<NodeJS.Timeout>();
  let idleWaiters: Array<() => void> = [];
  let closed = false;
  let sequence = 0;

  const isIdle = () => {
    for (const sub of byName.values()) {
      if (sub.inFlight > 0) return false;
      if (sub.consumers.length > 0 && (sub.ready.length > 0 || sub.delayed > 0)) return false;
    }
    return true;
  };

  const checkIdle = () => {
    if (idleWaiters.length === 0 || !(closed || isIdle())) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const enqueue = (topic: string, messages: OutgoingMessage[]): string[] => {
    const subs = byTopic.get(topic) ?? [];
    const ids: string[] = [];
    const publishTime = new Date().toISOString();
    for (const message of messages) {
      const id = String(++sequence);
      ids.push(id);
      for (const sub of subs) {
        sub.ready.push({
          id,
          data: message.data,
          attributes: { ...message.attributes },
          attempt: 1,
          publishTime,
        });
      }
    }
    for (const sub of subs) schedule(sub);
    return ids;
  };

  // Pumping on a later turn keeps delivery out of publish()'s call stack.
  const schedule = (sub: SubscriptionState) => {
    if (sub.pumpScheduled || sub.consumers.length === 0 || closed) return;
    sub.pumpScheduled = true;
    setImmediate(() => {
      sub.pumpScheduled = false;
      pump(sub);
    });
  };

  const pickConsumer = (sub: SubscriptionState): Consumer | undefined => {
    const n = sub.consumers.length;
    for (let i = 0; i < n; i++) {
      const consumer = sub.consumers[(sub.next + i) % n];
      if (consumer.inFlight < consumer.concurrency) {
        sub.next = (sub.next + i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  };

  const pump = (sub: SubscriptionState) => {
    while (!closed && sub.ready.length > 0) {
      const consumer = pickConsumer(sub);
      if (!consumer) return;
      deliver(sub, consumer, sub.ready.shift()!);
    }
  };

  const deliver = (sub: SubscriptionState, consumer: Consumer, delivery: Delivery) => {
    consumer.inFlight++;
    sub.inFlight++;
    const message: ReceivedMessage = {
      id: delivery.id,
      data: delivery.data,
      attributes: { ...delivery.attributes },
      deliveryAttempt: delivery.attempt,
      publishTime: delivery.publishTime,
    };
    const settle = () => {
      consumer.inFlight--;
      sub.inFlight--;
      if (consumer.inFlight === 0 && consumer.onDrained.length > 0) {
        const drained = consumer.onDrained;
        consumer.onDrained = [];
        for (const resolve of drained) resolve();
      }
    };
    Promise.resolve()
      .then(() => consumer.handler(message))
      .then(
        () => {
          settle();
          pump(sub);
          checkIdle();
        },
        (error: unknown) => {
          if (!closed) nack(sub, delivery, error);
          settle();
          pump(sub);
          checkIdle();
        },
      );
  };

  const nack = (sub: SubscriptionState, delivery: Delivery, error: unknown) => {
    if (delivery.attempt >= sub.maxDeliveryAttempts) {
      const reason = error instanceof Error ? error.message : String(error);
      enqueue(deadLetterTopic(sub.name), [
        {
          data: delivery.data,
          attributes: {
            ...delivery.attributes,
            deadLetterReason: reason,
            deliveryAttempts: String(delivery.attempt),
          },
        },
      ]);
      return;
    }
    sub.delayed++;
    const timer = setTimeout(() => {
      timers.delete(timer);
      sub.delayed--;
      sub.ready.push({ ...delivery, attempt: delivery.attempt + 1 });
      schedule(sub);
      checkIdle(); // a detached subscription's redelivery may have been the last thing pending
    }, redeliveryDelayMs * delivery.attempt);
    timers.add(timer);
  };

  const drain = (consumer: Consumer) =>
    consumer.inFlight === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => consumer.onDrained.push(resolve));

  return {
    async publish(topic, messages) {
      if (closed) throw new BusClosedError(`publish to "${topic}"`);
      return enqueue(topic, messages);
    },

    async subscribe(
      topic,
      subscription,
      handler,
      options: SubscribeOptions = {},
    ): Promise<Subscription> {
      if (closed) throw new BusClosedError(`subscribe "${subscription}" to "${topic}"`);
      const concurrency = positiveInteger('concurrency', options.concurrency, DEFAULT_CONCURRENCY);
      const maxDeliveryAttempts = positiveInteger(
        'maxDeliveryAttempts',
        options.maxDeliveryAttempts,
        DEFAULT_MAX_DELIVERY_ATTEMPTS,
      );
      let sub = byName.get(subscription);
      if (sub && sub.topic !== topic) {
        throw new SubscriptionTopicMismatchError(subscription, topic, sub.topic);
      }
      if (!sub) {
        sub = {
          name: subscription,
          topic,
          maxDeliveryAttempts,
          ready: new Fifo(),
          inFlight: 0,
          delayed: 0,
          consumers: [],
          next: 0,
          pumpScheduled: false,
        };
        byName.set(subscription, sub);
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), sub]);
      }
      const state = sub;
      const consumer: Consumer = {
        handler,
        concurrency,
        inFlight: 0,
        closed: false,
        onDrained: [],
      };
      state.consumers.push(consumer);
      schedule(state); // messages may have waited for a subscriber
      return {
        async close() {
          if (!consumer.closed) {
            consumer.closed = true;
            state.consumers = state.consumers.filter((c) => c !== consumer);
            state.next = 0;
            checkIdle();
          }
          await drain(consumer);
        },
      };
    },

    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const consumers = [...byName.values()].flatMap((sub) => sub.consumers);
      for (const sub of byName.values()) sub.consumers = [];
      for (const consumer of consumers) consumer.closed = true;
      await Promise.all(consumers.map(drain));
      checkIdle();
    },

    idle() {
      if (closed || isIdle()) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
