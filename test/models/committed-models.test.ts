import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModelDir, readGolden, readManifest } from '../../src/instance/model/manifest.js';
import { verifyModelDir } from '../../src/instance/model/verify.js';
import { importEncoderOnnx } from '../../src/instance/model/onnx-export.js';
import { encode } from '../../src/instance/model/mlp.js';
import { buildAll } from '../../models/build.js';

const root = join(import.meta.dirname, '..', '..', 'models');
const dirs = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'manifest.json')))
  .map((d) => d.name)
  .sort();

const python = '/usr/bin/python3';
const hasOnnx = existsSync(python) && spawnSync(python, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

t.test('the expected models are committed', async (t) => {
  t.same(dirs, ['appliance-encoder', 'sensor-encoder', 'sensor-encoder-ctx']);
  t.ok(readManifest(join(root, 'sensor-encoder-ctx')).inputs.some((i) => i.name === 'context'), 'one variant declares a context input (DESIGN 5)');
});

for (const name of dirs) {
  const dir = join(root, name);
  t.test(`${name}: sha256, golden vectors through onnxruntime-node, manifest shapes`, async (t) => {
    const { manifest, bytes } = loadModelDir(dir);
    t.equal(manifest.name, name);
    t.equal(manifest.irVersion, 8);
    t.ok(manifest.opset >= 13);
    const r = await verifyModelDir(dir);
    t.ok(r.maxAbsDiff <= r.tolerance, `max |diff| ${r.maxAbsDiff}`);
    // Declared names/shapes match what onnxruntime sees, and the batch dimension is dynamic.
    const session = await ort.InferenceSession.create(bytes);
    t.teardown(() => session.release());
    t.same([...session.inputNames].sort(), manifest.inputs.map((i) => i.name).sort());
    t.same([...session.outputNames], ['embedding']);
    const golden = readGolden(dir);
    for (const n of [1, 3]) {
      const rows = Array.from({ length: n }, (_, i) => golden.cases[i]!);
      const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', Float32Array.from(rows.flatMap((c) => c.input)), [n, manifest.inputDim]) };
      if (manifest.contextDim) feeds.context = new ort.Tensor('float32', Float32Array.from(rows.flatMap((c) => c.context!)), [n, manifest.contextDim]);
      const out = await session.run(feeds);
      t.same(out.embedding!.dims, [n, manifest.embeddingDim], `batch ${n}`);
    }
    // The pure-TS forward of the re-imported ONNX reproduces the golden vectors too.
    const enc = importEncoderOnnx(bytes);
    t.same(enc.classes, manifest.classes);
    const worst = Math.max(...golden.cases.map((c) => Math.max(...Array.from(encode(enc, c.input, c.context), (v, i) => Math.abs(v - c.embedding[i]!)))));
    t.ok(worst <= 1e-6, `TS forward of the imported model matches golden (max |diff| ${worst})`);
  });

  t.test(`${name}: onnx.checker.check_model`, { skip: hasOnnx ? false : 'python3-onnx not installed (apt-get install python3-onnx)' }, async (t) => {
    const out = execFileSync(python, ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok", m.ir_version, m.opset_import[0].version)', join(dir, 'model.onnx')], { encoding: 'utf8' });
    t.match(out, /^ok 8 13/);
  });
}

t.test('models/build.ts is deterministic: a rebuild reproduces every committed file byte for byte', async (t) => {
  const out = t.testdir();
  const manifests = buildAll(out);
  t.equal(manifests.length, dirs.length);
  for (const m of manifests) {
    t.equal(m.sha256, readManifest(join(root, m.name)).sha256, `${m.name} sha256`);
    for (const f of ['manifest.json', 'golden.json', 'MODEL_CARD.md']) {
      t.equal(readFileSync(join(out, m.name, f), 'utf8'), readFileSync(join(root, m.name, f), 'utf8'), `${m.name}/${f}`);
    }
  }
  for (const csv of ['sensor-vibration.csv', 'appliance-power.csv']) {
    const committed = readFileSync(join(root, 'datasets', csv));
    t.ok(committed.length < 1_000_000, `${csv} < 1 MB`);
    t.ok(readFileSync(join(out, 'datasets', csv)).equals(committed), `${csv} identical`);
  }
});

t.test('resolveModelDir finds the bundled models from any working directory', async (t) => {
  const { resolveModelDir, packageRoot } = await import('../../src/instance/model/model-path.js');
  const elsewhere = t.testdir();
  t.equal(resolveModelDir('models/sensor-encoder', elsewhere), join(root, 'sensor-encoder'));
  t.equal(packageRoot(), join(root, '..'));
  t.equal(resolveModelDir('/abs/x'), '/abs/x');
  t.equal(resolveModelDir('.', root + '/sensor-encoder'), join(root, 'sensor-encoder'));
});

t.test('loadEncoder gives the pure-TS forward of a committed model', async (t) => {
  const { loadEncoder, encode: enc } = await import('../../src/instance/model/index.js');
  const { manifest, encoder } = loadEncoder('models/sensor-encoder-ctx');
  t.equal(manifest.contextDim, 16);
  const c = readGolden(join(root, 'sensor-encoder-ctx')).cases[0]!;
  t.ok(Math.max(...Array.from(enc(encoder, c.input, c.context), (v, i) => Math.abs(v - c.embedding[i]!))) <= 1e-6);
});
