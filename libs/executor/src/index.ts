export * from './evaluate';
export * from './executor.decider';
export * from './batch-dispatcher';
export * from './stalled';
