import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { firmwareDir } from '../../firmware-bridge/src/firmware/run.js';
import { firmwareSkipReason } from './firmware-helpers.js';

// The firmware's C unit tests (cmocka), among them the torn-write campaign over the update and boot
// logic (test/test_update.c) and its negative control (records rewritten in place must be caught).
const skip = firmwareSkipReason('host') ?? (existsSync('/usr/include/cmocka.h') ? undefined : 'cmocka not installed (apt-get install libcmocka-dev)');

t.test('make test: cmocka unit tests of the firmware core and the torn-write cut points', { skip, timeout: 120_000 }, async (t) => {
  const { stdout } = await promisify(execFile)('make', ['-s', '-C', firmwareDir(), 'test'], { maxBuffer: 1 << 20 });
  const lines = [...stdout.matchAll(/torn-write cuts: (\d+) \(1\.1\.0->1\.2\.0\) \+ (\d+) \(1\.2\.0->1\.3\.0\), violations (\d+) \+ (\d+)/g)].map((m) => m.slice(1).map(Number));
  t.equal(lines.length, 2, 'the campaign ran in the real build and in the one-copy control');
  const [real, control] = lines as [number[], number[]];
  t.ok(real[0]! + real[1]! >= 1000, `${real[0]! + real[1]!} cut points inside flash writes`);
  t.equal(real[2]! + real[3]!, 0, 'no cut leaves an unbootable MCU or an unconfirmed image confirmed');
  t.ok(control[2]! + control[3]! > 0, `negative control (one record copy, rewritten in place): ${control[2]! + control[3]!} violations found`);
  t.notMatch(stdout, /FAILED/);
});
