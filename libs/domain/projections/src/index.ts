export * from './projection';
export * from './run.projection';
export * from './hash-index.projection';
export * from './decision.projection';
export * from './projection-runner';
export * from './checkpoint';
export * from './checkpointed-projections';
export { ProjectionFailedError, type PagedLog, type ProjectionSet } from './log-fold';
export type { ViewDifference } from './view-diff';
