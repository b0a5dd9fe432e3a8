/**
 * Builds every committed model and dataset, deterministically: `npx tsx models/build.ts [outDir]`
 * (default: this folder). Same code + same seeds → byte-identical model.onnx (test/models checks the
 * sha256 of a rebuild against the committed manifests).
 *
 *   sensor-encoder       trained ONLY on the "public pre-training" split: sensor task, `bench` domain
 *                        (test-rig machines), seed 101, 2400 windows, all 8 conditions.
 *   sensor-encoder-ctx   the same encoder weights plus a declared `context` input (DESIGN 5).
 *   appliance-encoder    appliance task, `eu` domain, seed 201, 2000 examples.
 *   datasets/sensor-vibration.csv  fleet-domain sensor rows (seed 102) for evaluation and the CLI demo.
 *   datasets/appliance-power.csv   appliance rows (seed 202, `eu` domain).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainEncoder, withContextProjection, type TrainedEncoder } from '../src/instance/model/mlp.js';
import { writeModelDir } from '../src/instance/model/model-writer.js';
import type { ModelManifest } from '../src/instance/model/manifest.js';
import { createRng } from '../src/util/prng.js';
import { generateSensorDataset, SENSOR_FEATURES } from '../src/instance/data/sensor-task.js';
import { generateApplianceDataset, APPLIANCE_FEATURES } from '../src/instance/data/appliance-task.js';
import { writeDatasetCsv, type LabeledDataset } from '../src/instance/data/dataset.js';

export const MODEL_VERSION = '1.0.0';

const SENSOR_LIMITS = [
  'Synthetic data: the signatures follow textbook fault physics, not recordings of real machines.',
  'Pre-trained on the `bench` domain (shaft 20-40 Hz, 50 Hz mains, gain 0.9-1.1); field boards (`fleet`: 15-50 Hz, 50/60 Hz, gain 0.6-1.5) see a domain shift that the field prototypes are meant to absorb.',
  'Assumes the shaft speed is known (tachometer) and the window is 1024 samples at 5120 Hz.',
];

function goldenRows(ds: LabeledDataset, enc: TrainedEncoder, seed: number): { inputs: number[][]; contexts: number[][] } {
  const rng = createRng(seed);
  const inputs = [...ds.X.slice(0, 8), Array.from(enc.mean), new Array<number>(enc.inputDim).fill(0)];
  const contexts = inputs.map(() => Array.from({ length: enc.embeddingDim }, () => rng.normal()));
  return { inputs, contexts };
}

/** Build all models and datasets under `root`; `log` receives progress lines. */
export function buildAll(root: string, log: (line: string) => void = () => {}): ModelManifest[] {
  const out: ModelManifest[] = [];
  const progress = (name: string) => (p: { epoch: number; epochs: number; loss: number; accuracy: number }) => {
    if (p.epoch % 10 === 0 || p.epoch === p.epochs) log(`${name}: epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} acc ${p.accuracy.toFixed(3)}`);
  };

  log('sensor: generating pre-training split (bench domain, seed 101, 2400 windows)');
  const pretrain = generateSensorDataset({ n: 2400, seed: 101, domain: 'bench' });
  const sensor = trainEncoder(pretrain.X, pretrain.y, { hidden: 32, embeddingDim: 16, epochs: 40, seed: 1, onProgress: progress('sensor-encoder') });
  const sensorHeldOut = generateSensorDataset({ n: 64, seed: 103, domain: 'fleet' });
  const sensorData =
    'Synthetic machine-vibration windows from src/instance/data/sensor-task.ts (generateSensorDataset), "public pre-training" split only: ' +
    `domain "bench", seed 101, 2400 windows, 300 per condition (${pretrain.y.length} rows), 20 features: ${SENSOR_FEATURES.join(', ')}.`;
  const g = goldenRows(sensorHeldOut, sensor, 7);
  out.push(
    writeModelDir(join(root, 'sensor-encoder'), sensor, {
      name: 'sensor-encoder', version: MODEL_VERSION, trainingData: sensorData, featureNames: [...SENSOR_FEATURES],
      limits: SENSOR_LIMITS, goldenInputs: g.inputs,
    }),
  );
  out.push(
    writeModelDir(join(root, 'sensor-encoder-ctx'), withContextProjection(sensor), {
      name: 'sensor-encoder-ctx', version: MODEL_VERSION, trainingData: `${sensorData} Same weights as sensor-encoder; adds context input (0.5 x identity projection).`,
      featureNames: [...SENSOR_FEATURES], limits: SENSOR_LIMITS, goldenInputs: g.inputs, goldenContexts: g.contexts,
      intendedUse: 'As sensor-encoder, with the Collective Context Field vector of the active key set fed as `context` [N, 16]; the embedding is pulled toward it by half its value.',
    }),
  );
  log(`sensor-encoder: training accuracy ${sensor.training.trainAccuracy.toFixed(3)}`);

  log('appliance: generating training split (eu domain, seed 201, 2000 examples)');
  const appl = generateApplianceDataset({ n: 2000, seed: 201, domain: 'eu' });
  const applEnc = trainEncoder(appl.X, appl.y, { hidden: 32, embeddingDim: 16, epochs: 40, seed: 2, onProgress: progress('appliance-encoder') });
  const ga = goldenRows(generateApplianceDataset({ n: 64, seed: 203, domain: 'eu' }), applEnc, 8);
  out.push(
    writeModelDir(join(root, 'appliance-encoder'), applEnc, {
      name: 'appliance-encoder', version: MODEL_VERSION, featureNames: [...APPLIANCE_FEATURES], goldenInputs: ga.inputs,
      trainingData: `Synthetic household power signatures from src/instance/data/appliance-task.ts (generateApplianceDataset): domain "eu" (230 V, 50 Hz), seed 201, 2000 examples of 10 appliances, 16 features: ${APPLIANCE_FEATURES.join(', ')}.`,
      limits: ['Synthetic data from simplified load physics; one appliance at a time (no superposition of loads).', 'Trained on 230 V / 50 Hz; the `us` domain (120 V / 60 Hz) is a shift.'],
    }),
  );

  log('datasets: writing datasets/sensor-vibration.csv (fleet, seed 102) and datasets/appliance-power.csv (eu, seed 202)');
  writeDatasetCsv(join(root, 'datasets', 'sensor-vibration.csv'), generateSensorDataset({ n: 2400, seed: 102, domain: 'fleet' }));
  writeDatasetCsv(join(root, 'datasets', 'appliance-power.csv'), generateApplianceDataset({ n: 2000, seed: 202, domain: 'eu' }));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
  const manifests = buildAll(root, (l) => process.stderr.write(`${l}\n`));
  for (const m of manifests) process.stdout.write(`${m.name} ${m.version} sha256 ${m.sha256}\n`);
}
