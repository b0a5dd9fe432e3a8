import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../helpers/cli.js';
import { firmwareSkipReason } from './firmware-helpers.js';
import { until } from './helpers.js';

// `h3lix emulate --protocol mcu-qemu` starts the real firmware image; `h3lix mcu ...` talks to it.
const skip = firmwareSkipReason('qemu');

t.test('emulate --protocol mcu-qemu + mcu status/power-off (in-process CLI, real QEMU firmware)', { skip }, async (t) => {
  const pty = join(t.testdir(), 'ttyMCU');
  const emu = cli(['emulate', '--protocol', 'mcu-qemu', '--pty', pty, '--duration', '6', '--json']);
  await until(() => existsSync(pty), 10_000, 'the firmware pty');
  const st = await cli(['mcu', 'status', '--port', pty, '--json']);
  t.equal(st.code, 0, st.stderr);
  const out = JSON.parse(st.stdout) as { info: { name: string }; status: { wakeReason: string; powerState: string } };
  t.equal(out.info.name, 'h3lix-ref-mps2');
  t.equal(out.status.wakeReason, 'cold');
  t.equal(out.status.powerState, 'on');
  const wall = await cli(['mcu', 'power-off', '--port', pty, '--until', '2030-01-01T00:00:00Z']);
  t.equal(wall.code, 1, 'refused: the MCU clock is not set');
  t.match(wall.stderr, /COMMAND_REFUSED.*out-of-range/);
  t.equal((await cli(['mcu', 'set-time', '--port', pty])).code, 0);
  const off = await cli(['mcu', 'power-off', '--port', pty, '--for', '3600', '--halt', '0', '--confirm', '--json']);
  t.equal(off.code, 0, off.stderr);
  t.same(JSON.parse(off.stdout), { armed: { kind: 'duration', seconds: 3600 }, confirmed: true });
  const res = await emu;
  t.equal(res.code, 0, res.stderr);
  t.match(JSON.parse(res.stdout.trim()), { protocol: 'mcu-qemu', target: 'qemu' });
});

t.test('mcu and emulate CLI usage errors', async (t) => {
  const dir = t.testdir();
  const two = await cli(['mcu', 'power-off', '--port', join(dir, 'none'), '--for', '10', '--soc', '50']);
  t.equal(two.code, 64);
  t.match(two.stderr, /exactly one of/);
  const trace = await cli(['emulate', '--protocol', 'mcu-qemu', '--pty', join(dir, 'p'), '--trace', 'x.csv']);
  t.equal(trace.code, 64);
  const nodev = await cli(['mcu', 'status', '--port', join(dir, 'missing')]);
  t.equal(nodev.code, 69, 'a missing port is SERIAL_UNAVAILABLE');
});
