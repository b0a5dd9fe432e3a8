import t from 'tap';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultProfilesDir, listBoardProfiles, loadBoardProfile } from '../../src/energy/board-profile.js';
import { H3lixError } from '../../src/errors.js';

const BOARDS = ['generic-x86', 'jetson-orin-nano', 'rpi-4', 'rpi-5', 'rpi-zero-2w'];

t.test('every shipped profile loads and validates', (t) => {
  t.same(listBoardProfiles(), BOARDS);
  for (const name of BOARDS) {
    const p = loadBoardProfile(name);
    t.equal(p.name, name);
    t.ok(p.power.busyWatts > p.power.idleWatts, `${name}: busy > idle`);
    t.ok(p.thresholds.survival.exit <= p.thresholds.conserve.enter, `${name}: bands ordered`);
    t.ok(p.onnx.executionProviders.includes('cpu'), `${name}: cpu fallback`);
  }
  t.same(loadBoardProfile('jetson-orin-nano').onnx.executionProviders, ['cuda', 'cpu']);
  t.end();
});

t.test('unknown board → BOARD_UNKNOWN listing the valid names', (t) => {
  const err = t.throws(() => loadBoardProfile('rpi-9')) as H3lixError;
  t.equal(err.code, 'BOARD_UNKNOWN');
  for (const name of BOARDS) t.match(err.message, name);
  t.equal((t.throws(() => loadBoardProfile('../etc/passwd')) as H3lixError).code, 'BOARD_UNKNOWN');
  t.end();
});

t.test('an invalid profile is rejected naming the bad key', (t) => {
  const dir = t.testdir();
  const good = readFileSync(join(defaultProfilesDir(), 'rpi-4.yaml'), 'utf8');
  writeFileSync(join(dir, 'bad-watts.yaml'), good.replace('name: rpi-4', 'name: bad-watts').replace('busyWatts: 6.4', 'busyWatts: lots'));
  writeFileSync(join(dir, 'extra-key.yaml'), good.replace('name: rpi-4', 'name: extra-key').replace('  baud: 19200', '  baud: 19200\n  parity: none'));
  writeFileSync(join(dir, 'bad-band.yaml'), good.replace('name: rpi-4', 'name: bad-band').replace('survival: { enter: 0.15, exit: 0.25 }', 'survival: { enter: 0.3, exit: 0.2 }'));
  writeFileSync(join(dir, 'wrong-name.yaml'), good);
  const e1 = t.throws(() => loadBoardProfile('bad-watts', dir)) as H3lixError;
  t.equal(e1.code, 'CONFIG_INVALID');
  t.match(e1.message, 'power.busyWatts');
  t.match((t.throws(() => loadBoardProfile('extra-key', dir)) as H3lixError).message, 'serial.parity');
  t.match((t.throws(() => loadBoardProfile('bad-band', dir)) as H3lixError).message, 'thresholds.survival');
  t.match((t.throws(() => loadBoardProfile('wrong-name', dir)) as H3lixError).message, /name: "rpi-4" does not match/);
  t.end();
});

t.test('the systemd unit restarts on failure and passes the board', (t) => {
  const unit = readFileSync(join(defaultProfilesDir(), '..', 'systemd', 'h3lix.service'), 'utf8');
  t.match(unit, /^Restart=on-failure$/m);
  t.match(unit, /h3lix run --config \/etc\/h3lix\/h3lix\.yaml --board/);
  t.end();
});
