import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { almanacProcess, cli, waitFor, type CliResult } from './cli-harness';
import { computation, D, Fixture, STANDARD_CONFIG, STANDARD_FILES } from './fixture';

// Issue 9, item 2: one project, several clients. While `almanac serve` holds a project (its
// DuckDB files are open in that process), the CLI's commands go through it; without a server, a
// second CLI waits for the first one's lock, then says clearly what holds it.

/** Per-entity, as slow per entity as ALMANAC_TEST_SLOW_MS says in the process that runs it. */
const SLOW = computation({
  className: 'Slow',
  config: { name: 'Slow', type: 'per-entity' },
  body: `    await new Promise((r) => setTimeout(r, Number(process.env.ALMANAC_TEST_SLOW_MS ?? 0)));
    return { id: ctx.entityId };`,
});

type RunJson = {
  runId: string;
  status: string;
  process: string | null;
  computations: Record<string, { status: string; resultHash: string | null }>;
};
type StatusRowJson = {
  computation: string;
  status: string;
  runId: string | null;
  inProgress: { runId: string; status: string } | null;
};

const statusesOf = (run: RunJson) =>
  Object.fromEntries(Object.entries(run.computations).map(([n, c]) => [n, c.status]));
const hashesOf = (run: RunJson) =>
  Object.fromEntries(Object.entries(run.computations).map(([n, c]) => [n, c.resultHash]));

async function createProject(): Promise<Fixture> {
  const f = await Fixture.create({ files: { ...STANDARD_FILES, 'slow.ts': SLOW } });
  f.writeConfigFile();
  f.loadNewCode();
  return f;
}

const serverFile = (f: Fixture) => path.join(f.dir, f.config.dataDir, 'server.json');

describe('almanac serve holds the project: the CLI goes through it', () => {
  let f: Fixture;
  let server: ReturnType<typeof almanacProcess>;
  let url: string;
  let pid: number;
  let first: RunJson;
  /** what each read command printed locally, before the server started */
  const local: Record<string, { args: string[]; result: CliResult }> = {};

  beforeAll(async () => {
    f = await createProject();
    // a sample section, so that sample-data would generate (the module is never loaded)
    f.writeConfigFile({
      ...STANDARD_CONFIG,
      sample: { module: 'sample.js', date: D, users: 5, days: 2 },
    });
    const run = await cli(['run', '--date', D, '--json', '--project', f.dir]);
    expect(run.code).toBe(0);
    first = JSON.parse(run.stdout) as RunJson;
    const reads: Record<string, string[]> = {
      status: ['status'],
      'status --json': ['status', '--json'],
      audit: ['audit', '-c', 'UserBand', '--date', D],
      'audit --json': ['audit', '-c', 'UserBand', '--date', D, '--json'],
      replay: ['replay', '--run', first.runId],
      explain: ['explain', '-c', 'OrderTotals', '--date', D],
      'explain never run': ['explain', '-c', 'OrderTotals', '--date', '2026-01-11'],
      analyze: ['analyze', '--date', D, '--json'],
      'projections verify': ['projections', 'verify'],
    };
    for (const [name, args] of Object.entries(reads)) {
      const withProject = [...args, '--project', f.dir];
      local[name] = { args: withProject, result: await cli(withProject) };
      expect(local[name].result.code).toBe(0);
    }
    server = almanacProcess(['serve', '--port', '0', '--project', f.dir], {
      ALMANAC_TEST_SLOW_MS: '3000',
    });
    url = await waitFor(
      () => `almanac serve to listen (output so far: ${server.output()})`,
      60_000,
      () => /listening on (http:\/\/\S+)/.exec(server.output())?.[1] ?? null,
    );
    pid = server.child.pid!;
  }, 120_000);

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await f?.cleanup();
  });

  it('records where it listens in .almanac/server.json, readable by the user only, with no token when auth is off', () => {
    const file = serverFile(f);
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(recorded).toMatchObject({ url, pid, host: hostname() });
    // no auth configured: no token, the api takes requests from loopback as it always did
    expect(recorded.token).toBeUndefined();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('status, audit, replay, explain, analyze and projections verify print what they print locally', async () => {
    for (const [name, { args, result }] of Object.entries(local)) {
      const through = await cli(args);
      expect({ name, code: through.code, stdout: through.stdout }).toEqual({
        name,
        code: 0,
        stdout: result.stdout,
      });
    }
  });

  it('run goes through it and gives the result hashes of a local run', async () => {
    const r = await cli(['run', '--date', D, '--force', '--json', '--project', f.dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout) as RunJson;
    expect(run.runId).not.toBe(first.runId);
    expect(statusesOf(run)).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
      DailyVolume: 'completed',
      SignupInfo: 'completed',
      Slow: 'completed',
    });
    expect(hashesOf(run)).toEqual(hashesOf(first));
    // the server ran it: nothing names this process
    expect(run.process).toBeNull();
  }, 60_000);

  it('status answers within two seconds while a slow run goes, and shows it running', async () => {
    const res = await fetch(`${url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: D, targets: ['Slow'], force: true }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const timed = async (args: string[]) => {
      const t0 = Date.now();
      const r = await cli([...args, '--project', f.dir]);
      expect(r.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(2_000);
      return r;
    };
    const slowRow = await waitFor(
      () => `status to show Slow running in ${runId}`,
      10_000,
      async () => {
        const rows = JSON.parse((await timed(['status', '--json'])).stdout) as StatusRowJson[];
        const row = rows.find((x) => x.computation === 'Slow')!;
        return row.inProgress?.status === 'running' ? row : null;
      },
    );
    // the latest decision stays the previous run's; inProgress says what goes on now
    expect(slowRow).toMatchObject({
      status: 'completed',
      inProgress: { runId, status: 'running' },
    });
    const text = await timed(['status']);
    expect(text.stdout).toMatch(
      new RegExp(
        `^Slow +\\d+ +per-entity +running +${runId} +.* +in progress \\(latest: completed`,
        'm',
      ),
    );

    const done = await waitFor(
      () => `run ${runId} to end`,
      30_000,
      async () => {
        const run = (await (await fetch(`${url}/runs/${runId}`)).json()) as RunJson;
        return ['completed', 'failed'].includes(run.status) ? run : null;
      },
    );
    expect(done.status).toBe('completed');
    const after = JSON.parse((await timed(['status', '--json'])).stdout) as StatusRowJson[];
    expect(after.find((x) => x.computation === 'Slow')).toMatchObject({
      status: 'completed',
      runId,
      inProgress: null,
    });
  }, 60_000);

  it('a run prints the summary a local run prints, and says which server ran it', async () => {
    const r = await cli(['run', '--date', D, '--project', f.dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`running ${D} through almanac serve (pid ${pid}, ${url}) ...`);
    expect(r.stdout).toMatch(
      new RegExp(
        `^run \\S+ for ${D}: completed in \\S+\\ncomputation +pass +status +entities +duration +reason\\n`,
      ),
    );
    for (const name of ['OrderTotals', 'UserBand', 'DailyVolume', 'SignupInfo', 'Slow'])
      expect(r.stdout).toMatch(new RegExp(`^${name} +\\d +skipped +- +\\S+ +unchanged`, 'm'));
  }, 60_000);

  it('run refuses code the server has not loaded, naming what changed', async () => {
    f.edit('user-band.ts', "'high'", "'HIGH'");
    f.loadNewCode();
    try {
      const r = await cli(['run', '--date', D, '--project', f.dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `almanac run: UserBand changed since almanac serve (pid ${pid}, ${url}) loaded the computations: restart it to run the code on disk`,
      );
    } finally {
      f.edit('user-band.ts', "'HIGH'", "'high'");
      f.loadNewCode();
    }
  });

  it('sample-data and a second serve refuse, naming the server', async () => {
    const before = fs.statSync(f.warehousePath).mtimeMs;
    for (const args of [['sample-data'], ['serve', '--port', '0']]) {
      const r = await cli([...args, '--project', f.dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `almanac ${args[0]}: almanac serve (pid ${pid}, ${url}) holds this project`,
      );
      expect(r.stderr).not.toContain('IO Error');
    }
    expect(fs.statSync(f.warehousePath).mtimeMs).toBe(before);
  });

  it('once the server is killed, its file is stale (a dead pid): the CLI runs locally', async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    expect(fs.existsSync(serverFile(f))).toBe(true);
    const r = await cli(['run', '--date', D, '--json', '--project', f.dir]);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout) as RunJson;
    expect(run.process).toBe(`embedded@${hostname()}:${process.pid}`);
    expect(Object.values(statusesOf(run))).toEqual(Array(5).fill('skipped'));
  }, 60_000);
});

describe('almanac serve with api tokens configured', () => {
  const TOKEN = 'ops-token-0123456789abcdef';
  let f: Fixture;
  let api: ServedApi | undefined;
  afterEach(async () => {
    delete process.env.ALMANAC_API_TOKEN;
    await api?.close();
    await f.cleanup();
  });

  it('the CLI calls it with the per-start token of the server file, or ALMANAC_API_TOKEN; the file goes on shutdown', async () => {
    f = await createProject();
    api = await serveEmbedded({
      root: f.dir,
      config: f.config,
      port: 0,
      env: { ALMANAC_API_TOKENS: `ops:operator:${TOKEN}` },
    });
    const file = serverFile(f);
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as { token: string };
    expect(recorded).toMatchObject({ url: api.url, pid: process.pid, token: expect.any(String) });
    expect(recorded.token).not.toBe(TOKEN);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await fetch(`${api.url}/status.json`)).status).toBe(401);

    const viaFile = await cli(['run', '--date', D, '--json', '--project', f.dir]);
    expect(viaFile.code).toBe(0);
    expect((JSON.parse(viaFile.stdout) as RunJson).status).toBe('completed');

    process.env.ALMANAC_API_TOKEN = 'not-a-token-of-this-server';
    const refused = await cli(['status', '--project', f.dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `almanac status: almanac serve (pid ${process.pid}, ${api.url}) refused the request: 401 unknown api token`,
    );
    process.env.ALMANAC_API_TOKEN = TOKEN;
    expect((await cli(['status', '--project', f.dir])).code).toBe(0);

    await api.close();
    api = undefined;
    expect(fs.existsSync(file)).toBe(false);
  }, 60_000);
});

describe('two CLIs on one project, no server', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('the second waits for the lock naming the pid that holds it, fails clearly after --wait-lock, or goes on once it is free', async () => {
    f = await createProject();
    const holder = almanacProcess(
      ['run', '--date', D, '--computation', 'Slow', '--project', f.dir],
      { ALMANAC_TEST_SLOW_MS: '4000' },
    );
    try {
      await waitFor(
        () => `the first run to start (output so far: ${holder.output()})`,
        60_000,
        () => holder.output().includes(`running ${D}`),
      );
      const t0 = Date.now();
      const timedOut = await cli(['status', '--wait-lock', '1s', '--project', f.dir]);
      expect(timedOut.code).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
      expect(timedOut.stderr).toContain(
        `almanac status: waiting for the project lock held by pid ${holder.child.pid}`,
      );
      expect(timedOut.stderr).toContain(
        `almanac status: the project is still locked by pid ${holder.child.pid} after 1s`,
      );
      expect(timedOut.stderr).not.toContain('IO Error');

      const waited = await cli(['status', '--wait-lock', '60s', '--project', f.dir]);
      expect(waited.stderr).toContain(
        `waiting for the project lock held by pid ${holder.child.pid}`,
      );
      expect(waited.code).toBe(0);
      const runId = /^run (\S+) for /m.exec(holder.output())![1];
      expect(waited.stdout).toMatch(
        new RegExp(`^Slow +\\d+ +per-entity +completed +${runId} `, 'm'),
      );
    } finally {
      if (holder.child.exitCode === null) holder.child.kill('SIGKILL');
      await holder.exited;
    }
  }, 120_000);
});
