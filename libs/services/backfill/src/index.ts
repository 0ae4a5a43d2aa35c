export * from './backfill.module';
