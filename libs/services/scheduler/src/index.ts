export * from './scheduler.service';
