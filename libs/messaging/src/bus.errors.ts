/** publish/subscribe on a bus after close(). */
export class BusClosedError extends Error {
  readonly code = 'bus-closed';
  readonly retryable = false;
  constructor(readonly operation: string) {
    super(`bus is closed: cannot ${operation}`);
    this.name = 'BusClosedError';
  }
}

/** A subscription name is bound to one topic; subscribing it to another is a wiring mistake. */
export class SubscriptionTopicMismatchError extends Error {
  readonly code = 'subscription-topic-mismatch';
  readonly retryable = false;
  constructor(
    readonly subscription: string,
    readonly topic: string,
    readonly existingTopic: string,
  ) {
    super(
      `subscription "${subscription}" already exists on topic "${existingTopic}", not "${topic}": use another subscription name`,
    );
    this.name = 'SubscriptionTopicMismatchError';
  }
}

/** An option outside what the bus accepts. */
export class InvalidSubscribeOptionError extends Error {
  readonly code = 'invalid-subscribe-option';
  readonly retryable = false;
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`invalid ${option} ${String(value)}: expected ${expected}`);
    this.name = 'InvalidSubscribeOptionError';
  }
}
