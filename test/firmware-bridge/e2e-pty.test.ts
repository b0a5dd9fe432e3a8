import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { existsSync } from 'node:fs';
import { runCli } from '../../src/cli/main.js';
import type { EnergyReading } from '../../src/energy/reading.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { Emulator, type EmulatedProtocol } from '../../firmware-bridge/src/emulator/emulator.js';
import { openEnergySource } from '../../firmware-bridge/src/source/open.js';
import type { SourceStatus } from '../../firmware-bridge/src/source/energy-source.js';
import { encodeVeDirectBlock } from '../../firmware-bridge/src/vedirect/protocol.js';
import { cli } from '../helpers/cli.js';
import { until } from './helpers.js';

const SOCAT = '/usr/bin/socat';
if (!existsSync(SOCAT)) t.plan(0, 'socat not installed');

async function emulate(protocol: EmulatedProtocol, pty: string, tickMs = 50): Promise<Emulator> {
  const emu = new Emulator({ protocol, pty, tickMs, speed: 60, clock: systemClock, logger: silentLogger(), model: { seed: 7, startHour: 11 } });
  await emu.start();
  return emu;
}

t.test('emulator → h3lix energy watch over a socat pty (in-process CLI)', async (t) => {
  const path = join(t.testdir(), 'ttyVE0');
  const emu = await emulate('vedirect', path);
  t.teardown(() => emu.stop());
  const res = await cli(['energy', 'watch', '--source', `vedirect:${path}`, '--count', '3', '--json', '--timeout', '15']);
  t.equal(res.code, 0, res.stderr);
  const lines = res.stdout.trim().split('\n');
  t.equal(lines.length, 3);
  for (const line of lines) {
    const r = JSON.parse(line) as EnergyReading;
    t.equal(r.source, `vedirect:${path}`);
    t.ok(r.batteryVoltage > 11 && r.batteryVoltage < 15, `battery ${r.batteryVoltage} V`);
    t.ok(r.pvVoltage! > 15 && r.pvPower! > 0, 'PV at 11:00 produces');
    t.ok(r.batteryCurrent > 0, 'charging at midday is positive current');
    t.type(r.loadPower, 'number');
    t.type(r.time, 'number');
  }
  t.match(res.stderr, /3 readings/);
});

t.test('kill the pty mid-stream, recreate it: the source reconnects and readings resume', async (t) => {
  const path = join(t.testdir(), 'ttyVE1');
  let emu = await emulate('vedirect', path);
  t.teardown(() => emu.stop());
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = () => stdout.split('\n').filter(Boolean).length;
  const run = runCli(['node', 'h3lix', 'energy', 'watch', '--source', `vedirect:${path}?reconnect_max=200`, '--count', '8', '--json', '--verbose', '--timeout', '30'], { stdout: out, stderr: err, env: {} });
  await until(() => lines() >= 3, 10_000, '3 readings');
  const pid = emu.ptyPid!;
  await emu.stop(); // kills socat: both ptys and the link vanish
  t.notOk(existsSync(path), `socat ${pid} gone, ${path} removed`);
  await until(() => /: (closed|error) \(/.test(stderr), 5000, 'the source to notice');
  const before = lines();
  t.ok(before < 8, 'still waiting for readings');
  await new Promise((r) => setTimeout(r, 400)); // a few failed reopen attempts (ENOENT)
  emu = await emulate('vedirect', path);
  const code = await run;
  t.equal(code, 0, stderr);
  t.equal(lines(), 8, 'readings resumed after the pty came back');
  t.equal(stderr.match(/: open\n/g)?.length, 2, 'opened twice');
  t.match(stderr, /ENOENT|No such file|cannot open/, 'the failed reopen attempts name the reason');
  for (const line of stdout.trim().split('\n')) t.doesNotThrow(() => JSON.parse(line));
});

t.test('companion MCU over a pty: streamed readings, sample interval set from the URI', async (t) => {
  const path = join(t.testdir(), 'ttyMCU0');
  const emu = await emulate('mcu', path, 500);
  t.teardown(() => emu.stop());
  const source = openEnergySource(`mcu:${path}?interval=100`, { clock: systemClock, logger: silentLogger() });
  const readings: EnergyReading[] = [];
  source.events.on('reading', (r) => readings.push(r));
  source.start();
  t.teardown(() => source.stop());
  const started = Date.now();
  await until(() => readings.length >= 5, 10_000, '5 MCU readings');
  t.ok(Date.now() - started < 2000, 'device switched from 500 ms to the requested 100 ms interval');
  const r = readings[0]!;
  t.ok(r.soc! > 0 && r.soc! <= 1, `soc ${r.soc}`);
  t.ok(r.batteryVoltage > 11 && r.batteryVoltage < 15);
  t.ok(r.pvPower! > 0 && r.loadPower! > 0);
});

for (const protocol of ['modbus-epever', 'modbus-renogy'] as const) {
  t.test(`${protocol} source polls the emulated slave over a pty (modbus-serial)`, async (t) => {
    const path = join(t.testdir(), `tty${protocol}`);
    const emu = await emulate(protocol, path, 100);
    t.teardown(() => emu.stop());
    const source = openEnergySource(`${protocol}:${path}?unit=1&interval=100&timeout=500`, { clock: systemClock, logger: silentLogger() });
    const readings: EnergyReading[] = [];
    const rejects: string[] = [];
    source.events.on('reading', (r) => readings.push(r));
    source.events.on('reject', (r) => rejects.push(`${r.reason}: ${r.detail}`));
    source.start();
    t.teardown(() => source.stop());
    await until(() => readings.length >= 3, 10_000, '3 Modbus readings');
    t.same(rejects, []);
    const r = readings.at(-1)!;
    const s = emu.state!;
    t.ok(Math.abs(r.batteryVoltage - s.batteryVoltage) < 0.2, `battery ${r.batteryVoltage} ≈ model ${s.batteryVoltage.toFixed(2)}`);
    t.ok(Math.abs(r.soc! - s.soc) < 0.02, `soc ${r.soc} ≈ model ${s.soc.toFixed(3)}`);
    t.ok(r.pvPower! > 0 && r.pvVoltage! > 15);
    t.ok(Math.abs(r.batteryCurrent - s.batteryCurrent) < 0.5, `current ${r.batteryCurrent} ≈ ${s.batteryCurrent.toFixed(2)}`);
  });
}

t.test('Modbus: a slave that never answers (wrong unit id) → rejects, then the link is reopened', async (t) => {
  const path = join(t.testdir(), 'ttyMB9');
  const emu = await emulate('modbus-epever', path, 100);
  t.teardown(() => emu.stop());
  const source = openEnergySource(`modbus-epever:${path}?unit=9&interval=100&timeout=100`, { clock: systemClock, logger: silentLogger() });
  const rejects: string[] = [];
  const statuses: SourceStatus[] = [];
  source.events.on('reject', (r) => rejects.push(r.detail));
  source.events.on('status', (s) => statuses.push(s));
  source.start();
  t.teardown(() => source.stop());
  await until(() => statuses.some((s) => s.state === 'error'), 10_000, 'the source to give up on the link');
  t.ok(rejects.length >= 3);
  t.match(rejects[0], /0x3100.*Timed out/i);
  t.match(statuses.find((s) => s.state === 'error')!.reason, /3 polls failed/);
});

t.test('tcp:// source (serial-over-TCP bridge) reads VE.Direct from a socket', async (t) => {
  const block = encodeVeDirectBlock([['V', '26100'], ['I', '1200'], ['SOC', '955'], ['VPV', '0'], ['PPV', '0']]);
  const server = createServer((sock) => {
    const timer = setInterval(() => sock.write(block), 20);
    sock.on('close', () => clearInterval(timer));
    sock.on('error', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const res = await cli(['energy', 'watch', '--source', `tcp://127.0.0.1:${port}?protocol=vedirect`, '--count', '2']);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /batt 26\.10 V \+1\.20 A {2}soc 95\.5%/);
  t.equal(res.stdout.trim().split('\n').length, 2);
});

t.test('emulator on an existing serial device (--device): a pty made outside the emulator', async (t) => {
  const { spawnPtyPair } = await import('../../firmware-bridge/src/emulator/pty.js');
  const pair = await spawnPtyPair(join(t.testdir(), 'ttyExt'));
  t.teardown(() => pair.close());
  const emu = new Emulator({ protocol: 'vedirect', device: pair.peer, tickMs: 50, speed: 60, clock: systemClock, logger: silentLogger() });
  await emu.start();
  t.teardown(() => emu.stop());
  t.equal(emu.path, pair.peer);
  const res = await cli(['energy', 'watch', '--source', `vedirect:${pair.path}`, '--count', '2', '--json', '--timeout', '10']);
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stdout.trim().split('\n').length, 2);
  await t.rejects(spawnPtyPair('/nonexistent-dir/tty'), { code: 'SERIAL_UNAVAILABLE' });
});
