// npm run bench [-- --users N]: the example DAG at 100k entities on the embedded profile, beside
// a bare loop doing the same reads, process() calls and writes, plus the no-op re-run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  EmbeddedEngine,
  loadProjectConfig,
  parseProjectConfig,
  type ProjectConfig,
} from '@almanac/runtime';
import { createDuckDbResultStore, createDuckDbWarehouse } from '@almanac/warehouse';
import { generateSampleData } from '../computations/sample-data/generate';
import { bareLoop } from './bare-loop';

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      days: { type: 'string', default: '14' },
      keep: { type: 'boolean' },
    },
  });
  const users = Number(values.users);
  const days = Number(values.days);
  const root = resolve(__dirname, '..');
  const base = loadProjectConfig(root);
  const date = base.sample?.date ?? '2026-01-15';
  const dir = mkdtempSync(join(tmpdir(), 'almanac-bench-'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  try {
    log(`bench: ${users} users x ${days} days, date ${date}, in ${dir}`);
    let t = performance.now();
    const sample = await generateSampleData({
      path: join(dir, 'warehouse.duckdb'),
      users,
      days,
      endDate: date,
    });
    log(`sample data: ${JSON.stringify(sample.tables)} in ${s(performance.now() - t)}`);

    const config: ProjectConfig = parseProjectConfig({
      ...stripDefaults(base),
      warehouse: { path: join(dir, 'warehouse.duckdb') },
      dataDir: join(dir, 'engine'),
    });

    const engine = await EmbeddedEngine.open({ root, config });
    t = performance.now();
    const full = await engine.run({ date, requestedBy: 'bench' });
    const fullMs = performance.now() - t;
    const statuses = Object.values(full.computations)
      .map((c) => `${c.name}=${c.status}`)
      .join(' ');
    const processCalls = Object.values(full.computations).reduce((n, c) => n + c.processed, 0);
    const saved = Object.values(full.computations).reduce((n, c) => n + c.saved, 0);
    log(`engine full run: ${s(fullMs)} (${statuses})`);
    t = performance.now();
    const noop = await engine.run({ date, requestedBy: 'bench' });
    const noopMs = performance.now() - t;
    const skipped = Object.values(noop.computations).filter((c) => c.status === 'skipped').length;
    await engine.close();

    const warehouse = await createDuckDbWarehouse({ path: join(dir, 'warehouse.duckdb') });
    const results = await createDuckDbResultStore({ path: join(dir, 'bare-results.duckdb') });
    const bare = await bareLoop(engine.project.manifest, config, warehouse, results, date, 'bare');
    await Promise.all([warehouse.close(), results.close()]);

    const lines = [
      `entities: ${users} users, ${engine.project.manifest.entries.size} computations, ${processCalls} process() calls, ${saved} results written`,
      `engine full run:  ${s(fullMs)}`,
      `bare loop:        ${s(bare.ms)} (${bare.processCalls} process() calls, ${bare.saved} results written)`,
      `ratio engine/bare: ${(fullMs / bare.ms).toFixed(2)}x (target <= 1.3x)`,
      `no-op re-run:     ${s(noopMs)} = ${((100 * noopMs) / fullMs).toFixed(1)} % of the full run (target <= 5 %), ${skipped}/${Object.keys(noop.computations).length} skipped`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (
      full.status !== 'completed' ||
      skipped !== Object.keys(noop.computations).length ||
      bare.processCalls !== processCalls
    ) {
      process.stderr.write(
        'bench: the runs did not do the same work; the figures above are not comparable\n',
      );
      process.exitCode = 1;
    }
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** The parsed config minus the fields parseProjectConfig fills in again. */
function stripDefaults(c: ProjectConfig): Record<string, unknown> {
  return { ...c };
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
