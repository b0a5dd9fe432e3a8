/** Human-readable output of `h3lix eval`: the results table, the poisoning table and the SVG plot. */
import type { Attack } from './poison.js';
import { lineChartSvg } from './svg.js';
import type { FleetEvalResult, Scores } from './types.js';

/** What `--poison` adds to the output (`poisoning` in the JSON). */
export interface PoisonReport {
  fraction: number;
  attack: Attack;
  attackers: string[];
  /** CCF on the honest nodes: attackers honest (the control), silent (absent), attacking. */
  clean: Scores;
  silent: Scores;
  attacked: Scores;
  /** clean − attacked all-class accuracy, in points. */
  dropPoints: number;
  /** silent − attacked: the harm beyond losing the attackers' own data, in points. */
  excessDropPoints: number;
  /** Whether the plausibility gate was on. */
  gate: boolean;
}

const p = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`).padStart(7);

/** The results table (stdout without --json). */
export function evalTable(r: FleetEvalResult): string {
  const novel = r.setup.novelClasses.length > 0;
  const models: Array<[string, Scores | undefined]> = [
    ['local-only', r.localOnly],
    ['encoder-only', r.encoderOnly],
    ['local + encoder', r.localPlusEncoder],
    ['best no-network', r.bestNoNetwork],
    ['CCF', r.ccf],
    ['CCF + local head', r.ccfHead],
    ['pooled means', r.pooledMeans],
    ['central (pooled raw data)', r.central],
    ['FedAvg', r.fedAvg],
  ];
  const rows = [
    ['model', 'all classes', 'unseen by node', 'seen by node', ...(novel ? ['novel classes'] : [])],
    ...models.filter(([, s]) => s !== undefined).map(([name, s]) => [name, p(s!.accuracy), p(s!.unseenAccuracy), p(s!.seenAccuracy), ...(novel ? [p(s!.novelAccuracy)] : [])]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  lines.push('');
  lines.push(`CCF bytes per node (sent + received): ${r.bytesPerNode} over ${r.setup.rounds} rounds (${r.bytesSentPerNode} sent)`);
  if (r.fedAvg) lines.push(`FedAvg bytes per node: ${r.fedAvg.bytesPerRound} per round (${r.fedAvg.quantization} updates, up + down), ${r.fedAvg.bytesPerNode} over ${r.fedAvg.rounds} rounds`);
  if (r.goals) {
    const g = r.goals;
    const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    lines.push(`goals: CCF vs central ${g.ccfVsCentral} points (${mark(g.met.allWithin5)}: ≥ −5); novel ${g.ccfNovelVsCentral} (${mark(g.met.novelWithin10)}: ≥ −10); novel vs best no-network +${g.ccfNovelVsBestNoNetwork} (${mark(g.met.novelPlus20)}: ≥ +20)`);
    lines.push(`       bytes to ${(g.targetAccuracy * 100).toFixed(1)}%: CCF ${g.ccfBytesToTarget}, FedAvg ${g.fedAvgBytesToTarget ?? `not reached in ${r.fedAvg!.rounds} rounds (> ${r.fedAvg!.bytesPerNode})`}: ratio ${g.fedAvgBytesToTarget === undefined ? '> ' : ''}${g.bytesRatio} (${mark(g.met.bytesTenth)}: ≥ 10)`);
  }
  lines.push(`privacy: ε = ${r.epsilon.toFixed(3)} spent of ${r.setup.epsilonBudget} (δ = ${r.setup.delta}), clip C = ${r.setup.clipNorm}, noise z = ${r.setup.noiseMultiplier}, k = ${r.setup.minCount}; ${r.releasesPerNode} releases per node`);
  if (novel) lines.push(`novel classes (never seen by the encoder; nodes holding each): ${r.setup.novelClasses.map((c) => `${c} (${r.setup.novelHolders[c]})`).join(', ')}`);
  if (r.refusedReleases > 0) lines.push(`WARNING: the privacy accountant refused ${r.refusedReleases} releases (budget spent, or k too low for the noise: see docs/signals.md)`);
  lines.push(`encoder: ${r.encoder.source}; trained on ${r.encoder.trainedOn}`);
  lines.push(r.encoder.sawTestData === false ? 'the encoder never saw node training data, test data or a novel class' : 'the encoder was trained elsewhere: this command cannot check what it saw');
  return lines.join('\n');
}

/** The poisoning lines (stdout without --json). */
export function poisonTable(x: PoisonReport): string {
  return [
    `poisoning: ${x.attackers.length} of the nodes (${x.attackers.join(', ')}) run ${x.attack}; accuracy on the honest nodes:`,
    `  CCF clean ${p(x.clean.accuracy)} (novel ${p(x.clean.novelAccuracy)}), attackers silent ${p(x.silent.accuracy)}, attacked ${p(x.attacked.accuracy)} (novel ${p(x.attacked.novelAccuracy)})`,
    `  drop ${x.dropPoints} points against the clean run, ${x.excessDropPoints} beyond the attackers' silence; plausibility gate ${x.gate ? 'on' : 'OFF'}`,
  ].join('\n');
}

/** Two charts side by side: accuracy per round, and accuracy against cumulative bytes per node (CCF vs FedAvg). */
export function evalPlotSvg(r: FleetEvalResult): string {
  const perRound = lineChartSvg(
    [
      { name: 'CCF (all)', color: '#1f77b4', points: r.rounds.map((x) => [x.round, x.ccf.accuracy]) },
      { name: 'CCF (novel)', color: '#2ca02c', points: r.rounds.map((x) => [x.round, x.ccf.novelAccuracy ?? 0]) },
      { name: 'pooled means', color: '#555555', points: r.rounds.map((x) => [x.round, x.pooledMeans.accuracy]), dashed: true },
      { name: 'local-only (all)', color: '#d62728', points: r.rounds.map((x) => [x.round, x.localOnly.accuracy]) },
      ...(r.central ? [{ name: 'central', color: '#000000', points: [[1, r.central.accuracy], [r.setup.rounds, r.central.accuracy]] as Array<[number, number]>, dashed: true }] : []),
      { name: 'best no-network', color: '#ff7f0e', points: [[1, r.bestNoNetwork.accuracy], [r.setup.rounds, r.bestNoNetwork.accuracy]], dashed: true },
    ],
    { title: `${r.dataset.name}: ${r.setup.nodes} nodes × ${r.setup.classesPerNode} classes, ε ≤ ${r.epsilon.toFixed(2)}`, xLabel: 'round', yLabel: 'accuracy' },
  );
  if (!r.fedAvg) return perRound;
  let cum = 0;
  const ccf = r.rounds.map((x): [number, number] => [(cum += x.bytesPerNode), x.ccf.accuracy]);
  let fcum = 0;
  const fed = r.fedAvg.series.map((x): [number, number] => [(fcum += x.bytesPerNode), x.scores.accuracy]);
  const vsBytes = lineChartSvg(
    [
      { name: 'CCF', color: '#1f77b4', points: ccf },
      { name: `FedAvg (${r.fedAvg.quantization})`, color: '#9467bd', points: fed },
    ],
    { title: 'accuracy against bytes per node (sent + received)', xLabel: 'cumulative bytes per node (log)', yLabel: 'accuracy', xLog: true },
  );
  const inner = (svg: string): string => svg.slice(svg.indexOf('>') + 1, svg.lastIndexOf('</svg>'));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="400" viewBox="0 0 1280 400">\n<g>${inner(perRound)}</g>\n<g transform="translate(640 0)">${inner(vsBytes)}</g>\n</svg>\n`;
}
