export * from './event-store.port';
export * from './event-store.errors';
export { createSqliteEventStore, openSqliteEventStoreReadOnly } from './sqlite-event-store';
export {
  eventStoreConformance,
  type EventStoreFixture,
} from './conformance/event-store.conformance';
export * from './spanner';
