/** The pages' one stylesheet (served from /assets/style.css: the CSP allows no inline style). */
export const STYLE = `
:root { --fg:#1d232a; --muted:#5f6b76; --line:#d8dee4; --bg:#fff; --soft:#f5f7f9;
  --complete:#2f9e57; --failed:#d1453b; --running:#2f6fd1; --queued:#9a8a2e; --pending:#a7b0b8; --copied:#7a56c2; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
a { color:#1f5fbf; text-decoration:none; } a:hover { text-decoration:underline; }
.top { display:flex; gap:18px; align-items:center; padding:8px 18px; background:#1d232a; color:#fff; }
.top a { color:#fff; } .top nav { display:flex; gap:14px; } .brand { font-weight:700; letter-spacing:.05em; }
.live-state { margin-left:auto; font-size:12px; padding:1px 8px; border-radius:10px; background:var(--complete); }
main { padding:14px 18px 40px; max-width:1500px; }
h1 { font-size:20px; margin:6px 0 12px; } h2 { font-size:16px; margin:22px 0 8px; border-bottom:1px solid var(--line); padding-bottom:3px; }
h3 { font-size:14px; margin:14px 0 6px; } h4 { font-size:13px; margin:10px 0 4px; color:var(--muted); }
.run-id { font-family:ui-monospace, monospace; font-size:17px; }
table { border-collapse:collapse; margin:6px 0; } th, td { padding:4px 8px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; font-size:13px; } td.num, th.num { text-align:right; white-space:nowrap; }
tfoot th, tfoot td { background:var(--soft); font-weight:600; }
.badge { display:inline-block; padding:0 7px; border-radius:9px; font-size:12px; color:#fff; background:var(--pending); white-space:nowrap; }
.badge.state-complete, .badge.state-passed, .badge.state-same { background:var(--complete); }
.badge.state-failed, .badge.state-rejected { background:var(--failed); }
.badge.state-running { background:var(--running); } .badge.state-queued { background:var(--queued); } .badge.state-waiting { background:#6b7fa8; }
.badge.state-changed { background:#d1862f; } .badge.state-missing { background:var(--pending); }
.badge.copied { background:var(--copied); } .badge.cached { background:#4a8c8c; } .badge.escalated { background:#b5651d; }
.note { color:var(--muted); font-size:12px; } .bad { color:var(--failed); } .empty { color:var(--muted); font-style:italic; }
table.tasks td, table.compare td { white-space:nowrap; } table.runs .note { display:block; }
/* The runs table fits a 1280-pixel window: ids and seed names wrap rather than scroll sideways. */
table.runs { width:100%; } table.runs td { overflow-wrap:break-word; } table.runs td:first-child, table.runs .badge { white-space:nowrap; }
.markdown { border:1px solid var(--line); border-radius:4px; padding:2px 14px; max-width:52em; }
.markdown pre { max-height:none; } .markdown code { font:12.5px ui-monospace, monospace; background:var(--soft); padding:0 3px; }
.notice { margin:8px 18px 0; padding:6px 12px; border-radius:6px; background:#e6f6ea; border:1px solid var(--complete); }
.notice.bad { background:#fdf1f0; border-color:var(--failed); color:var(--fg); }
.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:center; margin:8px 0; }
.filters input[type=number] { width:80px; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:0 0 10px; } dl.facts dt { color:var(--muted); }
.actions { display:flex; gap:10px; align-items:center; margin:10px 0; padding:8px; background:var(--soft); border-radius:6px; }
.error-box { border:1px solid var(--failed); background:#fdf1f0; border-radius:6px; padding:8px 12px; margin:10px 0; }
.error-message { white-space:pre-wrap; margin:4px 0; }
pre { background:var(--soft); border:1px solid var(--line); border-radius:4px; padding:8px; overflow:auto; max-height:480px; white-space:pre-wrap; word-break:break-word; font:12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
details { margin:4px 0; } summary { cursor:pointer; color:#1f5fbf; }
.messages .message { border-left:4px solid var(--line); padding-left:8px; margin:6px 0; }
.message.role-system { border-color:#9a8a2e; } .message.role-user { border-color:#2f6fd1; } .message.role-assistant { border-color:#2f9e57; }
.role { font-weight:600; font-size:12px; text-transform:uppercase; color:var(--muted); }
.call { border:1px solid var(--line); border-radius:6px; padding:4px 12px 8px; margin:10px 0; }
.meta { color:var(--muted); font-size:13px; margin:4px 0; }
.diff pre { max-height:600px; } .diff-add { background:#e6f6ea; display:block; } .diff-del { background:#fbe9e7; display:block; } .diff-same { display:block; color:#55606a; }
.diff-head .add { color:var(--complete); } .diff-head .del { color:var(--failed); }
.delta.up { color:var(--failed); } .delta.down { color:var(--complete); }
tr.changed td:first-child { border-left:3px solid #d1862f; }
.log td code { font-size:12px; } .log tr.level-error td, .log tr.level-warn td { background:#fdf1f0; }
svg text { font:12px system-ui, sans-serif; fill:var(--fg); }
.graph { display:block; margin:8px 0 12px; } .node-box { stroke:#0003; stroke-width:1; } .node-name { font-weight:600; fill:#fff; } .node-note { font-size:11px; fill:#fff; }
.node-box.state-complete { fill:var(--complete); } .node-box.state-failed { fill:var(--failed); } .node-box.state-running { fill:var(--running); }
.node-box.state-pending { fill:var(--pending); } .node-box.state-queued { fill:var(--queued); }
.edge { fill:none; stroke:#7d8791; stroke-width:1.5; } .arrow-head { fill:#7d8791; }
.gantt { display:block; } .tick { stroke:#e6eaee; } .tick-label { fill:var(--muted); font-size:11px; }
.gantt-label.depth-0 { font-weight:600; } .gantt-label.depth-1, .gantt-label.depth-2 { fill:var(--muted); font-size:11px; }
.bar { fill:var(--pending); } .bar.task.state-complete { fill:var(--complete); } .bar.task.state-failed { fill:var(--failed); } .bar.task.state-running { fill:var(--running); }
.bar.attempt { fill:#8aa; } .bar.item { fill:#6b8fbf; }
.stage-ingestion { fill:#8c9eff; background:#8c9eff; } .stage-pre-processing { fill:#80cbc4; background:#80cbc4; } .stage-prompt { fill:#ffd54f; background:#ffd54f; }
.stage-inference { fill:#4fc3f7; background:#4fc3f7; } .stage-parsing { fill:#aed581; background:#aed581; } .stage-validation { fill:#ffb74d; background:#ffb74d; }
.stage-critique { fill:#e57373; background:#e57373; } .stage-finalization { fill:#81c784; background:#81c784; }
.legend { font-size:12px; color:var(--muted); } .key { display:inline-block; width:12px; height:10px; margin:0 3px 0 8px; border-radius:2px; }
.files { columns:3; font-family:ui-monospace, monospace; font-size:12.5px; }
.crumbs { margin:0; color:var(--muted); }
`;
