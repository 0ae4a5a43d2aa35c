import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProjectConfig, type ProjectConfigInput } from '@almanac/platform';
import { REPO_ROOT } from './cluster';

export const BIGQUERY_PROJECT = 'almanac-test';

/**
 * A project folder whose almanac.config.ts is the example project's (its computations, tables
 * and sample generator, by absolute path) with the warehouse file in the folder and
 * `warehouse.kind` as given: `bigquery` reads the dataset `dataset` of BIGQUERY_PROJECT.
 */
export function writeSampleProject(
  dir: string,
  opts: {
    kind: 'duckdb' | 'bigquery';
    dataset?: string;
    storage?: { bucket: string };
    /** the dataset completed results are exported to (ADR 0026) */
    exportDataset?: string;
  },
): void {
  const base = loadProjectConfig(REPO_ROOT);
  const config: ProjectConfigInput = {
    epoch: base.epoch,
    computationsDir: join(REPO_ROOT, base.computationsDir),
    dataDir: '.almanac',
    warehouse: {
      kind: opts.kind,
      path: 'warehouse.duckdb',
      ...(opts.dataset && {
        bigquery: { projectId: BIGQUERY_PROJECT, dataset: opts.dataset },
      }),
    },
    ...(opts.storage && { storage: opts.storage }),
    ...(opts.exportDataset && { export: { bigquery: { dataset: opts.exportDataset } } }),
    tables: base.tables,
    entities: base.entities,
    execution: base.execution,
    settings: base.settings,
    sample: { ...base.sample!, module: join(REPO_ROOT, base.sample!.module) },
  };
  writeFileSync(
    join(dir, 'almanac.config.ts'),
    `export default ${JSON.stringify(config, null, 2)};\n`,
  );
}
