import t from 'tap';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChecked, encodeChecked, readFileChecked, writeFileAtomic, writeFileAtomicRaw } from '../../src/store/atomic-file.js';
import { H3lixError } from '../../src/errors.js';

t.test('round trip, 0600 by default, no temp left behind, overwrite replaces', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'sub', 'cert.json');
  writeFileAtomic(path, Buffer.from('{"a":1}'));
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.equal(Buffer.from(readFileChecked(path)!).toString(), '{"a":1}');
  t.match(readFileSync(path, 'utf8'), /^\{"a":1\}\n#h3lix-sha256 [0-9a-f]{64}\n$/, 'payload readable, trailer appended');
  writeFileAtomic(path, new Uint8Array([0, 1, 2, 255]), 0o640);
  t.same([...readFileChecked(path)!], [0, 1, 2, 255]);
  t.same(readdirSync(join(dir, 'sub')), ['cert.json']);
  t.equal(readFileChecked(join(dir, 'missing')), undefined);
  writeFileAtomic(join(dir, 'empty'), new Uint8Array(0));
  t.equal(readFileChecked(join(dir, 'empty'))!.length, 0, 'empty payload is fine');
});

t.test('every truncation and every single-bit flip is detected', async (t) => {
  const file = Buffer.from(encodeChecked(Buffer.from('certificate payload')));
  let undetected = 0;
  for (let len = 0; len < file.length; len++) {
    try {
      decodeChecked(file.subarray(0, len));
      undetected++;
    } catch (err) {
      if ((err as H3lixError).code !== 'STORE_CORRUPT') undetected++;
    }
  }
  for (let i = 0; i < file.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(file);
      bad[i]! ^= 1 << bit;
      try {
        decodeChecked(bad);
        undetected++;
      } catch {
        /* detected */
      }
    }
  }
  t.equal(undetected, 0);
});

t.test('corrupt file on disk: STORE_CORRUPT naming the path; directory as file: STORE_IO', async (t) => {
  const dir = t.testdir({ junk: 'no trailer here', adir: {} });
  const err = t.throws(() => readFileChecked(join(dir, 'junk'))) as H3lixError;
  t.equal(err.code, 'STORE_CORRUPT');
  t.match(err.message, /junk/);
  t.equal((t.throws(() => readFileChecked(join(dir, 'adir'))) as H3lixError).code, 'STORE_IO');
  t.equal((t.throws(() => writeFileAtomicRaw(join(dir, 'adir'), new Uint8Array(1))) as H3lixError).code, 'STORE_IO', 'rename over a directory fails');
  t.same(readdirSync(dir).sort(), ['adir', 'junk'], 'failed write leaves no temp');
  writeFileSync(join(dir, 'f'), 'x');
  t.equal((t.throws(() => writeFileAtomic(join(dir, 'f', 'under-a-file'), new Uint8Array(1))) as H3lixError).code, 'STORE_IO');
});
