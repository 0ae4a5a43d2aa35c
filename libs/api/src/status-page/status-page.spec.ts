import { createHash } from 'node:crypto';
import { renderStatusPage, STATUS_PAGE_CSP } from './status-page';
import { STATUS_PAGE_SCRIPT } from './status-page.script';
import { STATUS_PAGE_STYLES } from './status-page.styles';

const inline = (html: string, tag: 'script' | 'style'): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]);

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64');

describe('status page', () => {
  const html = renderStatusPage();

  it('is one self-contained document: no external script, style, font or image', () => {
    // given the rendered page, then nothing points off the api's origin
    expect(html).not.toMatch(/\b(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/\/\/cdn/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*rel=["']?stylesheet/i);
    // the only URL fetched in the script is the api's own (base + path)
    expect(STATUS_PAGE_SCRIPT).not.toMatch(/fetch\(\s*["'](?:https?:)?\/\//);
    expect(inline(html, 'script')).toHaveLength(1);
    expect(inline(html, 'style')).toHaveLength(1);
  });

  it('carries the hooks tests and scripts rely on', () => {
    for (const hook of ['dag', 'runs', 'failed-entities', 'timeline']) {
      expect(html).toContain(`data-testid="${hook}"`);
    }
    // computation boxes and run rows are built by the script, with their status
    expect(STATUS_PAGE_SCRIPT).toContain(`testid: 'computation-' + c.name`);
    expect(STATUS_PAGE_SCRIPT).toContain(`data: { status: status, name: c.name }`);
    expect(STATUS_PAGE_SCRIPT).toContain(`testid: 'run-' + r.runId`);
    expect(STATUS_PAGE_SCRIPT).toContain(`data: { status: r.status, run: r.runId }`);
  });

  it('calls the json routes of the api as siblings of the page', () => {
    for (const route of [
      "'/computations?date='",
      "'/runs?limit='",
      "'&date='",
      "'/runs/' + encodeURIComponent(runId)",
      "'/events'",
    ]) {
      expect(STATUS_PAGE_SCRIPT).toContain(route);
    }
    expect(STATUS_PAGE_SCRIPT).toContain("headers.Authorization = 'Bearer ' + token");
    expect(STATUS_PAGE_SCRIPT).toContain('sessionStorage');
  });

  it('puts data into the DOM only as text: no innerHTML, outerHTML, insertAdjacentHTML or document.write', () => {
    expect(STATUS_PAGE_SCRIPT).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
    );
  });

  it('is a script the browser can parse', () => {
    expect(() => new Function(STATUS_PAGE_SCRIPT)).not.toThrow();
  });

  it('allows exactly its own inline script and style in its content security policy', () => {
    const [script] = inline(html, 'script');
    const [style] = inline(html, 'style');
    expect(script).toBe(STATUS_PAGE_SCRIPT);
    expect(style).toBe(STATUS_PAGE_STYLES);
    expect(STATUS_PAGE_CSP).toContain(`script-src 'sha256-${sha256(script)}'`);
    expect(STATUS_PAGE_CSP).toContain(`style-src 'sha256-${sha256(style)}'`);
    expect(STATUS_PAGE_CSP).toContain("connect-src 'self'");
    expect(html).toContain(`content="${STATUS_PAGE_CSP}"`);
  });

  it('escapes the title', () => {
    // given a title with markup, when rendered, then it is text in both places it appears
    const page = renderStatusPage({ title: 'Prod <script>alert("x")</script> & co' });
    expect(page).not.toContain('<script>alert');
    expect(page).toContain(
      '<title>Prod &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</title>',
    );
    expect(page).toContain(
      '<h1>Prod &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</h1>',
    );
    expect(renderStatusPage()).toContain('<title>Almanac status</title>');
  });
});
