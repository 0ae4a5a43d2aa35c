export * from './planner.decider';
export * from './run-request.rules';
