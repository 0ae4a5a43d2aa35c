/** gRPC status codes the adapter tells apart (google-gax `Status`). */
export const GrpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNAUTHENTICATED: 16,
} as const;

const PERMANENT_CODES = new Set<number>([
  GrpcCode.INVALID_ARGUMENT,
  GrpcCode.NOT_FOUND,
  GrpcCode.ALREADY_EXISTS,
  GrpcCode.PERMISSION_DENIED,
  GrpcCode.FAILED_PRECONDITION,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNAUTHENTICATED,
]);

export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A publish the Pub/Sub service refused or that failed after the client's own retries. */
export class PublishFailedError extends Error {
  readonly code = 'publish-failed';
  readonly retryable: boolean;
  constructor(
    readonly topic: string,
    readonly messageCount: number,
    cause: unknown,
  ) {
    const hint =
      grpcCode(cause) === GrpcCode.NOT_FOUND
        ? ': the topic does not exist; provision it (infra/pubsub) or create the bus with autoCreate'
        : '';
    super(
      `publish of ${messageCount} message(s) to "${topic}" failed: ${messageOf(cause)}${hint}`,
      { cause },
    );
    this.name = 'PublishFailedError';
    const code = grpcCode(cause);
    this.retryable = code === undefined || !PERMANENT_CODES.has(code);
  }
}

/** Pub/Sub rejects a message that has neither data nor attributes. */
export class EmptyMessageError extends Error {
  readonly code = 'empty-message';
  readonly retryable = false;
  constructor(
    readonly topic: string,
    readonly index: number,
  ) {
    super(
      `message ${index} published to "${topic}" has empty data and no attributes: Pub/Sub rejects it; send data or at least one attribute`,
    );
    this.name = 'EmptyMessageError';
  }
}

/** Data larger than a Pub/Sub message can hold, on a bus without a claim check. */
export class MessageTooLargeError extends Error {
  readonly code = 'message-too-large';
  readonly retryable = false;
  constructor(
    readonly topic: string,
    readonly index: number,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `message ${index} published to "${topic}" has ${bytes} bytes of data, more than Pub/Sub's limit of ${limit}: set storage in almanac.config.ts (claim check) so that large messages travel through Cloud Storage`,
    );
    this.name = 'MessageTooLargeError';
  }
}

/** A message whose data is in the object store (claim check) reached a bus without one. */
export class ClaimCheckUnavailableError extends Error {
  readonly code = 'claim-check-unavailable';
  readonly retryable = false;
  constructor(readonly claim: string) {
    super(
      `the message's data is in the object store as "${claim}" but this bus has no claim check: set storage in almanac.config.ts`,
    );
    this.name = 'ClaimCheckUnavailableError';
  }
}

/** subscribe() without autoCreate on a subscription that was not provisioned. */
export class SubscriptionNotFoundError extends Error {
  readonly code = 'subscription-not-found';
  readonly retryable = false;
  constructor(
    readonly subscription: string,
    readonly topic: string,
  ) {
    super(
      `subscription "${subscription}" (topic "${topic}") does not exist: add it to infra/pubsub/topology.json and provision, or create the bus with autoCreate`,
    );
    this.name = 'SubscriptionNotFoundError';
  }
}

/**
 * The subscriber asks for more delivery attempts than the subscription's native dead-letter
 * policy allows: Pub/Sub would forward the message (without a reason) before the adapter does.
 */
export class DeliveryAttemptsConflictError extends Error {
  readonly code = 'delivery-attempts-conflict';
  readonly retryable = false;
  constructor(
    readonly subscription: string,
    readonly requested: number,
    readonly provisioned: number,
  ) {
    super(
      `subscription "${subscription}" is provisioned with maxDeliveryAttempts ${provisioned} but the subscriber asks for ${requested}: raise it in infra/pubsub/topology.json or ask for at most ${provisioned}`,
    );
    this.name = 'DeliveryAttemptsConflictError';
  }
}

/** A topology file that does not describe a valid set of topics and subscriptions. */
export class InvalidTopologyError extends Error {
  readonly code = 'invalid-topology';
  readonly retryable = false;
  constructor(readonly issues: string[]) {
    super(`invalid Pub/Sub topology:\n- ${issues.join('\n- ')}`);
    this.name = 'InvalidTopologyError';
  }
}

/** Readiness: subscriptions of a bus that are deleted or whose stream is closed. */
export class SubscriptionsNotReadyError extends Error {
  readonly code = 'subscriptions-not-ready';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'SubscriptionsNotReadyError';
  }
}
