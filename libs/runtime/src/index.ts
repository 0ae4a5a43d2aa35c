export * from './project-config';
export * from './load-computations';
export * from './event-publisher';
export * from './planner.service';
export * from './executor.service';
export * from './worker.service';
export * from './embedded-engine';
export * from './queries';
