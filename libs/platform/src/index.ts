export * from './api-auth-settings';
export * from './project-config';
export * from './load-computations';
export * from './event-publisher';
export * from './inputs';
export * from './run-request';
export * from './service-env';
export * from './service-host';
export * from './gcp-profile';
export * from './service-module';
export * from './gcp-service';
export * from './invalidation';
export * from './retention-sweep';
export * from './backfill-request';
export * from './tracing';
export * from './trace-file-exporter';
export {
  createLogger,
  computationLogSink,
  cliLogFormat,
  InvalidLogFormatError,
  LABELS_FIELD,
  type LogFormat,
  type Logger,
} from './logging/logger';
export { logEvents } from './logging/event-log-lines';
export * from './metrics';
export { bigQueryClient, openWarehouse, WarehouseConfigError } from './open-warehouse';
export { loadDuckDbIntoBigQuery, UnmappableColumnError } from './bigquery-sample-load';
