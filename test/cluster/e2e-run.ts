import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunView } from '@almanac/domain/projections';
import { EmbeddedEngine } from '@almanac/embedded';
import { loadProjectConfig, parseProjectConfig } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { REPO_ROOT } from './cluster';

export const E2E_DATE = '2026-01-15';

/** computation -> result hash: equal hashes mean exactly the same stored results */
export const resultHashes = (run: RunView): Record<string, string | null> =>
  Object.fromEntries(Object.values(run.computations).map((c) => [c.name, c.resultHash]));

/**
 * A temporary folder with a sample warehouse, and the result hashes of an undisturbed run of it
 * through the embedded profile: what every distributed run must reproduce.
 */
export async function sampleWithBaseline(
  prefix: string,
  users: number,
): Promise<{ dir: string; warehouse: string; baseline: Record<string, string | null> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const warehouse = join(dir, 'warehouse.duckdb');
  await generateSampleData({ path: warehouse, users, days: 3, endDate: E2E_DATE });
  const config = parseProjectConfig({
    ...loadProjectConfig(REPO_ROOT),
    warehouse: { path: warehouse },
    dataDir: join(dir, 'embedded'),
  });
  const engine = await EmbeddedEngine.open({ root: REPO_ROOT, config });
  try {
    return { dir, warehouse, baseline: resultHashes(await engine.run({ date: E2E_DATE })) };
  } finally {
    await engine.close();
  }
}

/** POST /runs: the run id (throws with the answer when it is not 202) */
export async function requestRun(apiUrl: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${apiUrl}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST /runs: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { runId: string }).runId;
}

export const isOver = (run: RunView | null): boolean =>
  run !== null && ['completed', 'failed', 'rejected', 'abandoned'].includes(run.status);

export async function getRun(apiUrl: string, runId: string): Promise<RunView | null> {
  const res = await fetch(`${apiUrl}/runs/${runId}`);
  return res.status === 200 ? ((await res.json()) as RunView) : null;
}

/** Polls GET /runs/:id until the run is over; the error says where each computation stood. */
export async function waitForRun(
  apiUrl: string,
  runId: string,
  timeoutMs: number,
): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  let last: RunView | null = null;
  while (Date.now() < deadline) {
    last = await getRun(apiUrl, runId).catch(() => last);
    if (last && isOver(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  const where = last
    ? Object.values(last.computations).map(
        (c) =>
          `${c.name}: ${c.status} attempt ${c.attempt} owner ${c.owner} batches ${Object.keys(c.batchesDone).length}/${c.batchCount}`,
      )
    : ['(no answer)'];
  throw new Error(`run ${runId} did not finish within ${timeoutMs} ms; ${where.join('; ')}`);
}
