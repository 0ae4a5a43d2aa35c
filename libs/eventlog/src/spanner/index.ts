export { createSpannerEventStore, type SpannerEventStoreOptions } from './spanner-event-store';
export {
  createSpannerOutbox,
  relayOutbox,
  type OutboxMessage,
  type OutboxPublish,
  type SpannerOutbox,
} from './spanner-outbox';
export {
  migrateSpanner,
  splitDdl,
  SPANNER_DDL_DIR,
  type MigrationResult,
} from './spanner-migrations';
export {
  MigrationChangedError,
  MigrationDirectoryError,
  SpannerEventStoreError,
} from './spanner.errors';
export {
  createSpannerCheckpointStore,
  DEFAULT_CHECKPOINT_CHUNK_BYTES,
  type SpannerCheckpointStoreOptions,
} from '../checkpoints/spanner-checkpoint-store';
