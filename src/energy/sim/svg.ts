import type { SimulationResult, StrategyResult } from './simulate.js';

const MODE_COLORS: Record<string, string> = { surplus: '#4caf50', normal: '#90caf9', conserve: '#ffb74d', survival: '#e57373', sleep: '#7e57c2', boot: '#bdbdbd', off: '#212121' };

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/**
 * A small self-contained SVG of a simulation: one panel per strategy with SOC (line), PV power
 * (filled area, scaled to the panel rating), the energy mode as a colour band, learning-unit marks
 * and brownouts (red triangles). No dependencies: plain string building.
 */
export function simulationSvg(r: SimulationResult): string {
  const width = 1000;
  const panelH = 220;
  const top = 58;
  const left = 50;
  const plotW = width - left - 20;
  const total = r.days * 86_400_000;
  const x = (t: number): number => left + ((t - r.startMs) / total) * plotW;
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="22" font-size="15" font-family="sans-serif">h3lix simulate energy: ${esc(r.board)}, ${r.panelWatts} W panel, ${r.batteryWh} Wh battery, ${r.days} days, cloudy days ${esc(r.cloudyDays.join(',') || 'none')}, seed ${r.seed}</text>`);
  [r.adaptive, r.fixed].forEach((s, i) => parts.push(panel(s, top + i * (panelH + 50), panelH, left, plotW, x, r.panelWatts, r.days, r.startMs)));
  const legendY = top + 2 * (panelH + 50) - 10;
  let lx = left;
  for (const [mode, color] of Object.entries(MODE_COLORS)) {
    parts.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${color}"/><text x="${lx + 16}" y="${legendY}" font-size="12" font-family="sans-serif">${mode}</text>`);
    lx += 90;
  }
  parts.push(`<text x="${lx + 10}" y="${legendY}" font-size="12" font-family="sans-serif">line: SOC · yellow: PV power · ticks: learning units · red ▲: brownout</text>`);
  const height = legendY + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

function panel(s: StrategyResult, y0: number, h: number, left: number, plotW: number, x: (t: number) => number, panelWatts: number, days: number, startMs: number): string {
  const out: string[] = [];
  const bandH = 14;
  const plotH = h - bandH - 8;
  const yS = (soc: number): number => y0 + plotH - soc * plotH;
  const yP = (w: number): number => y0 + plotH - Math.min(1, w / Math.max(panelWatts, 1e-9)) * plotH;
  out.push(`<text x="${left}" y="${y0 - 6}" font-size="13" font-family="sans-serif" font-weight="bold">${s.strategy}: brownouts ${s.brownouts}, min SOC ${(s.minSoc * 100).toFixed(1)}%, learning ${s.workDone}/${s.workAttempted} units</text>`);
  out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  for (let d = 0; d <= days; d++) {
    const gx = x(startMs + d * 86_400_000).toFixed(1);
    out.push(`<line x1="${gx}" y1="${y0}" x2="${gx}" y2="${y0 + plotH}" stroke="#eee"/>`);
    if (d < days) out.push(`<text x="${(Number(gx) + 4).toFixed(1)}" y="${y0 + plotH - 4}" font-size="10" fill="#777" font-family="sans-serif">day ${d + 1}</text>`);
  }
  for (const v of [0, 0.5, 1]) out.push(`<text x="${left - 6}" y="${yS(v) + 4}" font-size="10" text-anchor="end" font-family="sans-serif">${v * 100}%</text>`);
  if (s.samples.length > 0) {
    const first = s.samples[0]!;
    const last = s.samples[s.samples.length - 1]!;
    const pv = s.samples.map((p) => `${x(p.t).toFixed(1)},${yP(p.pvW).toFixed(1)}`).join(' ');
    out.push(`<polygon points="${x(first.t).toFixed(1)},${yP(0)} ${pv} ${x(last.t).toFixed(1)},${yP(0)}" fill="#fdd835" fill-opacity="0.45"/>`);
    out.push(`<polyline points="${s.samples.map((p) => `${x(p.t).toFixed(1)},${yS(p.soc).toFixed(1)}`).join(' ')}" fill="none" stroke="#1565c0" stroke-width="1.5"/>`);
    // Mode band: merge runs of equal mode into one rect each.
    let runStart = first;
    for (let i = 1; i <= s.samples.length; i++) {
      const p = s.samples[i];
      if (p && p.mode === runStart.mode) continue;
      const endT = p ? p.t : last.t;
      out.push(`<rect x="${x(runStart.t).toFixed(1)}" y="${y0 + plotH + 4}" width="${Math.max(0.5, x(endT) - x(runStart.t)).toFixed(1)}" height="${bandH}" fill="${MODE_COLORS[runStart.mode]}"/>`);
      if (p) runStart = p;
    }
  }
  for (const t of s.learningMarks) out.push(`<line x1="${x(t).toFixed(1)}" y1="${y0}" x2="${x(t).toFixed(1)}" y2="${y0 + 6}" stroke="#6a1b9a"/>`);
  for (const t of s.brownoutMarks) out.push(`<path d="M${x(t).toFixed(1)},${yS(0) - 10} l5,9 l-10,0 z" fill="#d32f2f"/>`);
  return out.join('');
}
