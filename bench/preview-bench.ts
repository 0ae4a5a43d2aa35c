/**
 * `npm run bench:preview`: the range impact preview (`almanac analyze --from --to`) over a year of
 * dates on the example DAG, beside the same year previewed one date at a time with the single-date
 * `analyze` (what a per-cell preview would cost). The last `--ran` dates are run first, so the
 * preview compares against recorded hash parts there and finds the rest never run.
 *
 *   npm run bench:preview -- [--users 1000] [--days 365] [--ran 7]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AlmanacQueries, analyze } from '@almanac/api';
import { EmbeddedEngine, embeddedQueries } from '@almanac/embedded';
import { addDays } from '@almanac/kernel';
import { loadProjectConfig, parseProjectConfig } from '@almanac/platform';
import type { Warehouse } from '@almanac/warehouse';
import { generateSampleData } from '../computations/sample-data/generate';

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** the warehouse with a count of the queries a preview makes */
function counting(w: Warehouse): { warehouse: Warehouse; queries: () => number } {
  let n = 0;
  const warehouse: Warehouse = {
    ...w,
    schemas: w.schemas,
    fingerprint: (...a) => (n++, w.fingerprint(...a)),
    fingerprintWindows: w.fingerprintWindows && ((...a) => (n++, w.fingerprintWindows!(...a))),
    listEntities: (...a) => (n++, w.listEntities(...a)),
    listEntitiesByDate: w.listEntitiesByDate && ((...a) => (n++, w.listEntitiesByDate!(...a))),
  };
  return { warehouse, queries: () => n };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '1000' },
      days: { type: 'string', default: '365' },
      ran: { type: 'string', default: '7' },
    },
  });
  const users = Number(values.users);
  const days = Number(values.days);
  const ran = Number(values.ran);
  const root = resolve(__dirname, '..');
  const base = loadProjectConfig(root);
  const to = '2026-11-30';
  const from = addDays(to, -(days - 1));
  const dir = mkdtempSync(join(tmpdir(), 'almanac-preview-bench-'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  try {
    log(`bench: ${users} users x ${days} days (${from}..${to}), ${ran} dates run, in ${dir}`);
    await generateSampleData({ path: join(dir, 'warehouse.duckdb'), users, days, endDate: to });
    const config = parseProjectConfig({
      ...base,
      warehouse: { path: join(dir, 'warehouse.duckdb') },
      dataDir: join(dir, 'engine'),
    });
    const engine = await EmbeddedEngine.open({ root, config });
    for (let i = ran - 1; i >= 0; i--) await engine.run({ date: addDays(to, -i) });
    const { queries: q, close } = embeddedQueries(engine);
    const force = { force: false, forceUpstream: false };

    const range = counting(engine.warehouse);
    const rangeQueries = new AlmanacQueries({ ...q.backend, warehouse: range.warehouse });
    let t = performance.now();
    const preview = await rangeQueries.previewRange(from, to, [], force);
    const rangeMs = performance.now() - t;

    const single = counting(engine.warehouse);
    await q.backend.projections.catchUp();
    const views = q.backend.projections.views;
    t = performance.now();
    let rows = 0;
    for (let d = from; d <= to; d = addDays(d, 1))
      rows += (await analyze(engine.project, config, single.warehouse, views, d)).length;
    const perDateMs = performance.now() - t;

    await close();
    await engine.close();
    const lines = [
      `cells: ${preview.cells.length} (${engine.project.manifest.entries.size} computations x ${preview.dates} dates): ${JSON.stringify(preview.totals)}`,
      `range preview:        ${s(rangeMs)}, ${range.queries()} warehouse queries`,
      `analyze per date:     ${s(perDateMs)}, ${single.queries()} warehouse queries (${rows} rows)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
