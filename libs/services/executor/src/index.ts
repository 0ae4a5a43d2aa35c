export * from './breaker';
export * from './executor.service';
export * from './executor.module';
