import { createHash } from 'node:crypto';
import { STATUS_PAGE_SCRIPT } from './status-page.script';
import { STATUS_PAGE_STYLES } from './status-page.styles';

interface StatusPageOptions {
  /** shown in the tab and the header; default "Almanac status" */
  title?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page allows only its own inline script and style (by hash) and calls to its own origin, so
 * a string from the api that slipped into markup could still run nothing. A server may send the
 * same value as a Content-Security-Policy header.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(STATUS_PAGE_SCRIPT)}`,
  `style-src ${sha256(STATUS_PAGE_STYLES)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The api's status page: one self-contained HTML document (inline CSS and script, nothing
 * fetched but the api's own JSON routes, which are siblings of the page's path). Serve it as
 * text/html at GET /status; it works offline and needs no build step.
 */
export function renderStatusPage(opts: StatusPageOptions = {}): string {
  const title = escapeHtml(opts.title ?? 'Almanac status');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${STATUS_PAGE_CSP}">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${STATUS_PAGE_STYLES}</style>
</head>
<body>
<header class="topbar">
  <h1>${title}</h1>
  <label>Date <input type="date" id="date" data-testid="date" required></label>
  <span class="spacer"></span>
  <span id="live" class="live" data-testid="refresh-state" data-state="loading" role="status">Loading…</span>
  <span id="updated" class="live-time muted"></span>
</header>
<div id="auth" class="banner auth" data-testid="auth" hidden>
  <strong>Sign in.</strong> <span id="auth-message">This api needs a bearer token.</span>
  <form id="auth-form" autocomplete="off">
    <input type="password" id="token" data-testid="token" placeholder="bearer token" aria-label="bearer token">
    <button type="submit">Use token</button>
    <span class="muted">Kept for this tab only (sessionStorage).</span>
  </form>
</div>
<div id="error" class="banner error" data-testid="error" role="alert" hidden></div>
<main>
  <section class="panel">
    <div class="panel-head">
      <h2>Computations for <span id="dag-date"></span></h2>
      <span class="hint">latest status of each computation for the date, by pass</span>
      <span class="spacer"></span>
      <div id="legend" class="legend" aria-label="statuses"></div>
    </div>
    <div id="dag" class="dag" data-testid="dag"></div>
  </section>
  <section class="panel">
    <div class="panel-head">
      <h2>Recent runs</h2>
      <span class="hint">click a run to see its timeline</span>
      <span class="spacer"></span>
      <label class="muted"><input type="checkbox" id="only-date"> only runs of the chosen date</label>
    </div>
    <table class="runs" data-testid="runs">
      <thead><tr><th>Run</th><th>Date</th><th>Status</th><th>Requested</th><th class="num">Elapsed</th><th>Computations</th><th>Errors</th></tr></thead>
      <tbody id="runs-body"></tbody>
    </table>
  </section>
  <section class="panel">
    <div class="panel-head">
      <h2>Backfills</h2>
      <span class="hint">one run per date, a few at once; click a date's run in Recent runs for its timeline</span>
    </div>
    <table class="backfills" data-testid="backfills">
      <thead><tr><th>Backfill</th><th>Dates</th><th>Status</th><th>Progress</th><th class="num">Completed</th><th class="num">Skipped</th><th class="num">Failed</th><th class="num">Running</th></tr></thead>
      <tbody id="backfills-body"></tbody>
    </table>
  </section>
  <section class="panel">
    <div class="panel-head">
      <h2>Failed entities for <span id="failed-date"></span></h2>
      <span class="hint">from the latest decision of each computation</span>
    </div>
    <table class="failed" data-testid="failed-entities">
      <thead><tr><th>Computation</th><th>Entity</th><th>Message</th><th>Run</th></tr></thead>
      <tbody id="failed-body"></tbody>
    </table>
  </section>
  <section class="panel" id="timeline" data-testid="timeline"></section>
</main>
<script>${STATUS_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
