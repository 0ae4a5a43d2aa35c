import { GLOBAL_ENTITY } from '@almanac/contracts';
import {
  previousDate,
  windowFor,
  type ComputationContext,
  type Manifest,
  type Row,
} from '@almanac/kernel';
import type { ProjectConfig } from '@almanac/platform';
import type { ResultStore, Warehouse } from '@almanac/warehouse';

interface BareLoopStats {
  processCalls: number;
  saved: number;
  ms: number;
}

/**
 * The floor the engine is measured against: the same reads (one query per table and batch,
 * dependency and previous results per batch), the same process() calls and the same writes,
 * with the same batch size and concurrency (one pool of workerConcurrency lanes over each pass's
 * batches, like the engine's worker), but no events, no hashes, no skipping, no bus.
 */
export async function bareLoop(
  manifest: Manifest,
  config: ProjectConfig,
  warehouse: Warehouse,
  results: ResultStore,
  date: string,
  runId: string,
): Promise<BareLoopStats> {
  const t0 = performance.now();
  const stats = { processCalls: 0, saved: 0, ms: 0 };
  const { table, idField, dateField } = config.entities;
  const users = await warehouse.listEntities(table, idField, date, dateField);
  const runBatch = async (name: string, batch: string[]) => {
    const entry = manifest.entries.get(name)!;
    const global = entry.config.type === 'global';
    const data = await Promise.all(
      Object.entries(entry.config.requires).map(async ([t, req]) => {
        const base = config.tables[t];
        const settings = req.dateField ? { ...base, dateField: req.dateField } : base;
        const w = windowFor(date, req.lookback);
        return [
          t,
          global
            ? await warehouse.fetchWindow(t, settings, w)
            : await warehouse.fetchForEntities(t, settings, w, batch),
        ] as const;
      }),
    );
    const deps = new Map(
      await Promise.all(
        entry.config.dependencies.map(
          async (d) => [d, await results.read(d, date, runId, [...batch, GLOBAL_ENTITY])] as const,
        ),
      ),
    );
    const prev = entry.config.isHistorical
      ? await results.read(name, previousDate(date), runId, batch)
      : null;
    const instance = new entry.ctor();
    const rows: Array<{ entityId: string; result: unknown; resultHash: string }> = [];
    let i = 0;
    const run = async () => {
      while (i < batch.length) {
        const id = batch[i++];
        const d: Record<string, Row[]> = {};
        for (const [t, r] of data)
          d[t] = Array.isArray(r) ? r : ((r as Map<string, Row[]>).get(id) ?? []);
        const ctx: ComputationContext = {
          date,
          entityId: id,
          data: d,
          previousResult: prev?.get(id) ?? null,
          config: config.settings,
          references: config.references,
          rules: config.rules,
          getDependency: (n: string, e?: string) => (deps.get(n)?.get(e ?? id) ?? null) as never,
        };
        stats.processCalls++;
        try {
          const r = await instance.process(ctx);
          if (r !== null && r !== undefined) rows.push({ entityId: id, result: r, resultHash: '' });
        } catch {
          // the bare loop just drops failures
        }
      }
    };
    await Promise.all(Array.from({ length: config.execution.entityConcurrency }, run));
    // one version per bare run, as the engine writes one per run (no copy, no hash, no GC)
    if (rows.length) await results.write(name, date, runId, runId, rows);
    stats.saved += rows.length;
  };
  const passes = new Map<number, string[]>();
  for (const e of manifest.entries.values())
    passes.set(e.pass, [...(passes.get(e.pass) ?? []), e.name]);
  for (const pass of [...passes.keys()].sort((a, b) => a - b)) {
    // every batch of the pass, taken by workerConcurrency lanes: the engine's worker pool
    const tasks: Array<{ name: string; batch: string[] }> = [];
    for (const name of passes.get(pass)!) {
      const global = manifest.entries.get(name)!.config.type === 'global';
      const ids = global ? [GLOBAL_ENTITY] : users;
      for (let i = 0; i < ids.length; i += config.execution.batchSize) {
        tasks.push({ name, batch: ids.slice(i, i + config.execution.batchSize) });
      }
    }
    let next = 0;
    const lane = async () => {
      while (next < tasks.length) {
        const { name, batch } = tasks[next++];
        await runBatch(name, batch);
      }
    };
    await Promise.all(Array.from({ length: config.execution.workerConcurrency }, lane));
  }
  stats.ms = performance.now() - t0;
  return stats;
}
