// npm run bench [-- --users N --repeat N]: the example DAG at 100k entities on the embedded profile, beside
// a bare loop doing the same reads, process() calls and writes, plus the no-op re-run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedEngine } from '@almanac/embedded';
import { loadProjectConfig, parseProjectConfig, type ProjectConfig } from '@almanac/platform';
import { createDuckDbResultStore, createDuckDbWarehouse } from '@almanac/warehouse';
import { generateSampleData } from '../computations/sample-data/generate';
import { bareLoop } from './bare-loop';

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      days: { type: 'string', default: '14' },
      repeat: { type: 'string', default: '1' },
      keep: { type: 'boolean' },
    },
  });
  const users = Number(values.users);
  const days = Number(values.days);
  const repeat = Math.max(1, Number(values.repeat));
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
      ...base,
      warehouse: { path: join(dir, 'warehouse.duckdb') },
      dataDir: join(dir, 'engine'),
    });

    const rounds: Array<{ fullMs: number; noopMs: number; bareMs: number }> = [];
    let summary = '';
    let comparable = true;
    for (let round = 1; round <= repeat; round++) {
      // each round starts from an empty log and empty result stores
      const roundConfig = parseProjectConfig({ ...config, dataDir: join(dir, `engine-${round}`) });
      const engine = await EmbeddedEngine.open({ root, config: roundConfig });
      t = performance.now();
      const full = await engine.run({ date, requestedBy: 'bench' });
      const fullMs = performance.now() - t;
      const processCalls = Object.values(full.computations).reduce((n, c) => n + c.processed, 0);
      const saved = Object.values(full.computations).reduce((n, c) => n + c.saved, 0);
      t = performance.now();
      const noop = await engine.run({ date, requestedBy: 'bench' });
      const noopMs = performance.now() - t;
      const skipped = Object.values(noop.computations).filter((c) => c.status === 'skipped').length;
      await engine.close();

      const warehouse = await createDuckDbWarehouse({ path: join(dir, 'warehouse.duckdb') });
      const results = await createDuckDbResultStore({
        path: join(dir, `bare-results-${round}.duckdb`),
      });
      const bare = await bareLoop(
        engine.project.manifest,
        config,
        warehouse,
        results,
        date,
        'bare',
      );
      await Promise.all([warehouse.close(), results.close()]);

      rounds.push({ fullMs, noopMs, bareMs: bare.ms });
      log(
        `round ${round}: engine ${s(fullMs)}, bare ${s(bare.ms)}, ratio ${(fullMs / bare.ms).toFixed(2)}x, no-op ${s(noopMs)}`,
      );
      summary = `entities: ${users} users, ${engine.project.manifest.entries.size} computations, ${processCalls} process() calls, ${saved} results written`;
      if (
        full.status !== 'completed' ||
        skipped !== Object.keys(noop.computations).length ||
        bare.processCalls !== processCalls ||
        bare.saved !== saved
      ) {
        comparable = false;
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const ratios = rounds.map((r) => r.fullMs / r.bareMs);
    const noops = rounds.map((r) => (100 * r.noopMs) / r.fullMs);
    const lines = [
      summary,
      `engine full run:  ${s(median(rounds.map((r) => r.fullMs)))}${repeat > 1 ? ` (median of ${repeat})` : ''}`,
      `bare loop:        ${s(median(rounds.map((r) => r.bareMs)))}`,
      `ratio engine/bare: ${median(ratios).toFixed(2)}x (target <= 1.3x)${repeat > 1 ? ` [rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')}]` : ''}`,
      `no-op re-run:     ${s(median(rounds.map((r) => r.noopMs)))} = ${median(noops).toFixed(1)} % of the full run (target <= 5 %)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!comparable) {
      process.stderr.write(
        'bench: the runs did not do the same work; the figures above are not comparable\n',
      );
      process.exitCode = 1;
    }
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
