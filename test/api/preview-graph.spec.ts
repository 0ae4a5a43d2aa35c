import type { DagGraph, ImpactPreview } from '@almanac/api';
import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { addDays } from '@almanac/kernel';
import { cli } from '../embedded/cli-harness';
import { D, D_1, Fixture, STANDARD_CONFIG } from '../embedded/fixture';
import { PREVIEW_FILES } from '../embedded/preview-fixture';

const VIEWER = 'viewer-token-0123456789';
const ENV = { ALMANAC_API_TOKENS: `dash:viewer:${VIEWER}` };
const D1 = addDays(D, 1);

// Given OrderTotals -> UserBand, DailyVolume -> VolumeBand and SignupInfo run for D-1, D and D+1
// (no orders on D+1: DailyVolume impossible, VolumeBand blocked), then a late order on D, served by
// `almanac serve`: the range preview and the graph over the api, for a viewer, appending nothing.
describe('POST /analyze over a range, GET /graph (embedded `almanac serve`)', () => {
  let f: Fixture;
  let api: ServedApi;

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${VIEWER}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // a text format
    }
    return { status: res.status, text, json, type: res.headers.get('content-type') ?? '' };
  }

  const logSize = async () => (await api.engine.store.readAll()).length;

  beforeAll(async () => {
    f = await Fixture.create({ files: PREVIEW_FILES, config: STANDARD_CONFIG });
    for (const date of [D_1, D, D1]) await f.run({ date });
    await f.sql(`INSERT INTO orders VALUES (7,'u2','${D}',4)`);
    f.writeConfigFile();
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  it('POST /analyze {from, to}: every cell and the summary by cause; the log does not grow', async () => {
    const before = await logSize();
    const r = await call('POST', '/analyze', { from: D_1, to: D1 });
    expect(r.status).toBe(200);
    const p = r.json as ImpactPreview;
    expect(p.dates).toBe(3);
    expect(p.totals).toEqual({ run: 3, maybe: 3, skip: 7, blocked: 1, impossible: 1 });
    expect(p.summary.map((g) => [g.kind, g.names])).toEqual([
      ['data', ['orders']],
      ['impossible', ['orders']],
      ['blocked', ['DailyVolume']],
      ['unchanged', []],
    ]);
    const data = p.summary[0];
    expect(data.cells).toEqual([
      { computation: 'DailyVolume', dates: [D] },
      // the window of D+1 (lookback 1) holds D too
      { computation: 'OrderTotals', dates: [D, D1] },
    ]);
    expect(data.dependants).toEqual([
      { computation: 'UserBand', dates: [D, D1] },
      { computation: 'VolumeBand', dates: [D] },
    ]);
    expect(await logSize()).toBe(before);
  });

  it('POST /analyze: a bad range is 400, an unknown computation 404, appending nothing', async () => {
    const before = await logSize();
    const backwards = await call('POST', '/analyze', { from: D, to: D_1 });
    expect(backwards.status).toBe(400);
    expect((backwards.json as { message: string }).message).toBe(
      `from (${D}) is after to (${D_1})`,
    );
    const decade = await call('POST', '/analyze', { from: '2016-01-01', to: D });
    expect(decade.status).toBe(400);
    expect((decade.json as { message: string }).message).toBe(
      `2016-01-01..${D} holds 3663 dates; a preview covers at most 3660: split the range`,
    );
    const half = await call('POST', '/analyze', { from: D });
    expect(half.status).toBe(400);
    expect((half.json as { message: string }).message).toContain('invalid preview request: to:');
    const mixed = await call('POST', '/analyze', { date: D, from: D, to: D });
    expect(mixed.status).toBe(400);
    const unknown = await call('POST', '/analyze', { from: D, to: D, targets: ['Nope'] });
    expect(unknown.status).toBe(404);
    expect((unknown.json as { message: string }).message).toContain('unknown computation "Nope"');
    expect(await logSize()).toBe(before);
  });

  it('GET /graph?format=mermaid: passes, edges, per-entity and global shapes, no marks without a range', async () => {
    const r = await call('GET', '/graph?format=mermaid');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain/);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines).toEqual(
      expect.arrayContaining([
        '  subgraph pass_0 ["pass 0"]',
        '    OrderTotals["OrderTotals<br/>per-entity"]',
        '    DailyVolume(["DailyVolume<br/>global"])',
        '  subgraph pass_1 ["pass 1"]',
        '  OrderTotals --> UserBand',
        '  DailyVolume --> VolumeBand',
      ]),
    );
    expect(lines.filter((l) => l.includes('-->'))).toHaveLength(2);
    expect(lines.filter((l) => l.trim().startsWith('class '))).toEqual([]);
  });

  it('GET /graph?format=mermaid&from&to: each node classed and counted as the preview says', async () => {
    const before = await logSize();
    const r = await call('GET', `/graph?format=mermaid&from=${D_1}&to=${D1}`);
    expect(r.status).toBe(200);
    const lines = r.text.split('\n');
    expect(lines.filter((l) => l.trim().startsWith('class ')).sort()).toEqual([
      '  class DailyVolume run',
      '  class OrderTotals run',
      '  class SignupInfo skip',
      '  class UserBand maybe',
      '  class VolumeBand maybe',
    ]);
    expect(lines).toContain(
      '    DailyVolume(["DailyVolume<br/>global<br/>runs on 1 of 3 dates, impossible on 1"])',
    );
    expect(lines).toContain(
      '    VolumeBand(["VolumeBand<br/>global<br/>runs on 0 of 3 dates, maybe on 1, blocked on 1"])',
    );
    expect(lines).toContain('  classDef run fill:#fdba74,stroke:#c2410c');
    expect(await logSize()).toBe(before);
  });

  it('GET /graph?format=dot: quoted edges, clusters per pass, a class and a colour per node', async () => {
    const r = await call('GET', `/graph?format=dot&from=${D_1}&to=${D1}`);
    expect(r.status).toBe(200);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('digraph almanac {');
    expect(lines.at(-1)).toBe('}');
    expect(lines).toEqual(
      expect.arrayContaining([
        '  "OrderTotals" -> "UserBand";',
        '  "DailyVolume" -> "VolumeBand";',
        '  subgraph cluster_pass_0 {',
        '  subgraph cluster_pass_1 {',
      ]),
    );
    const node = (name: string) => lines.find((l) => l.startsWith(`    "${name}" [`)) ?? '';
    expect(node('UserBand')).toContain('class="maybe"');
    expect(node('UserBand')).toContain('fillcolor="#fef08a"');
    expect(node('SignupInfo')).toContain('class="skip"');
    expect(node('DailyVolume')).toContain('shape=ellipse');
    expect(node('OrderTotals')).toContain(
      'label="OrderTotals\\nper-entity\\nruns on 2 of 3 dates"',
    );
  });

  it('GET /graph (json) and its bad queries', async () => {
    const r = await call('GET', '/graph');
    expect(r.status).toBe(200);
    const g = r.json as DagGraph;
    expect(g.passes).toEqual([
      ['DailyVolume', 'OrderTotals', 'SignupInfo'],
      ['UserBand', 'VolumeBand'],
    ]);
    expect(g.nodes.find((n) => n.name === 'UserBand')).toEqual({
      name: 'UserBand',
      pass: 1,
      type: 'per-entity',
      dependencies: ['OrderTotals'],
      marks: null,
    });
    expect((await call('GET', '/graph?format=png')).status).toBe(400);
    const half = await call('GET', `/graph?from=${D}`);
    expect(half.status).toBe(400);
    expect((half.json as { message: string }).message).toContain(
      'give both "from" and "to", or neither',
    );
  });

  it('the CLI goes through the server: analyze --from --to and graph print what the api answers', async () => {
    const analyze = await cli(['analyze', '--from', D_1, '--to', D1, '--project', f.dir]);
    expect(analyze.code).toBe(0);
    expect(analyze.stdout).toContain(
      `impact of runs from ${D_1} to ${D1} (3 dates): 3 run, 3 maybe, 7 skip, 1 blocked, 1 impossible`,
    );
    expect(analyze.stdout).toContain(
      `- impossible: DailyVolume on 1 date (${D1}): mandatory table \`orders\` has no rows in the window`,
    );
    const graph = await cli(['graph', '--format', 'mermaid', '--project', f.dir]);
    expect(graph.code).toBe(0);
    expect(graph.stdout).toContain('  OrderTotals --> UserBand');
    expect(graph.stdout).toBe(`${(await call('GET', '/graph?format=mermaid')).text}\n`);
  });
});
