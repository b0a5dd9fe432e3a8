/** The terminal rendering of a status summary (`h3lix status`). */
import type { ChartHistory } from './history.js';
import type { StatusSummary } from './summary.js';

const n = (x: number | null | undefined, d: number): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/** "3 min ago" style, from `now`. */
export function ago(t: number, now: number): string {
  const s = Math.round((now - t) / 1000);
  if (s < 0) return `in ${-s} s (clock ahead)`;
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129_600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** Share of time per mode over the history window. */
export function modeShares(h: ChartHistory): Record<string, number> {
  const out: Record<string, number> = {};
  const span = h.to - h.from;
  if (span <= 0 || h.modes.length === 0) return out;
  for (let i = 0; i < h.modes.length; i++) {
    const start = Math.max(h.from, h.modes[i]![0]);
    const end = i + 1 < h.modes.length ? h.modes[i + 1]![0] : h.to;
    out[h.modes[i]![1]] = (out[h.modes[i]![1]] ?? 0) + Math.max(0, end - start) / span;
  }
  return out;
}

export function formatStatus(s: StatusSummary, h: ChartHistory | undefined, source: string): string[] {
  const now = s.time;
  const out: string[] = [];
  out.push(`h3lix status: node ${s.node ?? '(no identity yet)'} (fleet ${s.fleet}, board ${s.board}), ${source}`);
  const e = s.energy;
  out.push(
    e
      ? `energy    ${e.mode}${e.modeSince ? ` since ${new Date(e.modeSince).toISOString()}` : ''} · SOC ${n(e.soc * 100, 0)} % · ${n(e.batteryVoltage, 2)} V · ${n(e.batteryCurrent, 2)} A · PV ${n(e.pvPower, 1)} W · load ${n(e.loadPower, 1)} W (reading ${ago(e.time, now)})`
      : 'energy    no readings (no battery monitor, or none reported yet)',
  );
  if (h && h.sourcePoints > 0) {
    const shares = Object.entries(modeShares(h)).sort((a, b) => b[1] - a[1]).map(([m, f]) => `${m} ${(f * 100).toFixed(0)} %`);
    out.push(`history   ${h.sourcePoints} readings over ${((h.to - h.from) / 86_400_000).toFixed(1)} days; ${shares.join(', ')}`);
  }
  const f = s.field;
  out.push(`field     ${f.contributions} contributions · ${f.keyCount} keys · ${f.originCount} origins · digest ${f.digest.slice(0, 16)}`);
  for (const k of f.keys.slice(0, 10)) out.push(`  ${k.key.padEnd(24)} ${String(k.origins).padStart(3)} origins  count ${n(k.count, 1).padStart(8)}  ${ago(k.lastUpdate, now)}`);
  if (f.keyCount > 10) out.push(`  … ${f.keyCount - 10} more keys`);
  if (s.from === 'daemon') {
    out.push(`peers     ${s.peers.length} seen, ${s.peers.filter((p) => p.online).length} online`);
    for (const p of s.peers.slice(0, 20)) out.push(`  ${p.node.padEnd(24)} ${p.online ? 'online ' : 'offline'} ${p.energyMode ?? '–'}  ${ago(p.lastSeen, now)}`);
  } else out.push('peers     (only the running daemon knows: enable status in the config and pass --config)');
  out.push(s.privacy ? `privacy   ε ${n(s.privacy.epsilonSpent, 2)} of ${n(s.privacy.epsilonBudget, 1)} spent (${s.privacy.releases} releases)` : 'privacy   nothing released yet');
  out.push(`outbox    ${s.outbox.messages} messages (${(s.outbox.bytes / 1024).toFixed(1)} KiB)`);
  out.push(...learningLines(s), ...powerLines(s));
  if (s.sync) {
    const rej = Object.entries(s.sync.rejected).map(([c, k]) => `${c} ${k}`).join(', ');
    out.push(`sync      mqtt ${s.mqtt ?? '–'} · received ${s.sync.received}, accepted ${s.sync.accepted}, rejected ${rej || 'none'}`);
  }
  return out;
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
const when = (t: number, now: number): string => `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')}Z (${t >= now ? `in ${ago(2 * now - t, now).replace(' ago', '')}` : ago(t, now)})`;

/** The personal instance and its accuracy on feedback. */
export function learningLines(s: StatusSummary): string[] {
  const l = s.learning;
  if (!l) return [s.from === 'daemon' ? 'learning  off (instance.enabled: false, or no broker for the instance)' : 'learning  (only the running daemon knows)'];
  const a = l.accuracy;
  const acc = !a || a.total === 0
    ? 'no labelled observation yet'
    : `accuracy on feedback ${a.accuracy === null ? '–' : pct(a.accuracy)} over the last ${a.windowTotal} (${a.windowCorrect} correct); since start ${a.correct}/${a.total} correct, ${a.wrong} wrong, ${a.unpredicted} unpredicted`;
  return [`learning  ${l.predicted} predictions · ${l.feedback} feedback · ${l.rejected} rejected · ${acc}`];
}

/** The wake/sleep plan of the companion MCU. */
export function powerLines(s: StatusSummary): string[] {
  const p = s.power;
  if (!p) return s.from === 'daemon' ? [] : ['power     (only the running daemon knows)'];
  if (!p.managed) return [`power     ${p.note}`];
  const now = s.time;
  const out = [`power     ${p.note}`];
  if (p.plan) out.push(p.plan.sleep ? `  plan    sleep now: ${p.plan.reason}; wake by ${when(p.plan.wakeAt!, now)} or at SOC ${pct(p.plan.wakeSoc!)}` : `  plan    awake: ${p.plan.reason}${p.plan.floorAt !== null ? `; next sleep around ${when(p.plan.floorAt, now)}` : ''}`);
  else out.push('  plan    none yet (no reading)');
  if (p.nextPlanAt !== null) out.push(`  next    planning round ${when(p.nextPlanAt, now)}`);
  out.push(p.lastWake ? `  wake    last woken: ${p.lastWake.reason} after ${p.lastWake.sleptSeconds} s asleep (${ago(p.lastWake.at, now)})` : '  wake    the MCU has not reported a wake reason yet');
  return out;
}
