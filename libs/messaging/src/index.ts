export * from './bus.port';
export * from './bus.errors';
export { createInProcessBus, type InProcessBus, type InProcessBusOptions } from './in-process-bus';
export { busConformance, type BusFixture } from './conformance/bus.conformance';
export { waitFor, sleep } from './conformance/wait-for';
export { createPubSubBus, type PubSubBus, type PubSubBusOptions } from './pubsub/pubsub-bus';
export {
  provisionPubSub,
  parseTopology,
  type PubSubTopology,
  type ProvisionReport,
} from './pubsub/provision-pubsub';
export { PUBSUB_MIN_DELIVERY_ATTEMPTS, PUBSUB_MAX_DELIVERY_ATTEMPTS } from './pubsub/pubsub-admin';
export {
  PublishFailedError,
  EmptyMessageError,
  SubscriptionNotFoundError,
  SubscriptionsNotReadyError,
  DeliveryAttemptsConflictError,
  InvalidTopologyError,
} from './pubsub/pubsub.errors';
