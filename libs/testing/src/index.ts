export * from './decider-specification';
export * from './next-schemas';
export * from './event-log-v1';
