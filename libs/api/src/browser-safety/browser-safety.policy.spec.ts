import {
  BrowserSafetyConfigError,
  browserSafetyPolicy,
  judgeRequest,
  resolveBrowserSafety,
  type BrowserSafetySettings,
  type SafetyRequest,
  type SafetyVerdict,
} from './browser-safety.policy';

const NONE: BrowserSafetySettings = { allowedHosts: [], allowedOrigins: [] };
const LOCAL = browserSafetyPolicy({ listenHost: '127.0.0.1', authEnabled: false, settings: NONE });

function req(over: Partial<SafetyRequest> & { headers?: SafetyRequest['headers'] }): SafetyRequest {
  return {
    method: 'GET',
    localPort: 8080,
    ...over,
    headers: { host: '127.0.0.1:8080', ...over.headers },
  };
}

const post = (headers: SafetyRequest['headers']) =>
  req({
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': '2', ...headers },
  });

function refusal(v: SafetyVerdict): { status: number; message: string } {
  if (v.action !== 'refuse') throw new Error(`expected a refusal, got ${v.action}`);
  return { status: v.status, message: v.body.message };
}

describe('resolveBrowserSafety', () => {
  it('given the env lists and the serve options, when resolved, then they are merged, trimmed and normalised', () => {
    const s = resolveBrowserSafety({
      env: {
        ALMANAC_ALLOWED_HOSTS: ' Almanac.Internal , ,10.0.0.5',
        ALMANAC_ALLOWED_ORIGINS: 'https://Dash.example.com/,http://localhost:3000',
      },
      allowedHosts: ['[::1]', 'ops.test'],
      allowedOrigins: ['https://grafana.example.com:443'],
    });

    expect(s.allowedHosts).toEqual(['almanac.internal', '10.0.0.5', '[::1]', 'ops.test']);
    expect(s.allowedOrigins).toEqual([
      'https://dash.example.com',
      'http://localhost:3000',
      'https://grafana.example.com',
    ]);
  });

  it('given nothing, when resolved, then both lists are empty', () => {
    expect(resolveBrowserSafety({ env: {} })).toEqual(NONE);
  });

  it.each(['http://almanac.internal', 'almanac.internal:8080', '*', '*.example.com', 'a/b', 'a b'])(
    'given the allowed host "%s", when resolved, then it is refused naming the entry',
    (entry) => {
      const run = () =>
        resolveBrowserSafety({ env: { ALMANAC_ALLOWED_HOSTS: `ok.test,${entry}` } });

      expect(run).toThrow(BrowserSafetyConfigError);
      expect(run).toThrow(`ALMANAC_ALLOWED_HOSTS entry 2: "${entry}" is not a host name`);
    },
  );

  it.each([
    'https://dash.example.com/app',
    '*',
    'dash.example.com',
    'ftp://dash.example.com',
    'null',
  ])(
    'given the allowed origin "%s", when resolved, then it is refused naming the entry',
    (entry) => {
      const run = () => resolveBrowserSafety({ env: {}, allowedOrigins: [entry] });

      expect(run).toThrow(BrowserSafetyConfigError);
      expect(run).toThrow(`--allowed-origin "${entry}" is not an origin`);
    },
  );
});

describe('judgeRequest: Host', () => {
  it.each([
    'localhost',
    'localhost:8080',
    'LOCALHOST:8080',
    '127.0.0.1',
    '127.0.0.1:8080',
    '[::1]:8080',
  ])('given a loopback listener, when Host is %s, then the request passes', (host) => {
    expect(judgeRequest(LOCAL, req({ headers: { host } })).action).toBe('pass');
  });

  it.each([
    'evil.example:8080',
    'evil.example',
    '127.0.0.1.nip.io:8080',
    'localhost:9999',
    'user@localhost:8080',
    '[::1',
    '',
  ])('given a loopback listener, when Host is "%s", then 421 names the host', (host) => {
    const r = refusal(judgeRequest(LOCAL, req({ headers: { host } })));

    expect(r.status).toBe(421);
    expect(r.message).toContain(`host "${host}" is not a name this api answers to`);
    expect(r.message).toContain('localhost, 127.0.0.1, [::1] (port 8080 or none)');
    expect(r.message).toContain('ALMANAC_ALLOWED_HOSTS');
  });

  it('given a loopback listener, when the request has no Host header, then 421', () => {
    const v = judgeRequest(LOCAL, { method: 'GET', localPort: 8080, headers: {} });

    expect(refusal(v).status).toBe(421);
  });

  it('given a listener on 127.0.0.2, when Host is that address, then the request passes', () => {
    const p = browserSafetyPolicy({ listenHost: '127.0.0.2', authEnabled: false, settings: NONE });

    expect(judgeRequest(p, req({ headers: { host: '127.0.0.2:8080' } })).action).toBe('pass');
  });

  it('given allowed hosts on loopback, when Host is one of them on any port, then the request passes', () => {
    const p = browserSafetyPolicy({
      listenHost: '127.0.0.1',
      authEnabled: false,
      settings: { ...NONE, allowedHosts: ['almanac.test'] },
    });

    expect(judgeRequest(p, req({ headers: { host: 'almanac.test:443' } })).action).toBe('pass');
    expect(refusal(judgeRequest(p, req({ headers: { host: 'evil.example' } }))).status).toBe(421);
  });

  it('given localhost in the allowed hosts, when Host is localhost:9000 (an ssh -L tunnel), then the request passes', () => {
    const p = browserSafetyPolicy({
      listenHost: '127.0.0.1',
      authEnabled: false,
      settings: resolveBrowserSafety({ env: { ALMANAC_ALLOWED_HOSTS: 'localhost' } }),
    });

    expect(judgeRequest(p, req({ headers: { host: 'localhost:9000' } })).action).toBe('pass');
  });

  it('given a non-loopback listener with tokens and no allowed hosts, when Host is anything, then host checking is off', () => {
    const p = browserSafetyPolicy({ listenHost: '0.0.0.0', authEnabled: true, settings: NONE });

    expect(judgeRequest(p, req({ headers: { host: 'api.example.com' } })).action).toBe('pass');
  });

  it('given a non-loopback listener with tokens and allowed hosts, when Host is not allowed, then 421; allowed and loopback names pass', () => {
    const p = browserSafetyPolicy({
      listenHost: '0.0.0.0',
      authEnabled: true,
      settings: { ...NONE, allowedHosts: ['api.example.com'] },
    });

    expect(refusal(judgeRequest(p, req({ headers: { host: 'evil.example' } }))).status).toBe(421);
    expect(judgeRequest(p, req({ headers: { host: 'api.example.com' } })).action).toBe('pass');
    expect(judgeRequest(p, req({ headers: { host: 'localhost:8080' } })).action).toBe('pass');
  });
});

describe('judgeRequest: Origin', () => {
  it.each(['http://127.0.0.1:8080', 'https://127.0.0.1:8080'])(
    "given a mutating request from the api's own origin %s, when judged, then it passes without CORS headers",
    (origin) => {
      const v = judgeRequest(LOCAL, post({ origin }));

      expect(v).toEqual({ action: 'pass', headers: {} });
    },
  );

  it.each([
    'https://evil.example',
    'http://localhost:3000',
    'http://127.0.0.1:9090',
    'null',
    'garbage',
  ])(
    'given a POST from origin %s, when judged, then 403 names the origin and the env var',
    (origin) => {
      const r = refusal(judgeRequest(LOCAL, post({ origin })));

      expect(r.status).toBe(403);
      expect(r.message).toContain(`origin "${origin}" may not call this api`);
      expect(r.message).toContain('http://127.0.0.1:8080');
      expect(r.message).toContain('ALMANAC_ALLOWED_ORIGINS');
    },
  );

  it.each(['PUT', 'PATCH', 'DELETE'])('given a %s from a foreign origin, then 403', (method) => {
    const v = judgeRequest(LOCAL, req({ method, headers: { origin: 'https://evil.example' } }));

    expect(refusal(v).status).toBe(403);
  });

  it('given a GET from a foreign origin, when judged, then it passes without CORS headers (the browser cannot read the answer)', () => {
    expect(judgeRequest(LOCAL, req({ headers: { origin: 'https://evil.example' } }))).toEqual({
      action: 'pass',
      headers: {},
    });
  });

  it('given an allowed host, when a POST comes from its origin, then it passes', () => {
    const p = browserSafetyPolicy({
      listenHost: '127.0.0.1',
      authEnabled: false,
      settings: { ...NONE, allowedHosts: ['almanac.test'] },
    });

    expect(judgeRequest(p, post({ origin: 'https://almanac.test' })).action).toBe('pass');
  });

  describe('with allowed origins', () => {
    const p = browserSafetyPolicy({
      listenHost: '127.0.0.1',
      authEnabled: false,
      settings: { ...NONE, allowedOrigins: ['https://dash.example.com'] },
    });
    const preflight = (origin: string) =>
      req({
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });

    it('given an allowed origin, when it posts, then it passes with Access-Control-Allow-Origin and Vary', () => {
      expect(judgeRequest(p, post({ origin: 'https://dash.example.com' }))).toEqual({
        action: 'pass',
        headers: { 'Access-Control-Allow-Origin': 'https://dash.example.com', Vary: 'Origin' },
      });
    });

    it('given an allowed origin, when it preflights, then the preflight is answered for it', () => {
      expect(judgeRequest(p, preflight('https://dash.example.com'))).toEqual({
        action: 'preflight',
        headers: {
          'Access-Control-Allow-Origin': 'https://dash.example.com',
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'authorization, content-type',
          'Access-Control-Max-Age': '600',
          Vary: 'Origin',
        },
      });
    });

    it('given another origin, when it preflights, then 403 without CORS headers, naming the allowed ones', () => {
      const v = judgeRequest(p, preflight('https://evil.example'));

      expect(refusal(v)).toEqual({
        status: 403,
        message:
          'CORS preflight from origin "https://evil.example" is refused: the allowed origins are https://dash.example.com (ALMANAC_ALLOWED_ORIGINS)',
      });
      expect(v.headers).toEqual({ Vary: 'Origin' });
    });

    it('given another origin, when it reads, then no Access-Control-Allow-Origin is sent', () => {
      expect(judgeRequest(p, req({ headers: { origin: 'https://evil.example' } }))).toEqual({
        action: 'pass',
        headers: { Vary: 'Origin' },
      });
    });
  });

  it('given no allowed origins, when any origin preflights, then 403 saying CORS is off', () => {
    const v = judgeRequest(
      LOCAL,
      req({
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      }),
    );

    expect(refusal(v).message).toBe(
      'CORS preflight from origin "https://evil.example" is refused: cross-origin calls are off; allow origins with ALMANAC_ALLOWED_ORIGINS (comma-separated)',
    );
  });
});

describe('judgeRequest: JSON bodies only', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/problem+json',
    'application/vnd.almanac+json; charset=utf-8',
  ])('given a POST with content-type %s, when judged, then it passes', (type) => {
    expect(judgeRequest(LOCAL, post({ 'content-type': type })).action).toBe('pass');
  });

  it.each([
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x', 'multipart/form-data'],
    ['text/plain;charset=UTF-8', 'text/plain'],
    ['text/json', 'text/json'],
    ['application/jsonp', 'application/jsonp'],
    ['application/json-seq', 'application/json-seq'],
  ])('given a POST with content-type %s, when judged, then 415 names it', (type, media) => {
    const v = judgeRequest(LOCAL, post({ 'content-type': type }));

    expect(v).toMatchObject({
      action: 'refuse',
      status: 415,
      body: {
        statusCode: 415,
        message: `the body must be JSON: content-type "${media}" is not accepted; send content-type: application/json`,
        received: media,
        expected: 'application/json',
      },
    });
  });

  it.each([
    ['content-length', '12'],
    ['transfer-encoding', 'chunked'],
  ])('given a body (%s: %s) with no content-type, when posted, then 415', (header, value) => {
    const v = judgeRequest(LOCAL, req({ method: 'POST', headers: { [header]: value } }));

    expect(v).toMatchObject({ status: 415, body: { received: null } });
  });

  it('given no body and no content-type (curl -X POST), when posted, then it passes', () => {
    expect(judgeRequest(LOCAL, req({ method: 'POST', headers: {} })).action).toBe('pass');
    const empty = req({ method: 'POST', headers: { 'content-length': '0' } });
    expect(judgeRequest(LOCAL, empty).action).toBe('pass');
  });

  it('given an empty form post (a content-type and no body), when posted, then 415', () => {
    const v = judgeRequest(
      LOCAL,
      req({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' },
      }),
    );

    expect(refusal(v).status).toBe(415);
  });

  it.each(['PUT', 'PATCH', 'DELETE'])('given a %s with a form body, then 415', (method) => {
    const v = judgeRequest(
      LOCAL,
      req({
        method,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '3' },
      }),
    );

    expect(refusal(v).status).toBe(415);
  });

  it('given a GET with a form content-type, when judged, then it passes (reads take no body)', () => {
    const v = judgeRequest(
      LOCAL,
      req({ headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );

    expect(v.action).toBe('pass');
  });
});
