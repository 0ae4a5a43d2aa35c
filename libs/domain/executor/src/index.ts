export * from './evaluate';
export * from './executor.decider';
export * from './stalled';
