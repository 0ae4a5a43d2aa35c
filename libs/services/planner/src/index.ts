export * from './planner.service';
export * from './planner.module';
