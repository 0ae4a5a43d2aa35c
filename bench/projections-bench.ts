/**
 * `npm run bench:projections`: what a checkpoint saves the api and the CLI. Builds a SQLite log of
 * N runs (7 events each), then measures, side by side in one process: a full fold of the api's
 * views, saving a checkpoint, starting from the checkpoint with nothing new, catching up one run,
 * and verify (a second full fold plus a comparison).
 *
 *   npm run bench:projections -- [--runs 20000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@almanac/eventlog';
import { CheckpointedProjections } from '@almanac/domain/projections';
import {
  projections,
  runEvents,
  type Views,
} from '../libs/eventlog/src/checkpoints/checkpointed-projections.scenarios';

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - t0) / 1e6];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '20000' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs <= 0) throw new Error(`--runs must be a positive integer`);
  const dir = mkdtempSync(join(tmpdir(), 'almanac-projections-bench-'));
  const store = createSqliteEventStore(join(dir, 'events.sqlite'));
  const checkpointsPath = join(dir, 'projections.sqlite');
  const checkpoints = createSqliteCheckpointStore(checkpointsPath);
  try {
    process.stderr.write(`writing ${runs} runs (${runs * 7} events) ...\n`);
    for (let r = 0; r < runs; r++) {
      const events = runEvents(`r${String(r).padStart(6, '0')}`, r * 7);
      const byStream = new Map<string, typeof events>();
      for (const e of events) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
      for (const [streamId, list] of byStream) await store.append(streamId, list);
    }
    const total = (await store.readAll({ limit: 1e9 })).length;

    const cold = new CheckpointedProjections<Views>(store, projections, checkpoints, {
      saveEveryEvents: 1e9,
    });
    // the first catch-up: a full fold, then one save
    const [, firstMs] = await timed(() => cold.catchUp());
    const [, rebuildMs] = await timed(() => cold.rebuild());
    const foldMs = rebuildMs; // rebuild = fold from scratch + save
    const checkpointBytes = statSync(checkpointsPath).size;

    const warm = new CheckpointedProjections<Views>(store, projections, checkpoints);
    const [, restoreMs] = await timed(() => warm.catchUp());

    for (const e of runEvents('new-run', runs * 7 + 1)) await store.append(e.streamId, [e]);
    const [, oneRunMs] = await timed(() => warm.catchUp());
    const [report, verifyMs] = await timed(() => warm.verify());

    const lines = [
      `log: ${runs} runs, ${total} events (SQLite); checkpoint file ${(checkpointBytes / 1e6).toFixed(1)} MB`,
      `first start, no checkpoint (full fold + save): ${firstMs.toFixed(0)} ms`,
      `rebuild (full fold + save):                    ${foldMs.toFixed(0)} ms`,
      `start from the checkpoint, nothing new:        ${restoreMs.toFixed(0)} ms  (${(restoreMs / firstMs).toFixed(2)}x of the first start)`,
      `catch up one run (7 events) + save:            ${oneRunMs.toFixed(0)} ms`,
      `verify (full fold + compare):                  ${verifyMs.toFixed(0)} ms, equal=${report.equal}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!report.equal) process.exitCode = 1;
  } finally {
    await checkpoints.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
