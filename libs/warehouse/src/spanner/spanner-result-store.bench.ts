/**
 * Spanner result store on the emulator: 100 writes of 1,000 rows into one version, the reads a
 * worker does, a copy forward of that version and the gc of it.
 * Run: npx tsx libs/warehouse/src/spanner/spanner-result-store.bench.ts
 */
import { Spanner } from '@google-cloud/spanner';
// the emulator harness lives in test/, which is not an Nx project (no alias to import it by)
import { emulatorEnv, startSpannerEmulator } from '@almanac/emulators';
import { SPANNER_RESULTS_DDL } from './results.ddl';
import { createSpannerResultStore } from './spanner-result-store';

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  console.log(`${label}: ${(performance.now() - t).toFixed(0)} ms`);
  return out;
}

async function main() {
  const emulator = await startSpannerEmulator();
  Object.assign(process.env, emulatorEnv({ spanner: emulator.host }));
  const spanner = new Spanner({ projectId: 'almanac-bench' });
  try {
    const [instance, op] = await spanner.createInstance('bench', {
      config: 'emulator-config',
      nodes: 1,
    });
    await op.promise();
    const [database, dbOp] = await instance.createDatabase('results', {
      schema: [...SPANNER_RESULTS_DDL],
    });
    await dbOp.promise();
    const store = createSpannerResultStore(database);
    const batches = 100;
    const size = 1000;
    const rows = (b: number) =>
      Array.from({ length: size }, (_, i) => ({
        entityId: `u${b * size + i}`,
        result: { total: i * 1.5, n: i, tags: ['a', 'b'] },
        resultHash: 'f'.repeat(64),
      }));
    await store.write('Warmup', '2024-01-07', 'v0', 'run-0', rows(0));
    const perBatch: number[] = [];
    await timed(`${batches} writes of ${size} rows (sequential)`, async () => {
      for (let b = 0; b < batches; b++) {
        const t = performance.now();
        await store.write('C', '2024-01-07', 'v1', 'run-1', rows(b));
        perBatch.push(performance.now() - t);
      }
    });
    perBatch.sort((a, b) => a - b);
    console.log(
      `per write: p50 ${perBatch[50].toFixed(0)} ms, p95 ${perBatch[95].toFixed(0)} ms, ` +
        `max ${perBatch[99].toFixed(0)} ms`,
    );
    const ids = rows(42).map((r) => r.entityId);
    await timed('read of 1,000 entities (first)', () => store.read('C', '2024-01-07', 'v1', ids));
    await timed('read of 1,000 entities (again)', () => store.read('C', '2024-01-07', 'v1', ids));
    await timed('count of 100,000', () => store.count('C', '2024-01-07', 'v1'));
    const h = await timed('hashes of 100,000', () => store.hashes('C', '2024-01-07', 'v1'));
    console.log(`hashes: ${h.length}`);
    // a run restricted to 1,000 entities: its version is v1 with those replaced
    await store.write('C', '2024-01-07', 'v2', 'run-2', rows(0));
    const copied = await timed('copyForward of 99,000 rows', () =>
      store.copyForward('C', '2024-01-07', 'v1', 'v2', []),
    );
    console.log(`copied: ${copied}`);
    const removed = await timed('gc of a version of 100,000 rows', () =>
      store.gc('C', '2024-01-07', ['v2'], Date.now() + 1_000),
    );
    console.log(`versions removed: ${removed}`);
    await database.close();
  } finally {
    await spanner.close();
    await emulator.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
