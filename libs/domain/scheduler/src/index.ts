export * from './scheduler.decider';
