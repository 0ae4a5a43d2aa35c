import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { computation, D, D_1, Fixture, STANDARD_FILES, statuses } from '../embedded/fixture';

/**
 * The api's status page in headless Chromium, against a real embedded api: a run where a
 * per-entity computation fails for some entities and blocks its dependant, then a second run
 * requested over HTTP that the open page must pick up by itself.
 */

const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');
const REBOUND_HOST = 'rebound.test';
const STEP_MS = 120_000;

/** The system Chromium; this test never downloads a browser. */
function chromiumExecutable(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function launchChromium(): Promise<Browser> {
  const executablePath = chromiumExecutable();
  if (!executablePath) {
    throw new Error(
      'chromium is not on the PATH: the status page test drives the system Chromium and never ' +
        'downloads one. Install it with `apt-get install chromium` and run the test again.',
    );
  }
  return chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      // DNS rebinding without a DNS server: this name resolves to the api's address
      `--host-resolver-rules=MAP ${REBOUND_HOST} 127.0.0.1`,
    ],
  });
}

/**
 * Fails for entities with fewer than two orders in the window until the marker file exists (a
 * feed that comes back); its message carries markup, which the page must show as text.
 */
const riskScore = (marker: string) =>
  computation({
    className: 'RiskScore',
    imports: `import { existsSync } from 'node:fs';`,
    config: { name: 'RiskScore', type: 'per-entity', requires: { orders: { lookback: 1 } } },
    body: [
      `    if (!existsSync(${JSON.stringify(marker)}) && ctx.data.orders.length < 2)`,
      `      throw new Error('rates feed <b>down</b> for ' + ctx.entityId);`,
      `    return { orders: ctx.data.orders.length };`,
    ].join('\n'),
  });

/** Global, after RiskScore; slow enough that the page sees the run in progress. */
const RISK_REPORT = computation({
  className: 'RiskReport',
  config: { name: 'RiskReport', type: 'global', dependencies: ['RiskScore'] },
  body: `    await new Promise((r) => setTimeout(r, 10_000));\n    return { ok: true };`,
});

const FIRST_RUN = {
  OrderTotals: 'completed',
  UserBand: 'completed',
  DailyVolume: 'completed',
  SignupInfo: 'completed',
  RiskScore: 'failed',
  RiskReport: 'blocked',
};

type Attrs = Array<{ getAttribute(name: string): string | null; textContent: string | null }>;

/** computation name -> data-status of its box on the DAG */
function dagStatuses(page: Page): Promise<Record<string, string>> {
  return page
    .locator('[data-testid="dag"] [data-testid^="computation-"]')
    .evaluateAll((boxes: Attrs) =>
      Object.fromEntries(
        boxes.map((b) => [
          (b.getAttribute('data-testid') ?? '').replace(/^computation-/, ''),
          b.getAttribute('data-status') ?? '',
        ]),
      ),
    );
}

/** the types of the timeline's events, in order */
function timelineTypes(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="timeline"] li[data-type]')
    .evaluateAll((items: Attrs) => items.map((i) => i.getAttribute('data-type') ?? ''));
}

/** Serves one HTML page on 127.0.0.1 at a port of its own: another origin than the api's. */
async function pageServer(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html><body>${html}</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function text(page: Page, selector: string): Promise<string> {
  return page.locator(selector).innerText();
}

describe('status page in headless Chromium', () => {
  let f: Fixture;
  let served: ServedApi | null = null;
  let browser: Browser | null = null;
  let page: Page;
  let marker: string;
  let firstRunId: string;
  let secondRunId: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // given a project whose RiskScore fails for three users and blocks RiskReport
    browser = await launchChromium();
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'risk-report.ts': RISK_REPORT } });
    marker = path.join(f.dir, 'rates-feed-is-back');
    f.write('risk-score.ts', riskScore(marker));
    const view = await f.run({ date: D });
    expect(statuses(view)).toEqual(FIRST_RUN);
    expect(view.status).toBe('failed');
    firstRunId = view.runId;
    // and the api serving its log (no tokens: auth is off on loopback)
    served = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: {} });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  }, STEP_MS);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await f?.cleanup();
  }, STEP_MS);

  it(
    'shows every computation of the date on the DAG with the status the run decided',
    async () => {
      // when the page is opened for the date
      await page.goto(`${served!.url}/status?date=${D}`);
      await page.locator('[data-testid="computation-RiskReport"]').waitFor({ timeout: 30_000 });
      // then one box per computation, coloured by its status, in its pass
      expect(await dagStatuses(page)).toEqual(FIRST_RUN);
      await expect(text(page, '[data-pass="0"]')).resolves.toContain('RiskScore');
      await expect(text(page, '[data-pass="1"]')).resolves.toContain('RiskReport');
      await expect(text(page, '[data-testid="computation-RiskScore"]')).resolves.toContain(
        '3 of 5 entities failed',
      );
      await expect(text(page, '[data-testid="computation-RiskReport"]')).resolves.toContain(
        'blocked by RiskScore (failed)',
      );
      await expect(text(page, '[data-testid="computation-UserBand"]')).resolves.toContain(
        'needs OrderTotals',
      );
      // and the dependencies are drawn, the one from a failed computation marked as such
      const edges = page.locator('[data-testid="dag"] svg path.edge');
      await expect(edges.count()).resolves.toBe(2);
      await expect(
        page.locator('path[data-from="RiskScore"][data-to="RiskReport"]').getAttribute('class'),
      ).resolves.toBe('edge bad');
      await expect(
        page.locator('path[data-from="OrderTotals"][data-to="UserBand"]').getAttribute('class'),
      ).resolves.toBe('edge');
      await expect(page.locator('#date').inputValue()).resolves.toBe(D);
    },
    STEP_MS,
  );

  it(
    'lists the run with its status and errors, and the failed entities with their messages as text',
    async () => {
      const row = page.locator(`[data-testid="run-${firstRunId}"]`);
      await expect(row.getAttribute('data-status')).resolves.toBe('failed');
      const rowText = await row.innerText();
      expect(rowText).toContain(D);
      expect(rowText).toContain('RiskScore failed: 3 of 5 entities failed');
      expect(rowText).toContain('RiskReport blocked: blocked by RiskScore (failed)');
      expect(rowText).toContain('4 completed');

      const failed = await page
        .locator('[data-testid="failed-entities"] tbody tr')
        .evaluateAll((rows: Attrs) =>
          rows.map((r) => [
            r.getAttribute('data-computation'),
            r.getAttribute('data-entity'),
            r.textContent,
          ]),
        );
      expect(failed.map(([c, e]) => `${c}/${e}`)).toEqual([
        'RiskScore/u2',
        'RiskScore/u3',
        'RiskScore/u5',
      ]);
      // the message's markup is text on the page, never elements
      expect(failed[0][2]).toContain('rates feed <b>down</b> for u2');
      await expect(page.locator('[data-testid="failed-entities"] b').count()).resolves.toBe(0);
    },
    STEP_MS,
  );

  it(
    "shows the latest run's timeline and per-computation statuses",
    async () => {
      const timeline = page.locator('[data-testid="timeline"]');
      await expect(timeline.innerText()).resolves.toContain(firstRunId);
      const types = await timelineTypes(page);
      expect(types[0]).toBe('RunRequested');
      expect(types.at(-1)).toBe('RunCompleted');
      for (const t of ['RunPlanned', 'PassReady', 'ComputationStarted', 'BatchDone']) {
        expect(types).toContain(t);
      }
      expect(types.filter((t) => t === 'ComputationCompleted')).toHaveLength(6);
      await expect(
        page.locator('[data-testid="timeline-computation-RiskScore"]').getAttribute('data-status'),
      ).resolves.toBe('failed');
      await expect(
        page.locator('[data-testid="timeline-computation-RiskScore"]').innerText(),
      ).resolves.toMatch(/5 \/ 5\s+3\s/);
      // absent fields are left out, never printed
      await expect(text(page, '[data-testid="timeline"]')).resolves.not.toMatch(
        /\b(?:null|undefined|NaN)\b/,
      );
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png'), fullPage: true });
    },
    STEP_MS,
  );

  it(
    'picks up a run requested through the api, follows it while it runs and shows it completed, without reloading',
    async () => {
      // given the page is idle, and a marker that only survives in this document
      await page
        .locator('[data-testid="refresh-state"][data-state="idle"]')
        .waitFor({ timeout: 30_000 });
      await page.evaluate(() => {
        (globalThis as { __sameDocument?: boolean }).__sameDocument = true;
      });
      // when the feed is back and a run is requested over HTTP
      fs.writeFileSync(marker, '');
      const res = await fetch(`${served!.url}/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ date: D }),
      });
      expect(res.status).toBe(202);
      secondRunId = ((await res.json()) as { runId: string }).runId;

      // then the page finds it while it runs and refreshes every 2 s
      const row = page.locator(`[data-testid="run-${secondRunId}"]`);
      await page
        .locator(`[data-testid="run-${secondRunId}"][data-status="running"]`)
        .waitFor({ timeout: 30_000 });
      await page
        .locator('[data-testid="refresh-state"][data-state="active"]')
        .waitFor({ timeout: 5_000 });
      await page
        .locator('[data-testid="computation-RiskReport"][data-status="running"]')
        .waitFor({ timeout: 30_000 });
      await page.screenshot({
        path: path.join(ARTIFACTS, 'status-page-running.png'),
        fullPage: true,
      });
      // and shows it completed, with the date's new statuses
      await page
        .locator(`[data-testid="run-${secondRunId}"][data-status="completed"]`)
        .waitFor({ timeout: 60_000 });
      expect(await row.innerText()).toContain('none');
      expect(await dagStatuses(page)).toEqual({
        OrderTotals: 'skipped',
        UserBand: 'skipped',
        DailyVolume: 'skipped',
        SignupInfo: 'skipped',
        RiskScore: 'completed',
        RiskReport: 'completed',
      });
      await expect(
        page.locator(`[data-testid="run-${firstRunId}"]`).getAttribute('data-status'),
      ).resolves.toBe('failed');
      await expect(text(page, '[data-testid="failed-entities"]')).resolves.toContain(
        `No failed entities for ${D}.`,
      );
      await expect(text(page, '[data-testid="timeline"]')).resolves.toContain(secondRunId);
      expect((await timelineTypes(page)).at(-1)).toBe('RunCompleted');
      await expect(
        page.evaluate(() => (globalThis as { __sameDocument?: boolean }).__sameDocument),
      ).resolves.toBe(true);
    },
    STEP_MS,
  );

  it(
    'stops refreshing once no run is in progress, only looking for a new one',
    async () => {
      await page
        .locator('[data-testid="refresh-state"][data-state="idle"]')
        .waitFor({ timeout: 10_000 });
      const calls: string[] = [];
      const record = (r: { url(): string }) =>
        calls.push(new URL(r.url()).pathname + new URL(r.url()).search);
      page.on('request', record);
      await page.waitForTimeout(6_000);
      page.off('request', record);
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(new Set(calls)).toEqual(new Set(['/runs?limit=1']));
    },
    STEP_MS,
  );

  it(
    "clicking a run shows that run's timeline",
    async () => {
      await page.locator(`[data-testid="run-${firstRunId}"]`).click();
      await page.locator(`[data-testid="run-${firstRunId}"].selected`).waitFor({ timeout: 10_000 });
      await expect(text(page, '[data-testid="timeline"]')).resolves.toContain(firstRunId);
      await expect(
        page.locator('[data-testid="timeline-computation-RiskReport"]').getAttribute('data-status'),
      ).resolves.toBe('blocked');
      await page.screenshot({
        path: path.join(ARTIFACTS, 'status-page-second-run.png'),
        fullPage: true,
      });
    },
    STEP_MS,
  );

  it(
    'choosing another date shows that date, and keeps it in the address',
    async () => {
      // when a date nothing ran for is chosen
      await page.locator('#date').fill(D_1);
      // then every computation is never-run for it, with no failed entities
      await page
        .locator('[data-testid="computation-RiskScore"][data-status="never-run"]')
        .waitFor({ timeout: 30_000 });
      expect(new Set(Object.values(await dagStatuses(page)))).toEqual(new Set(['never-run']));
      await expect(text(page, '[data-testid="failed-entities"]')).resolves.toContain(
        `No failed entities for ${D_1}.`,
      );
      expect(new URL(page.url()).searchParams.get('date')).toBe(D_1);
      // the page ran without script errors or content-security-policy violations
      expect(pageErrors).toEqual([]);
    },
    STEP_MS,
  );

  it(
    'a page of another site, or of a name rebound to 127.0.0.1, cannot request a run nor read the api',
    async () => {
      // given a page on another origin with a form posting to POST /runs, and the log's size
      const api = served!.url;
      const site = await pageServer(
        `<form method="post" action="${api}/runs"><input name="date" value="${D}">` +
          '<button>go</button></form>',
      );
      const before = (await served!.engine.store.readAll()).length;
      const evil = await browser!.newPage();
      try {
        await evil.goto(site.url);
        // when the form is submitted, then the api refuses the foreign origin
        const [formPost] = await Promise.all([
          evil.waitForResponse((r) => r.url() === `${api}/runs`),
          evil.locator('button').click(),
        ]);
        expect(formPost.status()).toBe(403);
        expect((await formPost.request().allHeaders()).origin).toBe(site.url.replace(/\/$/, ''));
        // when it sends a text/plain body with fetch (no preflight), then it is refused too
        await evil.goto(site.url);
        const [fetched] = await Promise.all([
          evil.waitForResponse((r) => r.url() === `${api}/runs`),
          evil.evaluate(
            ([url, date]) =>
              fetch(url, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ date }) }).then(
                () => 'sent',
              ),
            [`${api}/runs`, D],
          ),
        ]);
        expect(fetched.status()).toBe(403);
        // when the api is opened under a name that resolves to 127.0.0.1, then it answers 421
        const rebound = await evil.goto(`${api.replace('127.0.0.1', REBOUND_HOST)}/status`);
        expect(rebound?.status()).toBe(421);
        await expect(evil.locator('body').innerText()).resolves.toContain('ALMANAC_ALLOWED_HOSTS');
        // and nothing was appended to the log
        expect((await served!.engine.store.readAll()).length).toBe(before);
      } finally {
        await evil.close();
        await site.close();
      }
    },
    STEP_MS,
  );

  it(
    'shows a backfill requested through the api with its progress, until every date ended',
    async () => {
      // given the idle page, when a backfill of two dates is requested over HTTP
      await page
        .locator('[data-testid="refresh-state"][data-state="idle"]')
        .waitFor({ timeout: 30_000 });
      const res = await fetch(`${served!.url}/backfills`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: D_1, to: D, targets: ['UserBand'], concurrency: 1 }),
      });
      expect(res.status).toBe(202);
      const { backfillId } = (await res.json()) as { backfillId: string };
      // then the page finds it by itself and shows it ended, with a bar of its dates
      const row = page.locator(`[data-testid="backfill-${backfillId}"][data-status="completed"]`);
      await row.waitFor({ timeout: 60_000 });
      const bar = row.locator('[data-testid="backfill-progress"]');
      await expect(bar.getAttribute('value')).resolves.toBe('2');
      await expect(bar.getAttribute('max')).resolves.toBe('2');
      const cells = await row.locator('td').allInnerTexts();
      // D-1 never ran before (completed); D's UserBand and OrderTotals skip (unchanged)
      expect(cells.slice(1)).toEqual([`${D_1} to ${D}`, 'completed', ' 2/2', '1', '1', '0', '0']);
      expect(pageErrors).toEqual([]);
    },
    STEP_MS,
  );
});

describe('status page in headless Chromium, against an api that needs a token', () => {
  const TOKEN = 'status-page-viewer-0123456789';
  let f: Fixture;
  let served: ServedApi | null = null;
  let browser: Browser | null = null;

  beforeAll(async () => {
    browser = await launchChromium();
    f = await Fixture.create();
    served = await serveEmbedded({
      root: f.dir,
      config: f.config,
      port: 0,
      env: { ALMANAC_API_TOKENS: `ci:viewer:${TOKEN}` },
    });
  }, STEP_MS);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await f?.cleanup();
  }, STEP_MS);

  it(
    'asks for a bearer token on 401, sends it on every call and keeps it for the tab',
    async () => {
      const page = await browser!.newPage();
      const auth = page.locator('[data-testid="auth"]');
      // when the page is opened without a token, then it asks for one
      await page.goto(`${served!.url}/status?date=${D}`);
      await auth.waitFor({ state: 'visible', timeout: 30_000 });
      await expect(text(page, '#auth-message')).resolves.toBe('This api needs a bearer token.');
      await expect(
        page.locator('[data-testid="refresh-state"]').getAttribute('data-state'),
      ).resolves.toBe('auth');

      // when a wrong token is given, then it asks again, saying so
      await page.locator('[data-testid="token"]').fill('not-the-token-0123456789');
      await page.locator('#auth-form button[type="submit"]').click();
      await page
        .locator('#auth-message', { hasText: 'The token was refused.' })
        .waitFor({ timeout: 30_000 });
      await expect(auth.isVisible()).resolves.toBe(true);

      // when the right one is given, then every call carries it and the page loads
      const sent: Array<string | undefined> = [];
      page.on('request', (r) => {
        if (!new URL(r.url()).pathname.startsWith('/status')) sent.push(r.headers().authorization);
      });
      await page.locator('[data-testid="token"]').fill(TOKEN);
      await page.locator('#auth-form button[type="submit"]').click();
      await page
        .locator('[data-testid="computation-OrderTotals"][data-status="never-run"]')
        .waitFor({ timeout: 30_000 });
      await expect(auth.isVisible()).resolves.toBe(false);
      expect(sent.length).toBeGreaterThanOrEqual(2);
      expect(new Set(sent)).toEqual(new Set([`Bearer ${TOKEN}`]));

      // and a reload of the tab does not ask again
      await page.reload();
      await page
        .locator('[data-testid="computation-OrderTotals"][data-status="never-run"]')
        .waitFor({ timeout: 30_000 });
      await expect(auth.isVisible()).resolves.toBe(false);
      await page.close();
    },
    STEP_MS,
  );
});
