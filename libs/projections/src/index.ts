export * from './projection';
export * from './run.projection';
export * from './hash-index.projection';
export * from './decision.projection';
export * from './projection-runner';
