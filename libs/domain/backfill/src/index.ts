export * from './backfill.decider';
