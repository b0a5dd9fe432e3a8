/**
 * The status page shell and its style sheet: plain HTML and CSS served as they are (no build step on
 * the board, no external request: the server's Content-Security-Policy allows only 'self'). Every
 * value is filled in by `/app.js` (page-script.ts) from `/api/history` and the `/events` stream.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>h3lix status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="app.css">
</head>
<body>
<header>
  <h1>h3lix <span id="node">…</span></h1>
  <div id="meta" class="meta"></div>
  <div id="conn" class="conn" role="status" aria-live="polite">connecting to the daemon…</div>
</header>
<main>
  <section class="tiles" aria-label="energy now">
    <div class="tile"><div class="label">Battery</div><div class="value" id="soc">–</div></div>
    <div class="tile"><div class="label">Mode</div><div class="value mode" id="mode">–</div></div>
    <div class="tile"><div class="label">Battery voltage</div><div class="value" id="voltage">–</div></div>
    <div class="tile"><div class="label">Battery current</div><div class="value" id="current">–</div></div>
    <div class="tile"><div class="label">PV power</div><div class="value" id="pv">–</div></div>
    <div class="tile"><div class="label">Load</div><div class="value" id="load">–</div></div>
  </section>
  <section class="card">
    <h2 id="chart-title">Energy, last 7 days</h2>
    <div id="chart" class="chart" aria-label="state of charge, PV power and energy mode over time"></div>
    <div class="legend"><span class="k soc"></span>SOC <span class="k pv"></span>PV power
      <span class="k m-surplus"></span>surplus <span class="k m-normal"></span>normal <span class="k m-conserve"></span>conserve <span class="k m-survival"></span>survival</div>
    <div id="energy-note" class="note"></div>
  </section>
  <section class="card">
    <h2>Collective Context Field</h2>
    <div id="field-sum" class="note"></div>
    <table><thead><tr><th>key</th><th>origins</th><th>count</th><th>updated</th></tr></thead><tbody id="keys"></tbody></table>
  </section>
  <section class="card">
    <h2>Peers</h2>
    <div id="peers-sum" class="note"></div>
    <table><thead><tr><th>node</th><th>presence</th><th>mode</th><th>seen</th></tr></thead><tbody id="peers"></tbody></table>
  </section>
  <section class="card">
    <h2>Privacy, outbox, sync</h2>
    <div class="row"><span>Privacy budget spent</span><span id="privacy">–</span></div>
    <div class="bar"><div id="privacy-bar"></div></div>
    <div class="row"><span>Outbox</span><span id="outbox">–</span></div>
    <div class="row"><span>MQTT</span><span id="mqtt">–</span></div>
    <div class="row"><span>Sync received / accepted</span><span id="sync">–</span></div>
    <div class="row"><span>Rejected</span><span id="rejected">–</span></div>
    <div class="row"><span>Predictions / feedback</span><span id="learning">–</span></div>
    <div class="row"><span>Accuracy on feedback</span><span id="accuracy">–</span></div>
    <div id="accuracy-note" class="note"></div>
  </section>
  <section class="card" id="power-card">
    <h2>Wake/sleep plan</h2>
    <div id="power-note" class="note">–</div>
    <div class="row"><span>Plan now</span><span id="power-plan">–</span></div>
    <div class="row"><span>Next sleep</span><span id="power-sleep">–</span></div>
    <div class="row"><span>Wake</span><span id="power-wake">–</span></div>
    <div class="row"><span>Last wake</span><span id="power-last">–</span></div>
    <div id="power-reason" class="note"></div>
  </section>
</main>
<footer class="note">Local page served by <code>h3lix run</code>; metrics at <a href="metrics">/metrics</a>.</footer>
<script src="app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `:root{--fg:#17202a;--muted:#5d6d7e;--bg:#f4f6f8;--card:#fff;--line:#dde3e9;
--surplus:#2e9d4f;--normal:#3b7dd8;--conserve:#d99a00;--survival:#d9453a;--soc:#17202a;--pv:#e67e22}
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:960px;margin:0 auto;padding:10px 12px}
h1{font-size:20px;margin:0}
h2{font-size:15px;margin:0 0 8px}
.meta,.note{color:var(--muted);font-size:13px}
.conn{margin-top:6px;padding:6px 10px;border-radius:6px;font-size:13px;background:#e8edf2}
.conn.ok{background:#e3f4e8;color:#1d6b35}
.conn.lost{background:#fde2df;color:#8c1d13;font-weight:600}
body.stale main{opacity:.45;filter:grayscale(1)}
.tiles{display:grid;grid-template-columns:repeat(2,1fr);gap:8px}
@media(min-width:700px){.tiles{grid-template-columns:repeat(6,1fr)}}
.tile,.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 10px}
.card{margin-top:10px}
.label{font-size:12px;color:var(--muted)}
.value{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.mode{text-transform:capitalize}
.m-surplus{color:var(--surplus)}.m-normal{color:var(--normal)}.m-conserve{color:var(--conserve)}.m-survival{color:var(--survival)}
.chart{width:100%;min-height:190px}
.chart svg{display:block;width:100%;height:200px}
.legend{font-size:12px;color:var(--muted);margin-top:4px}
.k{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;border-radius:2px;vertical-align:-1px}
.k.soc{background:var(--soc)}.k.pv{background:var(--pv)}
.k.m-surplus{background:var(--surplus)}.k.m-normal{background:var(--normal)}.k.m-conserve{background:var(--conserve)}.k.m-survival{background:var(--survival)}
table{width:100%;border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:3px 4px;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
th{color:var(--muted);font-weight:500}
.row{display:flex;justify-content:space-between;gap:8px;padding:3px 0;font-size:14px}
.row span:first-child{white-space:nowrap}
.row span:last-child{font-variant-numeric:tabular-nums;text-align:right}
.bar{height:8px;background:#e8edf2;border-radius:4px;overflow:hidden}
.bar div{height:100%;width:0;background:var(--normal)}
.on{color:var(--surplus)}.off{color:var(--survival)}
code{font-size:12px}
`;
