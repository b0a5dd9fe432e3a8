/** A small SVG line-chart writer for `h3lix eval --plot` (no dependencies). */

/** One series of (x, y) points. */
export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

/** Options for `lineChartSvg`. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Default 640 × 400. */
  width?: number;
  height?: number;
  /** y range; default [0, 1]. */
  yRange?: [number, number];
  /** Logarithmic x axis (x > 0), ticks at powers of ten. Default false. */
  xLog?: boolean;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Render series as an SVG document string. */
export function lineChartSvg(series: readonly Series[], opts: ChartOptions): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const m = { l: 60, r: 170, t: 40, b: 50 };
  const tx = (x: number): number => (opts.xLog ? Math.log10(Math.max(x, 1e-9)) : x);
  const xs = series.flatMap((s) => s.points.map((p) => tx(p[0])));
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs) : 1;
  const [y0, y1] = opts.yRange ?? [0, 1];
  const pxt = (t: number): number => m.l + ((t - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const px = (x: number): number => pxt(tx(x));
  const py = (y: number): number => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = y0 + ((y1 - y0) * i) / 5;
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  const ticks = opts.xLog
    ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => Math.ceil(x0) + i).map((e) => [e, e >= 6 ? `${10 ** (e - 6)}M` : e >= 3 ? `${10 ** (e - 3)}k` : `${10 ** e}`] as const)
    : [...new Set(xs)].sort((a, b) => a - b).map((x) => [x, String(x)] as const);
  for (const [t, label] of ticks) out.push(`<text x="${pxt(t).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${label}</text>`);
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="black"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of s.points) out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = m.t + 10 + i * 20;
    out.push(`<line x1="${W - m.r + 12}" x2="${W - m.r + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${W - m.r + 42}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
