import { BigQuery } from '@google-cloud/bigquery';
import { createBigQueryWarehouse, createDuckDbWarehouse, type Warehouse } from '@almanac/warehouse';
import type { ProjectConfig } from './project-config';
import type { ServiceEnv } from './service-env';

type WarehouseEnv = Partial<
  Pick<ServiceEnv, 'GOOGLE_CLOUD_PROJECT' | 'ALMANAC_BIGQUERY_ENDPOINT' | 'ALMANAC_WAREHOUSE_PATH'>
>;

export class WarehouseConfigError extends Error {
  readonly code = 'invalid-warehouse-config';
}

/**
 * The source tables of `warehouse.kind` (ADR 0026): the DuckDB file, read-only, or the BigQuery
 * dataset of warehouse.bigquery (project: its projectId, else GOOGLE_CLOUD_PROJECT; the API at
 * ALMANAC_BIGQUERY_ENDPOINT when set, an emulator's).
 */
export async function openWarehouse(
  config: Pick<ProjectConfig, 'warehouse'>,
  duckDbPath: string,
  env: WarehouseEnv,
): Promise<Warehouse> {
  const w = config.warehouse;
  if (w.kind === 'duckdb' || !w.bigquery)
    return createDuckDbWarehouse({
      path: env.ALMANAC_WAREHOUSE_PATH ?? duckDbPath,
      readOnly: true,
      schemaTtlMs: w.schemaTtlMs,
    });
  const { bigquery, projectId } = bigQueryClient(w.bigquery, env);
  return createBigQueryWarehouse({
    bigquery,
    projectId,
    dataset: w.bigquery.dataset,
    location: w.bigquery.location,
    schemaTtlMs: w.schemaTtlMs,
  });
}

/**
 * The client of warehouse.bigquery: its projectId, else GOOGLE_CLOUD_PROJECT; the API at
 * ALMANAC_BIGQUERY_ENDPOINT when set.
 */
export function bigQueryClient(
  settings: NonNullable<ProjectConfig['warehouse']['bigquery']>,
  env: WarehouseEnv,
): { bigquery: BigQuery; projectId: string } {
  const projectId = settings.projectId ?? env.GOOGLE_CLOUD_PROJECT;
  if (!projectId)
    throw new WarehouseConfigError(
      'warehouse.kind is "bigquery" but no project is named: set warehouse.bigquery.projectId in almanac.config.ts or GOOGLE_CLOUD_PROJECT',
    );
  const bigquery = new BigQuery({
    projectId,
    location: settings.location,
    ...(env.ALMANAC_BIGQUERY_ENDPOINT && { apiEndpoint: env.ALMANAC_BIGQUERY_ENDPOINT }),
  });
  return { bigquery, projectId };
}
