import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { defaultConfig, loadConfigFile } from '../../config/load.js';
import { H3lixError } from '../../errors.js';
import { parseTrainingCsv } from '../../instance/data/csv.js';
import { runFleetEval, type FleetEvalResult } from '../../instance/eval/simulate.js';
import { lineChartSvg } from '../../instance/eval/svg.js';
import { loadModelDir } from '../../instance/model/manifest.js';
import { importEncoderOnnx } from '../../instance/model/onnx-export.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, parsePositiveInt, parsePositiveNumber, writeLine, type CliContext } from '../context.js';

interface EvalOpts {
  data: string;
  label: string;
  nodes: number;
  classesPerNode: number;
  rounds: number;
  seed: number;
  json?: boolean;
  plot?: string;
  model?: string;
  config?: string;
  clipNorm: string;
  noiseMultiplier?: number;
  minCount?: number;
  epsilon?: number;
  blend?: number;
  novelClasses?: number;
}

/**
 * `h3lix eval --data CSV --label COL [...]`: the collective-learning evaluation (docs/evaluation.md).
 * Simulates a fleet on a non-IID split of any numeric CSV and compares local-only, CCF-conditioned
 * and pooled-data accuracy, on all classes and on the classes each node never saw.
 */
export function registerEvalCommands(program: Command, ctx: CliContext): void {
  program
    .command('eval')
    .description('simulate a fleet on a non-IID split of a labelled CSV: local-only vs CCF-conditioned vs pooled-data accuracy, bytes sent, ε spent')
    .requiredOption('--data <csv>', 'numeric CSV with a header row')
    .option('--label <column>', 'label column', 'label')
    .option('--nodes <n>', 'simulated nodes', parsePositiveInt('--nodes', 2, 256), 8)
    .option('--classes-per-node <k>', 'classes each node sees locally', parsePositiveInt('--classes-per-node', 1, 1000), 2)
    .option('--rounds <r>', 'signal/sync rounds (local data arrives over the rounds)', parsePositiveInt('--rounds', 1, 1000), 5)
    .option('--seed <s>', 'seed for the split, encoder training and noise', parsePositiveInt('--seed', 0, 2 ** 31), 1)
    .option('--model <dir>', 'use this model directory as the encoder instead of training one on the bootstrap split')
    .option('-c, --config <path>', 'take signals/ccf settings from this config file (default: built-in defaults)')
    .option('--clip-norm <C|auto>', 'clip norm C, or auto = 90th percentile of bootstrap embedding norms', 'auto')
    .option('--noise-multiplier <z>', 'override signals.noiseMultiplier', parsePositiveNumber('--noise-multiplier', 1e-6))
    .option('--min-count <k>', 'override signals.minCount', parsePositiveInt('--min-count', 1))
    .option('--epsilon <e>', 'override signals.epsilon (privacy budget)', parsePositiveNumber('--epsilon', 1e-6))
    .option('--blend <w>', 'override signals.blend (field weight in prototypes, 0..1)', parsePositiveNumber('--blend', 0, 1))
    .option('--novel-classes <n>', 'also withhold n classes from the bootstrap split, so the encoder never sees them either', parsePositiveInt('--novel-classes', 0), 0)
    .option('--json', 'print one JSON object as the last stdout line')
    .option('--plot <path>', 'write an SVG plot of accuracy per round (default h3lix-eval.svg without --json)')
    .action((opts: EvalOpts) => {
      const cfg = opts.config ? loadConfigFile(opts.config, ctx.env) : defaultConfig();
      const signals = {
        ...cfg.signals,
        ...(opts.noiseMultiplier !== undefined ? { noiseMultiplier: opts.noiseMultiplier } : {}),
        ...(opts.minCount !== undefined ? { minCount: opts.minCount } : {}),
        ...(opts.epsilon !== undefined ? { epsilon: opts.epsilon } : {}),
        ...(opts.blend !== undefined ? { blend: opts.blend } : {}),
      };
      let clipNorm: number | 'auto' = 'auto';
      if (opts.clipNorm !== 'auto') clipNorm = parsePositiveNumber('--clip-norm', 1e-9)(opts.clipNorm);
      let text: string;
      try {
        text = readFileSync(opts.data, 'utf8');
      } catch (err) {
        throw new H3lixError('DATA_INVALID', `cannot read --data ${opts.data}: ${(err as Error).message}`, { cause: err });
      }
      const ds = parseTrainingCsv(text, opts.label, basename(opts.data));
      let encoder: { model: ReturnType<typeof importEncoderOnnx>; source: string; trainedOn: string } | undefined;
      if (opts.model) {
        const loaded = loadModelDir(opts.model);
        const model = importEncoderOnnx(loaded.bytes);
        if (model.inputDim !== ds.featureNames.length) {
          throw new H3lixError('DATA_INVALID', `--model ${opts.model} expects ${model.inputDim} features, ${opts.data} has ${ds.featureNames.length}`);
        }
        if (model.context) throw new UsageError(`--model ${opts.model} declares a context input; use an encoder without one`);
        encoder = { model, source: `loaded from ${opts.model} (${loaded.manifest.name} ${loaded.manifest.version}, sha256 ${loaded.manifest.sha256.slice(0, 12)}…)`, trainedOn: `its manifest's training data: ${loaded.manifest.training.data}` };
      }
      const progress = (line: string): void => writeLine(ctx.stderr, `eval: ${line}`);
      progress(`${ds.name}: ${ds.y.length} rows, ${ds.featureNames.length} features, ${new Set(ds.y).size} classes; ${opts.nodes} nodes × ${opts.classesPerNode} classes, ${opts.rounds} rounds`);
      const result = runFleetEval({
        X: ds.X,
        y: ds.y,
        datasetName: ds.name,
        nodes: opts.nodes,
        classesPerNode: opts.classesPerNode,
        rounds: opts.rounds,
        seed: opts.seed,
        signals,
        ccf: cfg.ccf,
        encoder,
        clipNorm,
        novelClasses: opts.novelClasses,
        onProgress: progress,
      });
      const plot = opts.plot ?? (opts.json ? undefined : 'h3lix-eval.svg');
      if (plot) {
        try {
          writeFileSync(plot, plotSvg(result));
        } catch (err) {
          throw new H3lixError('STORE_IO', `cannot write --plot ${plot}: ${(err as Error).message}`, { cause: err });
        }
        progress(`plot written to ${plot}`);
      }
      if (opts.json) writeLine(ctx.stdout, JSON.stringify(result));
      else writeLine(ctx.stdout, table(result));
      ctx.setExitCode(ExitCode.OK);
    });
}

function plotSvg(r: FleetEvalResult): string {
  const pts = (f: (x: FleetEvalResult['rounds'][number]) => number): Array<[number, number]> => r.rounds.map((x) => [x.round, f(x)]);
  return lineChartSvg(
    [
      { name: 'pooled (all)', color: '#555555', points: pts((x) => x.pooled.accuracy), dashed: true },
      { name: 'CCF (all)', color: '#1f77b4', points: pts((x) => x.ccf.accuracy) },
      { name: 'CCF (unseen)', color: '#2ca02c', points: pts((x) => x.ccf.unseenAccuracy) },
      { name: 'local-only (all)', color: '#d62728', points: pts((x) => x.localOnly.accuracy) },
      { name: 'local-only (unseen)', color: '#ff7f0e', points: pts((x) => x.localOnly.unseenAccuracy), dashed: true },
    ],
    { title: `${r.dataset.name}: ${r.setup.nodes} nodes × ${r.setup.classesPerNode} classes, ε ≤ ${r.epsilon.toFixed(2)}`, xLabel: 'round', yLabel: 'accuracy' },
  );
}

function table(r: FleetEvalResult): string {
  const p = (x: number): string => `${(x * 100).toFixed(1)}%`.padStart(7);
  const novel = r.setup.novelClasses.length > 0;
  const rows = [
    ['model', 'all classes', 'unseen classes', 'seen classes', ...(novel ? ['novel classes'] : [])],
    ...(
      [
        ['local-only', r.localOnly],
        ['CCF-conditioned', r.ccf],
        ['CCF + local head', r.ccfHead],
        ['pooled data', r.pooled],
      ] as const
    ).map(([name, s]) => [name, p(s.accuracy), p(s.unseenAccuracy), p(s.seenAccuracy), ...(novel ? [p(s.novelAccuracy ?? 0)] : [])]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => c.padEnd(w[i]!)).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  lines.push('');
  lines.push(`bytes sent per node: ${r.bytesPerNode} over ${r.setup.rounds} rounds (one FedAvg round of the encoder weights: ${r.fedAvgBytesPerRound})`);
  lines.push(`privacy: ε = ${r.epsilon.toFixed(3)} spent of ${r.setup.epsilonBudget} (δ = ${r.setup.delta}), clip C = ${r.setup.clipNorm}, noise z = ${r.setup.noiseMultiplier}, k = ${r.setup.minCount}; ${r.releasesPerNode} releases per node`);
  if (novel) lines.push(`novel classes (never seen by the encoder either): ${r.setup.novelClasses.join(', ')}`);
  if (r.refusedReleases > 0) lines.push(`WARNING: the privacy accountant refused ${r.refusedReleases} releases (budget spent, or k too low for the noise: see docs/signals.md)`);
  lines.push(`encoder: ${r.encoder.source}; trained on ${r.encoder.trainedOn}`);
  lines.push(r.encoder.sawTestData === false ? 'the encoder never saw node training data or test data' : 'the encoder was trained elsewhere: this command cannot check what it saw');
  return lines.join('\n');
}
