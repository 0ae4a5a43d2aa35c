export * from './worker.service';
export * from './worker.module';
