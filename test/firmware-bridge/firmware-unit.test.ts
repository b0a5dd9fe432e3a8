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
  const m = /\[ {2}PASSED {2}\] (\d+) test/.exec(out);
  t.ok(m, out);
  t.ok(Number(m?.[1]) >= 8, `${m?.[1]} C tests passed`);
  t.notMatch(out, /FAILED/);
});
