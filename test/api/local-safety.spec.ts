import { request, type IncomingHttpHeaders } from 'node:http';
import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { D, Fixture } from '../embedded/fixture';

// Issue 9, item 1: with no tokens (the default on loopback) a web page must not be able to make a
// browser request runs (a form post: CSRF), nor read or drive the api under a name of its own
// that resolves to 127.0.0.1 (DNS rebinding). Requests are sent with node:http so that Host and
// Origin are exactly what a browser would send.

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  text: string;
}

function send(
  url: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const { hostname, port } = new URL(url);
  const length = opts.body === undefined ? {} : { 'content-length': Buffer.byteLength(opts.body) };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method, path, headers: { ...length, ...opts.headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON (the status page)
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };
const BOUNDARY = '----almanacFormBoundary';

/** What an HTML form on any site can send without a CORS preflight. */
function formBodies(fields: Record<string, string>): Array<[string, string]> {
  const multipart =
    Object.entries(fields)
      .map(
        ([k, v]) => `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
      )
      .join('') + `--${BOUNDARY}--\r\n`;
  return [
    ['application/x-www-form-urlencoded', new URLSearchParams(fields).toString()],
    [`multipart/form-data; boundary=${BOUNDARY}`, multipart],
    // enctype="text/plain" with one field named '{"date":"…","force":true,"x":"' and value '"}'
    ['text/plain', JSON.stringify({ ...fields, force: true })],
  ];
}

const FORM_POSTS: Array<[string, string, string]> = [
  ...formBodies({ date: D }).map(([type, body]): [string, string, string] => ['/runs', type, body]),
  ...formBodies({ action: 'run', date: D }).map(([type, body]): [string, string, string] => [
    '/',
    type,
    body,
  ]),
];

async function waitForRun(url: string, runId: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const r = await send(url, 'GET', `/runs/${runId}`);
    if (r.status === 200 && ['completed', 'failed', 'rejected'].includes(String(r.body.status)))
      return String(r.body.status);
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${runId} did not finish`);
}

/** Everything Nest's logger and express write while fn runs. */
async function captureOutput(fn: () => Promise<void>): Promise<string> {
  let written = '';
  const capture = (chunk: string | Uint8Array) => {
    written += String(chunk);
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written;
}

describe('the local api with no tokens (`almanac serve` on 127.0.0.1)', () => {
  let f: Fixture;
  let api: ServedApi;
  let port: string;
  const logSize = async () => (await api.engine.store.readAll()).length;

  beforeAll(async () => {
    f = await Fixture.create();
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: {} });
    port = new URL(api.url).port;
  });
  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  describe('mutating routes take JSON only', () => {
    it.each(FORM_POSTS)(
      'given a form post to POST %s as %s, when it arrives, then 415 names the type received and the one expected, and nothing is appended',
      async (path, type, body) => {
        const before = await logSize();

        const res = await send(api.url, 'POST', path, { headers: { 'content-type': type }, body });

        expect(res.status).toBe(415);
        expect(res.body).toMatchObject({
          statusCode: 415,
          received: type.split(';')[0],
          expected: 'application/json',
        });
        expect(String(res.body.message)).toContain(`"${type.split(';')[0]}"`);
        expect(String(res.body.message)).toContain('application/json');
        expect(await logSize()).toBe(before);
      },
    );

    it('given a body without a content type, when posted to /runs, then 415 says none was sent', async () => {
      const before = await logSize();

      const res = await send(api.url, 'POST', '/runs', { body: JSON.stringify({ date: D }) });

      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ received: null, expected: 'application/json' });
      expect(String(res.body.message)).toContain('no content-type');
      expect(await logSize()).toBe(before);
    });

    it('given a +json media type, when POST /analyze, then it is parsed as JSON', async () => {
      const res = await send(api.url, 'POST', '/analyze', {
        headers: { 'content-type': 'application/vnd.almanac+json; charset=utf-8' },
        body: JSON.stringify({ date: D }),
      });

      expect(res.status).toBe(200);
      expect(res.body.date).toBe(D);
    });

    it('given a POST with no body and no content type (curl -X POST), when /projections/rebuild, then 200', async () => {
      const res = await send(api.url, 'POST', '/projections/rebuild');

      expect(res.status).toBe(200);
      expect(res.body.events).toBe(await logSize());
    });
  });

  describe('Origin', () => {
    it.each([
      ['/runs', { date: D }],
      ['/', { action: 'run', date: D }],
    ])(
      'given a JSON post to %s from a foreign Origin, when it arrives, then 403 names the origin, and nothing is appended',
      async (path, body) => {
        const before = await logSize();

        const res = await send(api.url, 'POST', path, {
          headers: { ...JSON_TYPE, origin: 'https://evil.example' },
          body: JSON.stringify(body),
        });

        expect(res.status).toBe(403);
        expect(String(res.body.message)).toContain('"https://evil.example"');
        expect(String(res.body.message)).toContain('ALMANAC_ALLOWED_ORIGINS');
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(await logSize()).toBe(before);
      },
    );

    it('given Origin: null (a sandboxed frame, a file), when posting, then 403 and nothing is appended', async () => {
      const before = await logSize();

      const res = await send(api.url, 'POST', '/runs', {
        headers: { ...JSON_TYPE, origin: 'null' },
        body: JSON.stringify({ date: D }),
      });

      expect(res.status).toBe(403);
      expect(await logSize()).toBe(before);
    });

    it("given the api's own origin, when posting JSON to /runs, then 202 and the run completes", async () => {
      const res = await send(api.url, 'POST', '/runs', {
        headers: { ...JSON_TYPE, host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` },
        body: JSON.stringify({ date: D }),
      });

      expect(res.status).toBe(202);
      expect(await waitForRun(api.url, String(res.body.runId))).toBe('completed');
    });

    it('given no Origin (curl, the CLI, scripts), when posting JSON to /runs and /, then they are accepted', async () => {
      const runs = await send(api.url, 'POST', '/runs', {
        headers: JSON_TYPE,
        body: JSON.stringify({ date: D, targets: ['OrderTotals'], force: true }),
      });
      const seed = await send(api.url, 'POST', '/', {
        headers: JSON_TYPE,
        body: JSON.stringify({ action: 'status', date: D }),
      });

      expect(runs.status).toBe(202);
      expect(await waitForRun(api.url, String(runs.body.runId))).toBe('completed');
      expect(seed.status).toBe(200);
    });

    it('given localhost as Host and Origin, when POST /analyze, then 200', async () => {
      const res = await send(api.url, 'POST', '/analyze', {
        headers: { ...JSON_TYPE, host: `localhost:${port}`, origin: `http://localhost:${port}` },
        body: JSON.stringify({ date: D }),
      });

      expect(res.status).toBe(200);
    });

    it('given no allowed origins, when a foreign page preflights or reads, then no CORS header is sent', async () => {
      const preflight = await send(api.url, 'OPTIONS', '/runs', {
        headers: {
          origin: 'https://evil.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      const read = await send(api.url, 'GET', '/runs', {
        headers: { origin: 'https://evil.example' },
      });

      expect(preflight.status).toBe(403);
      expect(String(preflight.body.message)).toContain('ALMANAC_ALLOWED_ORIGINS');
      expect(read.status).toBe(200);
      for (const r of [preflight, read])
        expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    });
  });

  describe('Host', () => {
    it.each([
      ['GET', '/runs'],
      ['GET', '/status'],
      ['GET', '/health'],
    ])(
      'given a rebinding Host (evil.example:PORT), when %s %s, then 421 names the host',
      async (method, path) => {
        const res = await send(api.url, method, path, {
          headers: { host: `evil.example:${port}` },
        });

        expect(res.status).toBe(421);
        expect(String(res.body.message)).toContain(`"evil.example:${port}"`);
        expect(String(res.body.message)).toContain('ALMANAC_ALLOWED_HOSTS');
      },
    );

    it('given a rebinding page posting JSON from its own origin, when POST /runs, then 421 and nothing is appended', async () => {
      const before = await logSize();

      const res = await send(api.url, 'POST', '/runs', {
        headers: {
          ...JSON_TYPE,
          host: `evil.example:${port}`,
          origin: `http://evil.example:${port}`,
        },
        body: JSON.stringify({ date: D }),
      });

      expect(res.status).toBe(421);
      expect(await logSize()).toBe(before);
    });

    it.each(['localhost', `localhost:PORT`, '127.0.0.1:PORT', '[::1]:PORT'])(
      'given Host %s, when GET /health, then 200',
      async (host) => {
        const res = await send(api.url, 'GET', '/health', {
          headers: { host: host.replace('PORT', port) },
        });

        expect(res.status).toBe(200);
      },
    );
  });

  it('given refused requests and a body-parser error, when they are answered, then each is logged as one warning line, without a stack trace', async () => {
    let charset: Reply | undefined;
    let malformed: Reply | undefined;
    let tooLarge: Reply | undefined;
    const written = await captureOutput(async () => {
      await send(api.url, 'POST', '/runs', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `date=${D}`,
      });
      await send(api.url, 'POST', '/runs', {
        headers: { ...JSON_TYPE, origin: 'https://evil.example' },
        body: '{}',
      });
      await send(api.url, 'GET', '/runs', { headers: { host: 'evil.example' } });
      charset = await send(api.url, 'POST', '/analyze', {
        headers: { 'content-type': 'application/json; charset=latin1' },
        body: '{}',
      });
      malformed = await send(api.url, 'POST', '/analyze', { headers: JSON_TYPE, body: '{date' });
      tooLarge = await send(api.url, 'POST', '/analyze', {
        headers: JSON_TYPE,
        body: JSON.stringify({ date: D, padding: 'x'.repeat(200_000) }),
      });
    });

    expect(charset?.status).toBe(415);
    expect(charset?.body).toEqual({ statusCode: 415, message: 'unsupported charset "LATIN1"' });
    expect(malformed?.status).toBe(400);
    expect(tooLarge?.status).toBe(413);
    const lines = written.split('\n').filter((l) => l.trim() !== '');
    expect(lines.filter((l) => l.includes('WARN'))).toHaveLength(6);
    expect(written).toContain('415 POST /runs');
    expect(written).toContain('403 POST /runs');
    expect(written).toContain('421 GET /runs');
    expect(written).toContain('415 POST /analyze: unsupported charset');
    expect(written).toContain('400 POST /analyze');
    expect(written).toContain('413 POST /analyze: request entity too large');
    expect(written).not.toContain('ERROR');
    expect(written).not.toMatch(/^\s+at /m);
  });
});

describe('the local api with allowed hosts and origins configured', () => {
  let f: Fixture;
  let api: ServedApi;
  let port: string;
  const DASHBOARD = 'https://dash.example.com';

  beforeAll(async () => {
    f = await Fixture.create();
    f.loadNewCode();
    api = await serveEmbedded({
      root: f.dir,
      config: f.config,
      port: 0,
      env: { ALMANAC_ALLOWED_HOSTS: 'almanac.test', ALMANAC_ALLOWED_ORIGINS: DASHBOARD },
      allowedHosts: ['ops.test'],
    });
    port = new URL(api.url).port;
  });
  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  it('given an allowed origin, when it preflights POST /runs, then 204 with CORS headers for that origin', async () => {
    const res = await send(api.url, 'OPTIONS', '/runs', {
      headers: {
        origin: DASHBOARD,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(DASHBOARD);
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type');
    expect(res.headers.vary).toContain('Origin');
  });

  it('given another origin, when it preflights or reads, then 403 or an answer, and no CORS header', async () => {
    const preflight = await send(api.url, 'OPTIONS', '/runs', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    const read = await send(api.url, 'GET', '/runs', {
      headers: { origin: 'https://evil.example' },
    });

    expect(preflight.status).toBe(403);
    expect(read.status).toBe(200);
    for (const r of [preflight, read])
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('given an allowed origin, when it posts JSON to /runs, then 202 with Access-Control-Allow-Origin', async () => {
    const res = await send(api.url, 'POST', '/runs', {
      headers: { ...JSON_TYPE, origin: DASHBOARD },
      body: JSON.stringify({ date: D }),
    });

    expect(res.status).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe(DASHBOARD);
    expect(await waitForRun(api.url, String(res.body.runId))).toBe('completed');
  });

  it.each(['almanac.test', 'ops.test'])(
    'given the allowed host %s (from the environment or the serve option), when called as that host, then it answers, and its origin may post',
    async (name) => {
      const read = await send(api.url, 'GET', '/health', { headers: { host: `${name}:${port}` } });
      const post = await send(api.url, 'POST', '/analyze', {
        headers: { ...JSON_TYPE, host: `${name}:${port}`, origin: `http://${name}:${port}` },
        body: JSON.stringify({ date: D }),
      });

      expect(read.status).toBe(200);
      expect(post.status).toBe(200);
    },
  );

  it('given a host that is not allowed, when called, then 421', async () => {
    const res = await send(api.url, 'GET', '/health', {
      headers: { host: `evil.example:${port}` },
    });

    expect(res.status).toBe(421);
  });
});
