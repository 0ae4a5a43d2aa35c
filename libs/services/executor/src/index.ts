export * from './batch-dispatcher';
export * from './executor.service';
export * from './executor.module';
