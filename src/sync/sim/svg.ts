/** One series of a log-log plot. */
export interface PlotSeries {
  name: string;
  color: string;
  points: Array<readonly [x: number, y: number]>;
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

/** A small log-log SVG (bytes per node against fleet size), no dependencies. */
export function logLogSvg(title: string, xLabel: string, yLabel: string, series: PlotSeries[]): string {
  const W = 720;
  const H = 420;
  const L = 80;
  const R = 180;
  const T = 40;
  const B = 50;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0);
  const lx = pts.map(([x]) => Math.log10(x));
  const ly = pts.map(([, y]) => Math.log10(y));
  const x0 = Math.floor(Math.min(...lx));
  const x1 = Math.max(x0 + 1, Math.ceil(Math.max(...lx)));
  const y0 = Math.floor(Math.min(...ly));
  const y1 = Math.max(y0 + 1, Math.ceil(Math.max(...ly)));
  const px = (x: number) => L + ((Math.log10(x) - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => H - B - ((Math.log10(y) - y0) / (y1 - y0)) * (H - T - B);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${L}" y="22" font-size="14">${esc(title)}</text>`];
  for (let e = x0; e <= x1; e++) out.push(`<line x1="${px(10 ** e)}" y1="${T}" x2="${px(10 ** e)}" y2="${H - B}" stroke="#ddd"/><text x="${px(10 ** e)}" y="${H - B + 16}" text-anchor="middle">${10 ** e}</text>`);
  for (let e = y0; e <= y1; e++) out.push(`<line x1="${L}" y1="${py(10 ** e)}" x2="${W - R}" y2="${py(10 ** e)}" stroke="#ddd"/><text x="${L - 6}" y="${py(10 ** e) + 4}" text-anchor="end">1e${e}</text>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`, `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const p = s.points.filter(([x, y]) => x > 0 && y > 0);
    if (p.length) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${p.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
      for (const [x, y] of p) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    out.push(`<line x1="${W - R + 12}" y1="${T + 10 + i * 20}" x2="${W - R + 36}" y2="${T + 10 + i * 20}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${W - R + 42}" y="${T + 14 + i * 20}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
