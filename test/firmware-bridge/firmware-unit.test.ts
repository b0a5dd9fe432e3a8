import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { firmwareDir } from '../../firmware-bridge/src/firmware/run.js';

// The firmware's own C unit tests (cmocka): codec vectors, frame checks, power state machine, settings CRC.
const hasCc = spawnSync('sh', ['-c', 'command -v cc && command -v make'], { stdio: 'ignore' }).status === 0;
const skip = !hasCc ? 'cc/make not installed' : !existsSync('/usr/include/cmocka.h') ? 'cmocka not installed (apt-get install libcmocka-dev)' : undefined;

t.test('make test (cmocka) in firmware-bridge/firmware', { skip }, async (t) => {
  const res = spawnSync('make', ['-s', '-C', firmwareDir(), 'test'], { encoding: 'utf8' });
  const out = `${res.stdout}${res.stderr}`;
  t.equal(res.status, 0, 'make test exits 0');
  // one PASSED line per cmocka suite (ed25519, core, update, update one-copy)
  const passed = [...out.matchAll(/\[ {2}PASSED {2}\] (\d+) test/g)].map((m) => Number(m[1]));
  t.ok(passed.length >= 3, `${passed.length} suites passed: ${out.slice(-400)}`);
  const total = passed.reduce((a, b) => a + b, 0);
  t.ok(total >= 15, `${total} C tests passed (${passed.join(' + ')})`);
  t.notMatch(out, /FAILED/);
});
