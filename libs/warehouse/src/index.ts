export * from './warehouse.port';
export * from './errors';
export { closestNames, editDistance } from './closest-names';
export { createSchemaRegistry, DEFAULT_SCHEMA_TTL_MS } from './schema-registry';
export type { LoadTable, ListTables, SchemaRegistryOptions } from './schema-registry';
export { select, SelectBuilder, quoteIdent } from './query-builder';
export type { BuiltQuery, InListStrategy, QueryParam } from './query-builder';
export { converterFor, readRows } from './row-converters';
export { assertIsoDate, createDuckDbWarehouse } from './duckdb-warehouse';
export type { DuckDbWarehouseOptions } from './duckdb-warehouse';
export { createBigQueryWarehouse } from './bigquery/bigquery-warehouse';
export type { BigQueryWarehouseOptions } from './bigquery/bigquery-warehouse';
export { createDuckDbResultStore } from './duckdb-result-store';
export type { DuckDbResultStoreOptions } from './duckdb-result-store';
export { resultStoreConformance } from './conformance/result-store.conformance';
export type { ResultStoreFactory } from './conformance/result-store.conformance';
export { warehouseConformance } from './conformance/warehouse.conformance';
export type {
  FixtureColumnKind,
  FixtureTable,
  FixtureValue,
  WarehouseConformanceOptions,
  WarehouseFixture,
} from './conformance/warehouse.conformance';
export { createSpannerResultStore, SpannerResultStoreError } from './spanner/spanner-result-store';
export type { SpannerResultStoreOptions } from './spanner/spanner-result-store';
export {
  spannerResultsDdl,
  SPANNER_RESULTS_DDL,
  SPANNER_RESULTS_TABLE,
} from './spanner/results.ddl';
export { deleteStaged, readStagedBatch, stageTable } from './staging/staged-reads';
export type { StageKey, StageReport, TableRead } from './staging/staged-reads';
export { billedBytes, priceOf } from './billing';
export {
  createBigQueryResultsExporter,
  ResultsExportError,
} from './bigquery/bigquery-results-export';
export type {
  BigQueryResultsExporter,
  BigQueryResultsExporterOptions,
  ResultVersionRef,
  ResultsExportSummary,
} from './bigquery/bigquery-results-export';
