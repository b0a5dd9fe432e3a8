import t from 'tap';
import { join } from 'node:path';
import { SolarDay } from '../../firmware-bridge/src/emulator/solar-model.js';
import { mulberry32 } from '../../src/util/prng.js';
import { parseTraceCsv } from '../../firmware-bridge/src/emulator/trace.js';
import { epeverRegister, renogyRegister, veDirectFields } from '../../firmware-bridge/src/emulator/render.js';
import { ModbusSlave } from '../../firmware-bridge/src/emulator/modbus-slave.js';
import { modbusCrc, withModbusCrc } from '../../firmware-bridge/src/modbus/crc.js';
import { ModbusRtuResponseFramer } from '../../firmware-bridge/src/modbus/framing.js';
import { EPEVER, RENOGY } from '../../firmware-bridge/src/modbus/registers.js';
import { modbusErrorText } from '../../firmware-bridge/src/modbus/session.js';
import { decodeVeDirect, encodeVeDirectBlock } from '../../firmware-bridge/src/vedirect/protocol.js';
import { VeDirectTextParser, type VeDirectFrame } from '../../firmware-bridge/src/vedirect/framing.js';
import { cli } from '../helpers/cli.js';
import { duplexPair, flush } from './helpers.js';

t.test('solar model: seeded, deterministic, day/night, charging at noon', async (t) => {
  const a = new SolarDay({ seed: 3, startHour: 4 });
  const b = new SolarDay({ seed: 3, startHour: 4 });
  const c = new SolarDay({ seed: 4, startHour: 4 });
  const run = (m: SolarDay) => Array.from({ length: 24 * 12 }, () => m.step(300));
  const ra = run(a);
  t.same(ra, run(b), 'same seed, same day');
  t.not(JSON.stringify(ra), JSON.stringify(run(c)), 'another seed, other clouds');
  const at = (h: number) => ra.find((s) => Math.abs(((s.simSeconds / 3600) % 24) - h) < 0.05)!;
  t.equal(at(2).pvPower, 0, 'no PV at 02:00');
  t.ok(at(2).batteryCurrent < 0, 'discharging at night');
  t.ok(at(13).pvPower > 0, 'PV at 13:00');
  for (const s of ra) t.ok(s.soc >= 0 && s.soc <= 1 && s.batteryVoltage > 10 && s.batteryVoltage < 15);
  const r = mulberry32(1);
  t.equal(r(), mulberry32(1)());
});

t.test('trace CSV: parsed, interpolated; bad files named with line and column', async (t) => {
  const pts = parseTraceCsv('# a trace\ntime,pv_w,load_w\n06:00,0,5\n12:00,80,5\n18:00,0,7\n', 'day.csv');
  t.same(pts, [{ seconds: 0, pvWatts: 0, loadWatts: 5 }, { seconds: 21600, pvWatts: 80, loadWatts: 5 }, { seconds: 43200, pvWatts: 0, loadWatts: 7 }]);
  const m = new SolarDay({ trace: pts, startHour: 6 });
  t.ok(Math.abs(m.step(3 * 3600).pvPower - 40) < 0.5, 'halfway between 0 and 80 W');
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['t,pv\n1,2\n', /header must name a "time" column/],
    ['time,pv_w\n0,5\n10,x\n', /x.csv:3: column pv_w: "x"/],
    ['time,pv_w\n0,5\n10,-1\n', /:3: column pv_w/],
    ['time,pv_w\n0,5\n0,6\n', /:3: time 0 does not increase/],
    ['time,pv_w\n0,5,3\n', /:2: 3 columns, header has 2/],
    ['time,pv_w\n25:99,5\n', /neither seconds nor HH:MM/],
    ['time,pv_w\n0,5\n', /at least 2 data rows/],
    ['time,pv_w,load_w\n0,5,\n1,5,1\n', /column load_w/],
  ];
  for (const [text, msg] of bad) t.throws(() => parseTraceCsv(text, 'x.csv'), { code: 'DATA_INVALID', message: msg });
});

t.test('rendered VE.Direct / EPEver / Renogy values decode back to the model state', async (t) => {
  const s = new SolarDay({ seed: 1, startHour: 12 }).step(60);
  const parser = new VeDirectTextParser();
  const frames: VeDirectFrame[] = [];
  parser.on('data', (f: VeDirectFrame) => frames.push(f));
  parser.write(encodeVeDirectBlock(veDirectFields(s)));
  const v = decodeVeDirect(frames[0]!, { source: 'x', time: 0 });
  t.ok(v && 'reading' in v);
  if (v && 'reading' in v) {
    t.ok(Math.abs(v.reading.batteryVoltage - s.batteryVoltage) < 0.001);
    t.ok(Math.abs(v.reading.batteryCurrent - s.batteryCurrent) < 0.001);
    t.ok(Math.abs(v.reading.loadPower! - s.loadPower) < 0.01);
  }
  const words = EPEVER.reads.map((r) => Array.from({ length: r.count }, (_, i) => epeverRegister(s, r.fc, r.address + i)!));
  const e = EPEVER.decode(words);
  t.ok(Math.abs(e.batteryCurrent - s.batteryCurrent) < 0.01, 'EPEver net current from 0x331B');
  t.ok(Math.abs(e.soc! - s.soc) < 0.006);
  const noNet = EPEVER.decode([words[0], words[1], undefined]);
  t.ok(Math.abs(noNet.batteryCurrent - s.batteryCurrent) < 0.05, 'fallback: charge current − load current');
  const night = { ...s, batteryCurrent: -1.5, pvPower: 0, pvVoltage: 0.5 };
  const nw = EPEVER.reads.map((r) => Array.from({ length: r.count }, (_, i) => epeverRegister(night, r.fc, r.address + i)!));
  t.equal(EPEVER.decode(nw).batteryCurrent, -1.5, 'negative net current (signed 32-bit) survives');
  const rw = [Array.from({ length: 10 }, (_, i) => renogyRegister(s, 3, 0x100 + i)!)];
  const rr = RENOGY.decode(rw);
  t.ok(Math.abs(rr.batteryVoltage - s.batteryVoltage) < 0.06);
  t.equal(rr.extra!.controllerTemp, 25);
  t.equal(rr.extra!.batteryTemp, 20);
  t.equal(epeverRegister(s, 3, 0x3100), undefined, 'EPEver data are input registers');
  t.equal(renogyRegister(s, 3, 0x200), undefined);
});

t.test('Modbus RTU: CRC, response framer, slave exceptions', async (t) => {
  // Modbus spec example: 01 04 00 00 00 01 → CRC 31 CA (low byte first)
  t.same(withModbusCrc(Buffer.from([0x01, 0x04, 0x00, 0x00, 0x00, 0x01])), Buffer.from('01040000000131ca', 'hex'));
  const framer = new ModbusRtuResponseFramer();
  const frames: Buffer[] = [];
  framer.on('data', (f: Buffer) => frames.push(f));
  framer.write(Buffer.from([0xff, 0x01])); // noise before any request: dropped
  framer.expect(1, 4);
  const resp = withModbusCrc(Buffer.from([1, 4, 4, 0, 1, 0, 2]));
  framer.write(Buffer.concat([Buffer.from([0x55, 0x01]), resp.subarray(0, 4)]));
  framer.write(resp.subarray(4));
  framer.expect(1, 3);
  framer.write(withModbusCrc(Buffer.from([1, 0x83, 2])));
  await flush();
  t.same(frames, [resp, withModbusCrc(Buffer.from([1, 0x83, 2]))]);
  t.equal(framer.dropped, 4);

  const [host, dev] = duplexPair();
  const slave = new ModbusSlave({ stream: dev, unit: 1, register: (fc, a) => (fc === 4 && a < 2 ? a + 10 : undefined) });
  slave.start();
  const got: Buffer[] = [];
  host.on('data', (d: Buffer) => got.push(d));
  const req = (body: number[]) => host.write(withModbusCrc(Buffer.from(body)));
  req([1, 4, 0, 0, 0, 2]);
  req([1, 4, 0, 1, 0, 2]); // 0x0002 undefined → exception 02
  req([1, 6, 0, 0, 0, 1]); // FC6 unsupported → exception 01
  req([2, 4, 0, 0, 0, 1]); // other unit: silence
  host.write(Buffer.from([9, 9, 9])); // garbage then a valid request: resynchronised
  req([1, 3, 0, 0, 0, 1]);
  await flush();
  const all = Buffer.concat(got).toString('hex');
  t.equal(all, [withModbusCrc(Buffer.from([1, 4, 4, 0, 10, 0, 11])), withModbusCrc(Buffer.from([1, 0x84, 2])), withModbusCrc(Buffer.from([1, 0x86, 1])), withModbusCrc(Buffer.from([1, 0x83, 2]))].map((b) => b.toString('hex')).join(''));
  t.equal(slave.requests, 4);
  slave.stop();
  t.equal(modbusCrc(Buffer.alloc(0)), 0xffff);
  t.equal(modbusErrorText({ name: 'TransactionTimedOutError', message: 'Timed out' }), 'TransactionTimedOutError: Timed out');
  t.equal(modbusErrorText(new Error('x')), 'x');
});

t.test('CLI: emulate and energy watch reject bad input with the documented exit codes', async (t) => {
  const dir = t.testdir({ 'bad.csv': 'time,pv_w\n0,1\n5,oops\n' });
  const badTrace = await cli(['emulate', '--protocol', 'vedirect', '--pty', join(dir, 'tty'), '--trace', join(dir, 'bad.csv')]);
  t.equal(badTrace.code, 65);
  t.match(badTrace.stderr, /bad\.csv:3: column pv_w: "oops"/);
  const missing = await cli(['emulate', '--protocol', 'vedirect', '--pty', join(dir, 'tty'), '--trace', join(dir, 'nope.csv')]);
  t.equal(missing.code, 65);
  t.match(missing.stderr, /cannot read trace/);
  const proto = await cli(['emulate', '--protocol', 'nmea', '--pty', join(dir, 'tty')]);
  t.equal(proto.code, 64);
  t.match(proto.stderr, /--protocol must be one of vedirect, mcu, modbus-epever, modbus-renogy/);
  const both = await cli(['emulate', '--protocol', 'mcu']);
  t.equal(both.code, 64);
  t.match(both.stderr, /exactly one of --pty PATH or --device PATH/);
  const uri = await cli(['energy', 'watch', '--source', 'vedirect']);
  t.equal(uri.code, 64);
  t.match(uri.stderr, /SOURCE_URI: source URI "vedirect": no scheme/);
  const count = await cli(['energy', 'watch', '--source', 'vedirect:/dev/null', '--count', '0']);
  t.equal(count.code, 64);
  const help = await cli(['energy', 'watch', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--count/);
});

t.test('CLI: h3lix emulate runs on a pty for --duration and prints a JSON summary', async (t) => {
  const dir = t.testdir({ 'day.csv': 'time,pv_w\n0,10\n3600,50\n' });
  const res = await cli(['emulate', '--protocol', 'vedirect', '--pty', join(dir, 'tty'), '--trace', join(dir, 'day.csv'), '--interval', '50', '--speed', '600', '--duration', '0.5', '--json']);
  t.equal(res.code, 0, res.stderr);
  const summary = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { blocks: number; simSeconds: number };
  t.ok(summary.blocks >= 5, `${summary.blocks} blocks written`);
  t.ok(summary.simSeconds > 36000 + 100, 'simulated time advanced at --speed');
  t.match(res.stderr, /emulating vedirect on .*tty/);
});

t.test('emulate --device: a missing device is reported, not a crash', async (t) => {
  const dir = t.testdir({});
  const res = await cli(['emulate', '--protocol', 'vedirect', '--device', join(dir, 'missing'), '--duration', '0.2']);
  t.equal(res.code, 69, 'a missing device is SERIAL_UNAVAILABLE');
  t.match(res.stderr, /cannot open .*missing/);
});
