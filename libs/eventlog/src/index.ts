export * from './event-store.port';
export * from './event-store.errors';
export { createSqliteEventStore, openSqliteEventStoreReadOnly } from './sqlite-event-store';
export {
  eventStoreConformance,
  type EventStoreFixture,
} from './conformance/event-store.conformance';
export * from './spanner';
export { createSqliteCheckpointStore } from './checkpoints/sqlite-checkpoint-store';
export {
  CheckpointNotSerializableError,
  CheckpointStoreClosedError,
  CheckpointStoreError,
} from './checkpoints/checkpoint-store.errors';
export {
  checkpointStoreConformance,
  type CheckpointStoreFixture,
} from './checkpoints/checkpoint-store.conformance';
