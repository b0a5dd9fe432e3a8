import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { defaultConfig, loadConfigFile } from '../../config/load.js';
import { H3lixError } from '../../errors.js';
import { parseTrainingCsv } from '../../instance/data/csv.js';
import type { LabeledDataset } from '../../instance/data/dataset.js';
import { PUBLIC_DATASETS, loadPublicDataset } from '../../instance/data/public-datasets.js';
import { ATTACKS, type Attack } from '../../instance/eval/poison.js';
import { runDaemonEval, type DaemonEvalResult } from '../../daemon/eval-cluster.js';
import { evalPlotSvg, evalTable, poisonTable, type PoisonReport } from '../../instance/eval/report.js';
import { runFleetEval, type FleetEvalResult } from '../../instance/eval/simulate.js';
import { loadModelDir } from '../../instance/model/manifest.js';
import { importEncoderOnnx } from '../../instance/model/onnx-export.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, parsePositiveInt, parsePositiveNumber, writeLine, type CliContext } from '../context.js';

interface EvalOpts {
  data?: string;
  dataset?: string;
  maxRows?: number;
  encoder: string;
  fedavgRounds: number;
  fedavgQuantization: string;
  poison?: number;
  attack: string;
  daemons?: boolean;
  plausibilityGate: boolean;
  classifierBaselines: boolean;
  label: string;
  nodes: number;
  classesPerNode?: number;
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
    .option('--data <csv>', 'numeric CSV with a header row')
    .option('--dataset <name>', `a public dataset instead of --data: ${PUBLIC_DATASETS.join(', ')}`)
    .option('--max-rows <n>', 'row cap for large datasets (class-stratified; fashion-mnist default 6000)', parsePositiveInt('--max-rows', 100))
    .option('--encoder <kind>', 'encoder trained on the bootstrap split: whitened (default) or mlp', 'whitened')
    .option('--fedavg-rounds <r>', 'FedAvg rounds of the parameter-sync baseline', parsePositiveInt('--fedavg-rounds', 1, 10000), 30)
    .option('--fedavg-quantization <q>', 'FedAvg updates as int8 (default) or float32', 'int8')
    .option('--poison <fraction>', 'fraction of nodes that attack the field (0 < f < 1); prints the accuracy drop', parsePositiveNumber('--poison', 1e-9, 0.99))
    .option('--attack <kind>', `attack with --poison: ${ATTACKS.join(', ')}`, 'sign-flip')
    .option('--label <column>', 'label column', 'label')
    .option('--nodes <n>', 'simulated nodes', parsePositiveInt('--nodes', 2, 256), 8)
    .option('--classes-per-node <k>', 'classes each node sees locally (default 2, or 1 for a two-class dataset)', parsePositiveInt('--classes-per-node', 1, 1000))
    .option('--rounds <r>', 'signal/sync rounds (local data arrives over the rounds)', parsePositiveInt('--rounds', 1, 1000), 5)
    .option('--seed <s>', 'seed for the split, encoder training and noise', parsePositiveInt('--seed', 0, 2 ** 31), 1)
    .option('--model <dir>', 'use this model directory as the encoder instead of training one on the bootstrap split')
    .option('-c, --config <path>', 'take signals/ccf settings from this config file (default: built-in defaults)')
    .option('--clip-norm <C|auto>', 'clip norm C, or auto = 90th percentile of bootstrap embedding norms', 'auto')
    .option('--noise-multiplier <z>', 'override signals.noiseMultiplier', parsePositiveNumber('--noise-multiplier', 1e-6))
    .option('--min-count <k>', 'override signals.minCount', parsePositiveInt('--min-count', 1))
    .option('--epsilon <e>', 'override signals.epsilon (privacy budget)', parsePositiveNumber('--epsilon', 1e-6))
    .option('--blend <w>', 'override signals.blend (field weight in prototypes, 0..1)', parsePositiveNumber('--blend', 0, 1))
    .option('--novel-classes <n>', 'classes withheld from the encoder and held by few nodes (default: 30 % of the classes, at least 2)', parsePositiveInt('--novel-classes', 0))
    .option('--no-classifier-baselines', 'skip the trained classifiers: central, FedAvg and CCF + local head (faster; the table, --json and goals omit them)')
    .option('--no-plausibility-gate', 'switch the poisoning defence of the conditioning layer off (the negative control)')
    .option('--daemons', 'also run the experiment through real daemons (embedded aedes, obs/pred over MQTT) and compare')
    .option('--json', 'print one JSON object as the last stdout line')
    .option('--plot <path>', 'write an SVG plot of accuracy per round (default h3lix-eval.svg without --json)')
    .action(async (opts: EvalOpts) => {
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
      if ((opts.data === undefined) === (opts.dataset === undefined)) throw new UsageError('give exactly one of --data CSV or --dataset NAME');
      if (opts.encoder !== 'whitened' && opts.encoder !== 'mlp') throw new UsageError(`--encoder ${opts.encoder}: expected whitened or mlp`);
      if (opts.fedavgQuantization !== 'int8' && opts.fedavgQuantization !== 'float32') throw new UsageError(`--fedavg-quantization ${opts.fedavgQuantization}: expected int8 or float32`);
      if (!(ATTACKS as readonly string[]).includes(opts.attack)) throw new UsageError(`--attack ${opts.attack}: expected one of ${ATTACKS.join(', ')}`);
      if (opts.dataset !== undefined && !(PUBLIC_DATASETS as readonly string[]).includes(opts.dataset)) throw new UsageError(`--dataset ${opts.dataset}: expected one of ${PUBLIC_DATASETS.join(', ')}`);
      const ds = opts.dataset !== undefined ? loadPublicDataset(opts.dataset, { maxRows: opts.maxRows, seed: opts.seed, env: ctx.env }) : readCsv(opts.data!, opts.label);
      const dataName = opts.dataset ?? opts.data!;
      let encoder: { model: ReturnType<typeof importEncoderOnnx>; source: string; trainedOn: string } | undefined;
      if (opts.model) {
        const loaded = loadModelDir(opts.model);
        const model = importEncoderOnnx(loaded.bytes);
        if (model.inputDim !== ds.featureNames.length) {
          throw new H3lixError('DATA_INVALID', `--model ${opts.model} expects ${model.inputDim} features, ${dataName} has ${ds.featureNames.length}`);
        }
        if (model.context) throw new UsageError(`--model ${opts.model} declares a context input; use an encoder without one`);
        encoder = { model, source: `loaded from ${opts.model} (${loaded.manifest.name} ${loaded.manifest.version}, sha256 ${loaded.manifest.sha256.slice(0, 12)}…)`, trainedOn: `its manifest's training data: ${loaded.manifest.training.data}` };
      }
      const progress = (line: string): void => writeLine(ctx.stderr, `eval: ${line}`);
      progress(`${ds.name}: ${ds.y.length} rows, ${ds.featureNames.length} features, ${new Set(ds.y).size} classes; ${opts.nodes} nodes × ${opts.classesPerNode ?? Math.min(2, new Set(ds.y).size - 1)} classes, ${opts.rounds} rounds`);
      const base = {
        X: ds.X,
        y: ds.y,
        datasetName: ds.name,
        nodes: opts.nodes,
        classesPerNode: opts.classesPerNode ?? Math.min(2, new Set(ds.y).size - 1),
        rounds: opts.rounds,
        seed: opts.seed,
        signals,
        ccf: cfg.ccf,
        encoder,
        encoderKind: opts.encoder as 'whitened' | 'mlp',
        clipNorm,
        novelClasses: opts.novelClasses,
        fedAvgRounds: opts.fedavgRounds,
        fedAvgQuantization: opts.fedavgQuantization as 'int8' | 'float32',
        plausibilityGate: opts.plausibilityGate,
        skipClassifiers: !opts.classifierBaselines,
        onProgress: progress,
      };
      const run = (extra: Partial<Parameters<typeof runFleetEval>[0]>): FleetEvalResult => {
        try {
          return runFleetEval({ ...base, ...extra });
        } catch (err) {
          if (err instanceof H3lixError && err.code === 'DATA_INVALID') throw new H3lixError('DATA_INVALID', `${dataName}: ${err.message}`, { cause: err });
          throw err;
        }
      };
      let poisonReport: PoisonReport | undefined;
      let result: FleetEvalResult;
      if (opts.poison !== undefined) {
        // Same attackers set apart in both runs; the clean run is the control.
        progress(`poisoning: clean control run (the attacking nodes behave honestly and are not scored)`);
        result = run({ poison: { fraction: opts.poison, attack: 'none' } });
        progress(`poisoning: control run with the attacking nodes silent`);
        const silent = run({ poison: { fraction: opts.poison, attack: 'silent' }, skipClassifiers: true });
        progress(`poisoning: attacked run (${opts.attack})`);
        const attacked = run({ poison: { fraction: opts.poison, attack: opts.attack as Attack }, skipClassifiers: true });
        poisonReport = {
          fraction: opts.poison,
          attack: opts.attack as Attack,
          attackers: attacked.setup.poison!.attackers,
          clean: result.ccf,
          silent: silent.ccf,
          attacked: attacked.ccf,
          dropPoints: Math.round((result.ccf.accuracy - attacked.ccf.accuracy) * 1000) / 10,
          excessDropPoints: Math.round((silent.ccf.accuracy - attacked.ccf.accuracy) * 1000) / 10,
          gate: opts.plausibilityGate,
        };
      } else {
        result = run({});
      }
      let daemons: (DaemonEvalResult & { inProcess: FleetEvalResult['ccf']; diffPoints: number }) | undefined;
      if (opts.daemons) {
        if (opts.poison !== undefined) throw new UsageError('--daemons runs without --poison');
        progress('daemons: the same split, encoder and privacy settings through real daemons');
        const d = await runDaemonEval(base);
        daemons = { ...d, inProcess: result.ccf, diffPoints: Math.round((d.ccf.accuracy - result.ccf.accuracy) * 1000) / 10 };
        progress(`daemons: CCF ${(d.ccf.accuracy * 100).toFixed(1)}% through ${opts.nodes} daemons vs ${(result.ccf.accuracy * 100).toFixed(1)}% in process (${daemons.diffPoints} points), ${d.seconds} s`);
      }
      const plot = opts.plot ?? (opts.json ? undefined : 'h3lix-eval.svg');
      if (plot) {
        try {
          writeFileSync(plot, evalPlotSvg(result));
        } catch (err) {
          throw new H3lixError('STORE_IO', `cannot write --plot ${plot}: ${(err as Error).message}`, { cause: err });
        }
        progress(`plot written to ${plot}`);
      }
      if (opts.json) writeLine(ctx.stdout, JSON.stringify({ ...result, ...(poisonReport ? { poisoning: poisonReport } : {}), ...(daemons ? { daemons } : {}) }));
      else {
        const extra = daemons ? `\ndaemon path: CCF ${(daemons.ccf.accuracy * 100).toFixed(1)}% (novel ${((daemons.ccf.novelAccuracy ?? 0) * 100).toFixed(1)}%) through ${opts.nodes} real daemons vs ${(daemons.inProcess.accuracy * 100).toFixed(1)}% in process: ${daemons.diffPoints} points` : '';
        writeLine(ctx.stdout, evalTable(result) + (poisonReport ? `\n${poisonTable(poisonReport)}` : '') + extra);
      }
      ctx.setExitCode(ExitCode.OK);
    });
}

/** Read and parse a CSV named by --data (DATA_INVALID naming the file, line and column). */
function readCsv(path: string, label: string): LabeledDataset {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new H3lixError('DATA_INVALID', `cannot read --data ${path}: ${(err as Error).message}`, { cause: err });
  }
  const ds = parseTrainingCsv(text, label, basename(path));
  ds.featureNames.forEach((name, j) => {
    const v = ds.X[0]![j]!;
    if (ds.X.every((row) => row[j] === v)) {
      throw new H3lixError('DATA_INVALID', `${basename(path)}: column "${name}" is constant (${v} on every line from 2 to ${ds.X.length + 1}): it carries no information; remove it`, { detail: { column: name } });
    }
  });
  return ds;
}
