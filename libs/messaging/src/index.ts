export * from './bus.port';
export * from './bus.errors';
export { createInProcessBus, type InProcessBus, type InProcessBusOptions } from './in-process-bus';
export { busConformance, type BusFixture } from './conformance/bus.conformance';
export { waitFor, sleep } from './conformance/wait-for';
