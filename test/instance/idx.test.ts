/** IDX decoding (Fashion-MNIST's native format) and the public dataset loaders. */
import t from 'tap';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { decodeIdx } from '../../src/instance/data/idx.js';
import { loadPublicDataset } from '../../src/instance/data/public-datasets.js';

function idx(dims: number[], data: number[], type = 0x08): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return new Uint8Array(Buffer.concat([head, Buffer.from(data)]));
}

t.test('IDX: plain and gzipped files decode; every malformed file is rejected with the reason', async (t) => {
  const ok = idx([2, 3], [1, 2, 3, 4, 5, 6]);
  t.same(decodeIdx(ok, 'x').dims, [2, 3]);
  t.same([...decodeIdx(gzipSync(ok), 'x').data], [1, 2, 3, 4, 5, 6]);
  t.throws(() => decodeIdx(ok.subarray(0, ok.length - 1), 'f'), { code: 'DATA_INVALID', message: /need 6 data bytes, the file has 5/ });
  t.throws(() => decodeIdx(new Uint8Array([1, 0, 8, 1]), 'f'), { code: 'DATA_INVALID', message: /not an IDX file/ });
  t.throws(() => decodeIdx(idx([2], [1, 2], 0x0d), 'f'), { code: 'DATA_INVALID', message: /not unsigned byte/ });
  t.throws(() => decodeIdx(new Uint8Array([0, 0, 8, 3, 0, 0]), 'f'), { code: 'DATA_INVALID', message: /truncated IDX header/ });
  t.throws(() => decodeIdx(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 'f'), { code: 'DATA_INVALID', message: /gzip data is corrupt/ });
  t.throws(() => decodeIdx(new Uint8Array([0, 0]), 'f'), { code: 'DATA_INVALID', message: /too short/ });
});

t.test('npm-installed public datasets load in their native formats', async (t) => {
  const w = loadPublicDataset('seattle-weather');
  t.equal(w.X.length, 1461);
  t.same([...new Set(w.y)].sort(), ['drizzle', 'fog', 'rain', 'snow', 'sun']);
  t.equal(w.featureNames.length, 6);
  const s = loadPublicDataset('suthaharan', { seed: 2 });
  t.equal(s.y.filter((l) => l === 'anomaly').length, 149, 'every labelled anomaly');
  t.equal(s.y.filter((l) => l === 'normal').length, 4 * 149);
  t.throws(() => loadPublicDataset('nope'), { code: 'DATA_INVALID', message: /unknown dataset "nope"/ });
});

const fashion = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
t.test('Fashion-MNIST from the Debian package', { skip: existsSync(fashion) ? false : 'dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)' }, async (t) => {
  const f = loadPublicDataset('fashion-mnist', { maxRows: 1000 });
  t.equal(f.featureNames.length, 784);
  t.equal(new Set(f.y).size, 10);
  t.ok(Math.abs(f.X.length - 1000) <= 10, `${f.X.length} rows, class-stratified`);
  t.ok(f.X.every((r) => r.every((v) => v >= 0 && v <= 1)), 'pixels scaled to [0, 1]');
  t.throws(() => loadPublicDataset('fashion-mnist', { env: { H3LIX_FASHION_MNIST_DIR: '/nonexistent' } }), { code: 'DATA_INVALID', message: /apt-get install dataset-fashion-mnist/ });
});
