export * from './planner.decider';
