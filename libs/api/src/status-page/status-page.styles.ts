/**
 * The status page's stylesheet. System fonts only: the page must render offline, with nothing
 * fetched from anywhere but the api itself.
 */
export const STATUS_PAGE_STYLES = String.raw`
:root {
  --fg: #1f2328;
  --muted: #59636e;
  --line: #d1d9e0;
  --bg: #f6f8fa;
  --panel: #ffffff;
  --accent: #0969da;
  --completed: #1a7f37;   --completed-bg: #dafbe1;
  --skipped: #59636e;     --skipped-bg: #eef1f4;
  --failed: #cf222e;      --failed-bg: #ffebe9;
  --blocked: #9a6700;     --blocked-bg: #fff8c5;
  --impossible: #8250df;  --impossible-bg: #fbefff;
  --running: #0969da;     --running-bg: #ddf4ff;
  --pending: #3d6a99;     --pending-bg: #eef5fc;
  --never: #818b98;       --never-bg: #ffffff;
}
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body {
  font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  color: var(--fg);
  background: var(--bg);
}
code, .mono { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
h1 { font-size: 18px; margin: 0; font-weight: 600; }
h2 { font-size: 15px; margin: 0 0 10px; font-weight: 600; }
h3 { font-size: 13px; margin: 14px 0 6px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.topbar {
  display: flex; flex-wrap: wrap; align-items: center; gap: 16px;
  padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--line);
  position: sticky; top: 0; z-index: 2;
}
.topbar .spacer { flex: 1; }
.topbar label { color: var(--muted); display: inline-flex; align-items: center; gap: 8px; }
input[type=date], input[type=password] {
  font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; color: var(--fg);
}
button {
  font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px;
  background: #f6f8fa; color: var(--fg); cursor: pointer;
}
button:hover { background: #eef1f4; }
button.link { border: 0; background: none; color: var(--accent); padding: 0; }
.live { color: var(--muted); font-size: 12.5px; display: inline-flex; align-items: center; gap: 6px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--never); }
.live[data-state=active]::before { background: var(--running); animation: pulse 1s infinite alternate; }
.live[data-state=idle]::before { background: var(--completed); }
.live[data-state=error]::before, .live[data-state=auth]::before { background: var(--failed); }
@keyframes pulse { from { opacity: 1; } to { opacity: .3; } }
main { padding: 16px 24px 32px; display: grid; gap: 16px; max-width: 1600px; }
section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.panel-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 10px; }
.panel-head h2 { margin: 0; }
.panel-head .hint { color: var(--muted); font-size: 12.5px; }
.panel-head .spacer { flex: 1; }
.banner { margin: 12px 24px 0; padding: 10px 14px; border-radius: 6px; border: 1px solid; }
.banner.error { color: var(--failed); background: var(--failed-bg); border-color: #ffcecb; }
.banner.auth { background: #fff; border-color: var(--line); }
.banner.auth form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 6px; }
.banner.auth input { min-width: 320px; }
[hidden] { display: none !important; }

.legend { display: flex; flex-wrap: wrap; gap: 6px; }
.badge {
  display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; line-height: 20px;
  border: 1px solid transparent; white-space: nowrap; font-weight: 500;
}
.st-completed  { --c: var(--completed);  --cb: var(--completed-bg); }
.st-skipped    { --c: var(--skipped);    --cb: var(--skipped-bg); }
.st-failed     { --c: var(--failed);     --cb: var(--failed-bg); }
.st-rejected   { --c: var(--failed);     --cb: var(--failed-bg); }
.st-blocked    { --c: var(--blocked);    --cb: var(--blocked-bg); }
.st-impossible { --c: var(--impossible); --cb: var(--impossible-bg); }
.st-running    { --c: var(--running);    --cb: var(--running-bg); }
.st-pending, .st-requested, .st-planned, .st-waiting { --c: var(--pending); --cb: var(--pending-bg); }
.st-abandoned { --c: var(--failed); --cb: var(--failed-bg); }
.st-never-run  { --c: var(--never);      --cb: var(--never-bg); }
.badge { color: var(--c, var(--muted)); background: var(--cb, #fff); border-color: var(--c, var(--line)); }

.dag { position: relative; overflow-x: auto; padding: 4px 2px 8px; }
.dag svg.edges { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
.dag .edge { fill: none; stroke: #afb8c1; stroke-width: 1.5; }
.dag .edge.bad { stroke: var(--failed); stroke-dasharray: 5 4; opacity: .7; }
.dag .passes { position: relative; display: grid; grid-auto-flow: column; grid-auto-columns: minmax(220px, 280px); gap: 56px; align-items: start; }
.dag .pass-title { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; margin-bottom: 8px; }
.dag .pass-boxes { display: grid; gap: 12px; }
.comp {
  border: 1px solid var(--c); border-left-width: 5px; border-radius: 6px; background: var(--cb);
  padding: 8px 10px; position: relative; z-index: 1;
}
.comp.st-never-run { border-style: dashed; border-left-style: solid; }
.comp.st-running { animation: glow 1.2s infinite alternate; }
@keyframes glow { from { box-shadow: 0 0 0 0 rgba(9, 105, 218, .35); } to { box-shadow: 0 0 0 4px rgba(9, 105, 218, .12); } }
.comp-head { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.comp-name { font-weight: 600; overflow-wrap: anywhere; }
.comp-meta, .comp-deps, .comp-why { font-size: 12px; color: var(--muted); margin-top: 3px; overflow-wrap: anywhere; }
.comp-why { color: var(--fg); }
.comp .badge { background: #fff; }

table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: baseline; }
th { font-size: 12px; font-weight: 600; color: var(--muted); background: #f6f8fa; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.empty td { color: var(--muted); text-align: center; padding: 16px; }
.runs tbody tr { cursor: pointer; }
.runs tbody tr:hover { background: #f6f8fa; }
.runs tbody tr.selected { background: #ddf4ff; box-shadow: inset 3px 0 0 var(--accent); }
.runs tbody tr:focus { outline: 2px solid var(--accent); outline-offset: -2px; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; }
.tag { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; margin-left: 6px; }
.errors { margin: 0; padding: 0; list-style: none; font-size: 12.5px; }
.errors li { color: var(--failed); overflow-wrap: anywhere; }
.errors li.blocked { color: var(--blocked); }
.errors li.impossible { color: var(--impossible); }
.muted { color: var(--muted); }
.msg { overflow-wrap: anywhere; }

.run-head { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: baseline; margin-bottom: 6px; }
.run-head dl { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0; }
.run-head dt { color: var(--muted); font-size: 12px; }
.run-head dd { margin: 0; }
.run-head .pair { display: flex; gap: 6px; align-items: baseline; }
.run-body { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 6fr); gap: 20px; }
@media (max-width: 1100px) { .run-body { grid-template-columns: minmax(0, 1fr); } }
.events { list-style: none; margin: 0; padding: 0; max-height: 560px; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; }
.events li { display: grid; grid-template-columns: 92px 170px minmax(0, 1fr); gap: 10px; padding: 4px 10px; border-bottom: 1px solid #eef1f4; font-size: 12.5px; }
.events li:last-child { border-bottom: 0; }
.events li.gap { display: block; text-align: center; color: var(--muted); }
.events .etype { font-weight: 600; }
.events li[data-type=RunCompleted] .etype, .events li[data-type=RunRequested] .etype { color: var(--accent); }
.events li[data-type=RunRejected] .etype, .events li[data-type=CircuitOpened] .etype { color: var(--failed); }
.rejection { color: var(--failed); margin: 6px 0; }
`;
