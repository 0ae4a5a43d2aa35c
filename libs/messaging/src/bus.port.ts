export interface OutgoingMessage {
  /** the JSON text of an envelope (or anything, for a malformed-message test) */
  data: string;
  attributes?: Record<string, string>;
  orderingKey?: string;
}

export interface ReceivedMessage {
  id: string;
  data: string;
  attributes: Record<string, string>;
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  deliveryAttempt: number;
  /** when the bus accepted the message (ISO): its age on receipt is the subscriber's lag */
  publishTime?: string;
}

export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

/** The attempts after which both adapters dead-letter a message, when subscribe names none. */
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;

export interface SubscribeOptions {
  /** messages handled at once by this subscriber (default 10) */
  concurrency?: number;
  /** after this many failed deliveries the message goes to the dead-letter topic (default DEFAULT_MAX_DELIVERY_ATTEMPTS) */
  maxDeliveryAttempts?: number;
}

export interface Subscription {
  /** stop pulling; resolves when in-flight handlers have settled */
  close(): Promise<void>;
}

/**
 * At-least-once delivery. A message is acked only when its handler resolves; a handler that
 * throws gets the message again (with a growing deliveryAttempt) until maxDeliveryAttempts,
 * after which the message is published to `deadLetterTopic(subscription)` with the attributes
 * `deadLetterReason` (the last error's message) and `deliveryAttempts`.
 * Each subscription gets every message published on its topic after it was created.
 */
export interface Bus {
  publish(topic: string, messages: OutgoingMessage[]): Promise<string[]>;
  subscribe(
    topic: string,
    subscription: string,
    handler: MessageHandler,
    opts?: SubscribeOptions,
  ): Promise<Subscription>;
  close(): Promise<void>;
}

export const deadLetterTopic = (subscription: string) => `${subscription}.dead-letter`;
