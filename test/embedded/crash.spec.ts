import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Envelope } from '@almanac/contracts';
import { openSqliteEventStoreReadOnly } from '@almanac/eventlog';
import { computation, D, Fixture, STANDARD_CONFIG, statuses } from './fixture';

const REPO = path.resolve(__dirname, '..', '..');
const USERS = Array.from({ length: 40 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);

/** Per-entity, slow enough to be killed in the middle: 150 ms per entity, one entity per batch. */
const slowScores = (version: number) =>
  computation({
    className: 'Scores',
    config: { name: 'Scores', type: 'per-entity' },
    body: `    await new Promise((r) => setTimeout(r, 150));
    return { id: ctx.entityId, version: ${version} };`,
  });

const CONFIG = {
  ...STANDARD_CONFIG,
  execution: { batchSize: 1, maxInFlight: 2, workerConcurrency: 2, breaker: { retries: 0 } },
};

function almanac(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [path.join(REPO, 'bin', 'almanac'), ...args], {
    cwd,
    env: { ...process.env, ALMANAC_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Issue 8: a `kill -9` of `almanac run` leaves no run `running` forever, and readers never see a
// mix of the dead run's results and the previous ones.
describe('embedded engine: almanac run killed with SIGKILL', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('the next start shows the dead run abandoned and readers keep the previous results whole', async () => {
    f = await Fixture.create({
      files: { 'scores.ts': slowScores(1) },
      data: [
        'CREATE TABLE users (user_id VARCHAR, signup_date DATE)',
        'CREATE TABLE orders (user_id VARCHAR, order_date DATE, amount DOUBLE)',
        `INSERT INTO users VALUES ${USERS.map((u) => `('${u}', DATE '2026-01-01')`).join(', ')}`,
      ],
      config: CONFIG,
    });
    f.writeConfigFile(CONFIG);
    const first = await f.run({ date: D });
    expect(first.computations.Scores.status).toBe('completed');
    const before = await f.results('Scores', D, USERS);
    expect(Object.keys(before)).toHaveLength(40);

    // new code: a forced run rewrites every result; kill it once some batches are written
    f.write('scores.ts', slowScores(2));
    const child = almanac(['run', '--date', D, '--force', '--project', f.dir], f.dir);
    let output = '';
    child.stdout!.on('data', (b) => (output += String(b)));
    child.stderr!.on('data', (b) => (output += String(b)));
    const log = openSqliteEventStoreReadOnly(path.join(f.dir, f.config.dataDir, 'events.sqlite'));
    let runId = '';
    try {
      await waitFor(
        `5 answered batches of the killed run (output so far: ${output})`,
        60_000,
        async () => {
          const events: Envelope[] = await log.readAll();
          const started = events.find(
            (e) => e.type === 'ComputationStarted' && e.payload.runId !== first.runId,
          );
          if (!started) return null;
          runId = started.correlationId;
          return events.filter((e) => e.type === 'BatchDone' && e.correlationId === runId).length >=
            5
            ? true
            : null;
        },
      );
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await log.close();
    }

    // readers, before anyone restarts anything: still the first run's results, all of them
    const engine = await f.open();
    try {
      const dead = await engine.runView(runId);
      expect(dead.status).toBe('abandoned');
      expect(dead.computations.Scores.status).toBe('failed');
      expect(dead.computations.Scores.reason?.code).toBe('abandoned');
      expect(Object.fromEntries(await engine.readResults('Scores', D, USERS))).toEqual(before);
    } finally {
      await f.close();
    }

    // and the next run does the work: every result of the new code, none of the old
    const next = await f.run({ date: D });
    expect(statuses(next)).toMatchObject({ Scores: 'completed' });
    const after = await f.results('Scores', D, USERS);
    expect(Object.values(after).map((r) => (r as { version: number }).version)).toEqual(
      USERS.map(() => 2),
    );
  }, 120_000);
});
