import t from 'tap';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { readManifest } from '../../src/instance/model/manifest.js';

const sensorDir = join(import.meta.dirname, '..', '..', 'models', 'sensor-encoder');
const applianceCsv = join(import.meta.dirname, '..', '..', 'models', 'datasets', 'appliance-power.csv');

t.test('models build fits an encoder on a CSV; models verify accepts it', async (t) => {
  const dir = t.testdir();
  const data = join(dir, 'train.csv');
  writeFileSync(data, readFileSync(applianceCsv, 'utf8').split('\n').slice(0, 301).join('\n'));
  const out = join(dir, 'm');
  const r = await cli(['models', 'build', '--data', data, '--label', 'label', '--out', out, '--epochs', '6', '--seed', '3', '--embedding-dim', '8', '--with-context', '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /epoch 6\/6/, 'progress on stderr');
  const last = JSON.parse(r.stdout.trim().split('\n').pop()!) as { name: string; embeddingDim: number; contextDim: number };
  t.equal(last.name, 'm');
  t.equal(last.embeddingDim, 8);
  t.equal(last.contextDim, 8);
  t.same(readManifest(out).featureNames?.slice(0, 2), ['log_real_power', 'power_factor']);
  const v = await cli(['models', 'verify', out, '--json']);
  t.equal(v.code, 0, v.stderr);
  t.match(JSON.parse(v.stdout.trim()), { ok: true, name: 'm', cases: 8 });
  // Same data and seed → byte-identical model.
  const out2 = join(dir, 'm2');
  t.equal((await cli(['models', 'build', '--data', data, '--label', 'label', '--out', out2, '--epochs', '6', '--seed', '3', '--embedding-dim', '8', '--with-context', '--name', 'm'])).code, 0);
  t.ok(readFileSync(join(out, 'model.onnx')).equals(readFileSync(join(out2, 'model.onnx'))));
});

const badCsvs: [string, string, RegExp][] = [
  ['missing label column', 'a,b,c\n1,2,3\n4,5,6\n', /no label column "label"; columns are: a, b, c/],
  ['non-numeric cell', 'label,a,b\nx,1,2\ny,3,oops\n', /line 3, column "b": "oops" is not a finite number/],
  ['one class only', 'label,a\nx,1\nx,2\n', /only one class \(x\)/],
  ['empty file', '', /file is empty/],
  ['header only', 'label,a,b\n', /no data rows/],
  ['ragged rows', 'label,a,b\nx,1,2\ny,3\n', /line 3 has 2 fields, header has 3/],
  ['empty cell', 'label,a,b\nx,1,\ny,3,4\n', /line 2, column "b": "" is not a finite number/],
];

for (const [what, text, message] of badCsvs) {
  t.test(`models build rejects a CSV with ${what} (DATA_INVALID, exit 65)`, async (t) => {
    const dir = t.testdir({ 'bad.csv': text });
    const r = await cli(['models', 'build', '--data', join(dir, 'bad.csv'), '--label', 'label', '--out', join(dir, 'out'), '--epochs', '1']);
    t.equal(r.code, 65);
    t.match(r.stderr, /DATA_INVALID/);
    t.match(r.stderr, message);
  });
}

t.test('models build: unreadable file and bad options', async (t) => {
  const dir = t.testdir();
  const r = await cli(['models', 'build', '--data', join(dir, 'nope.csv'), '--label', 'label', '--out', join(dir, 'o')]);
  t.equal(r.code, 65);
  t.match(r.stderr, /cannot read --data/);
  t.equal((await cli(['models', 'build', '--data', applianceCsv, '--label', 'label', '--out', join(dir, 'o'), '--epochs', '0'])).code, 64);
  t.equal((await cli(['models', 'build', '--data', applianceCsv, '--label', 'label', '--out', join(dir, 'o'), '--model-version', 'v2'])).code, 64);
});

t.test('models verify: tampered bytes → MODEL_CHECKSUM; wrong golden → MODEL_INVALID; missing dir → MODEL_INVALID', async (t) => {
  const dir = t.testdir();
  const a = join(dir, 'a');
  cpSync(sensorDir, a, { recursive: true });
  const bytes = readFileSync(join(a, 'model.onnx'));
  bytes[100] ^= 1;
  writeFileSync(join(a, 'model.onnx'), bytes);
  const r = await cli(['models', 'verify', a]);
  t.equal(r.code, 65);
  t.match(r.stderr, /MODEL_CHECKSUM/);

  const b = join(dir, 'b');
  cpSync(sensorDir, b, { recursive: true });
  const golden = JSON.parse(readFileSync(join(b, 'golden.json'), 'utf8')) as { cases: { embedding: number[] }[] };
  golden.cases[2]!.embedding[3]! += 0.5;
  writeFileSync(join(b, 'golden.json'), JSON.stringify(golden));
  const r2 = await cli(['models', 'verify', b]);
  t.equal(r2.code, 65);
  t.match(r2.stderr, /MODEL_INVALID: golden vectors differ/);

  const c = join(dir, 'c');
  cpSync(sensorDir, c, { recursive: true });
  const m = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  delete m.sha256;
  writeFileSync(join(c, 'manifest.json'), JSON.stringify(m));
  const r3 = await cli(['models', 'verify', c]);
  t.equal(r3.code, 65);
  t.match(r3.stderr, /MODEL_INVALID: .*manifest.json: sha256/);

  const r4 = await cli(['models', 'verify', join(dir, 'none')]);
  t.equal(r4.code, 65);
  t.match(r4.stderr, /cannot read manifest/);

  const ok = await cli(['models', 'verify', sensorDir]);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /ok \(sensor-encoder 1\.0\.0, sha256 matches, 10 golden vectors/);
});
