export * from './process-batch';
