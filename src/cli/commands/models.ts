import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { H3lixError } from '../../errors.js';
import { parseTrainingCsv } from '../../instance/data/csv.js';
import { PUBLIC_DATASETS, loadPublicDataset } from '../../instance/data/public-datasets.js';
import { trainEncoder, withContextProjection, type TrainedEncoder } from '../../instance/model/mlp.js';
import { trainWhitenedEncoder } from '../../instance/model/whitened.js';
import { writeModelDir } from '../../instance/model/model-writer.js';
import { verifyModelDir } from '../../instance/model/verify.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, parsePositiveInt, writeLine, type CliContext } from '../context.js';

interface BuildOpts {
  data?: string;
  dataset?: string;
  maxRows?: number;
  encoder: string;
  label?: string;
  out: string;
  epochs: number;
  seed: number;
  embeddingDim?: number;
  hidden: number;
  name?: string;
  modelVersion: string;
  withContext?: boolean;
  json?: boolean;
}

/**
 * `h3lix models build`: fit an encoder on any numeric CSV and write a model directory;
 * `h3lix models verify DIR`: sha256 against the manifest + golden vectors through onnxruntime-node.
 */
export function registerModelsCommands(program: Command, ctx: CliContext): void {
  const models = program.command('models').description('build and verify the instance encoder models (ONNX)');
  models
    .command('build')
    .description('train an encoder on a numeric CSV (header row, one label column, numeric features) and write model.onnx, manifest.json, golden.json, MODEL_CARD.md')
    .option('--data <csv>', 'training CSV (with --label)')
    .option('--label <column>', 'name of the label column')
    .option('--dataset <name>', `a public dataset instead of --data: ${PUBLIC_DATASETS.join(', ')}`)
    .option('--max-rows <n>', 'row cap for large datasets (class-stratified)', parsePositiveInt('--max-rows', 100))
    .option('--encoder <kind>', 'mlp (supervised, default) or whitened (principal components + within-class whitening, docs/evaluation.md)', 'mlp')
    .requiredOption('--out <dir>', 'output model directory (created)')
    .option('--epochs <n>', 'training epochs', parsePositiveInt('--epochs', 1, 10000), 40)
    .option('--seed <s>', 'PRNG seed (same seed and data → identical model)', parsePositiveInt('--seed', 0, 2 ** 31 - 1), 1)
    .option('--embedding-dim <d>', 'embedding dimension (default 16 for mlp, 48 for whitened)', parsePositiveInt('--embedding-dim', 1, 1024))
    .option('--hidden <h>', 'hidden layer width', parsePositiveInt('--hidden', 1, 4096), 32)
    .option('--name <name>', 'model name (default: output directory name)')
    .option('--model-version <semver>', 'model version major.minor.patch', '1.0.0')
    .option('--with-context', 'declare a `context` input [N, embedding-dim] (DESIGN 5)')
    .option('--json', 'print the manifest as one JSON line on stdout')
    .action((opts: BuildOpts) => {
      if (!/^\d+\.\d+\.\d+$/.test(opts.modelVersion)) throw new UsageError(`--model-version must be major.minor.patch, got "${opts.modelVersion}"`);
      if (opts.encoder !== 'mlp' && opts.encoder !== 'whitened') throw new UsageError(`--encoder ${opts.encoder}: expected mlp or whitened`);
      if ((opts.data === undefined) === (opts.dataset === undefined)) throw new UsageError('give exactly one of --data CSV (with --label) or --dataset NAME');
      if (opts.data !== undefined && opts.label === undefined) throw new UsageError('--data needs --label');
      if (opts.dataset !== undefined && !(PUBLIC_DATASETS as readonly string[]).includes(opts.dataset)) throw new UsageError(`--dataset ${opts.dataset}: expected one of ${PUBLIC_DATASETS.join(', ')}`);
      let ds;
      if (opts.dataset !== undefined) ds = loadPublicDataset(opts.dataset, { maxRows: opts.maxRows, seed: opts.seed, env: ctx.env });
      else {
        let text: string;
        try {
          text = readFileSync(opts.data!, 'utf8');
        } catch (err) {
          throw new H3lixError('DATA_INVALID', `cannot read --data ${opts.data}: ${(err as Error).message}`, { cause: err });
        }
        ds = parseTrainingCsv(text, opts.label!, opts.data);
      }
      const classes = [...new Set(ds.y)].sort();
      writeLine(ctx.stderr, `models build: ${ds.X.length} rows, ${ds.featureNames.length} features, ${classes.length} classes (${classes.join(', ')}), ${opts.encoder} encoder`);
      let enc: TrainedEncoder =
        opts.encoder === 'whitened'
          ? trainWhitenedEncoder(ds.X, ds.y, { seed: opts.seed, embeddingDim: opts.embeddingDim })
          : trainEncoder(ds.X, ds.y, {
              epochs: opts.epochs,
              seed: opts.seed,
              embeddingDim: opts.embeddingDim ?? 16,
              hidden: opts.hidden,
              onProgress: (p) => {
                if (p.epoch === 1 || p.epoch % 5 === 0 || p.epoch === p.epochs) writeLine(ctx.stderr, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} accuracy ${p.accuracy.toFixed(3)}`);
              },
            });
      if (opts.withContext) enc = withContextProjection(enc);
      const name = opts.name ?? basename(opts.out);
      const manifest = writeModelDir(opts.out, enc, {
        name,
        version: opts.modelVersion,
        featureNames: ds.featureNames,
        trainingData:
          opts.encoder === 'whitened'
            ? `${ds.X.length} rows of ${opts.dataset ?? basename(opts.data!)}: principal components (no labels) whitened by the within-class covariance of its ${classes.length} classes, h3lix models build --encoder whitened, seed ${opts.seed}.`
            : `${ds.X.length} rows of ${opts.dataset ?? basename(opts.data!)} (label column "${opts.label ?? 'label'}"), trained with h3lix models build, seed ${opts.seed}, ${opts.epochs} epochs.`,
        goldenInputs: ds.X.slice(0, 8),
        prototypes: opts.encoder === 'whitened',
        goldenContexts: ds.X.slice(0, 8).map((_, i) => Array.from({ length: enc.embeddingDim }, (__, j) => Math.sin(i + j))),
      });
      writeLine(ctx.stderr, `wrote ${opts.out}: model.onnx sha256 ${manifest.sha256}`);
      writeLine(ctx.stdout, opts.json ? JSON.stringify(manifest) : `${name} ${manifest.version}: ${opts.out} (${manifest.inputDim} → ${manifest.embeddingDim}, training accuracy ${manifest.training.trainAccuracy.toFixed(3)})`);
      ctx.setExitCode(ExitCode.OK);
    });

  models
    .command('verify')
    .description('check a model directory: model.onnx sha256 against manifest.json, and golden.json through onnxruntime-node')
    .argument('<dir>', 'model directory')
    .option('--json', 'print the result as one JSON line on stdout')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const r = await verifyModelDir(dir);
      const summary = { ok: true, name: r.manifest.name, version: r.manifest.version, sha256: r.manifest.sha256, cases: r.cases, maxAbsDiff: r.maxAbsDiff, tolerance: r.tolerance };
      writeLine(ctx.stdout, opts.json ? JSON.stringify(summary) : `${dir}: ok (${r.manifest.name} ${r.manifest.version}, sha256 matches, ${r.cases} golden vectors, max |diff| ${r.maxAbsDiff.toExponential(2)} <= ${r.tolerance})`);
      ctx.setExitCode(ExitCode.OK);
    });
}
