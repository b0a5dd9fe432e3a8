import t from 'tap';
import { PassThrough } from 'node:stream';
import { H3lixError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';
import { McuDevice } from '../../firmware-bridge/src/emulator/mcu-device.js';
import { cobsDecode, cobsEncode } from '../../firmware-bridge/src/mcu/cobs.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { crc16CcittFalse } from '../../firmware-bridge/src/mcu/crc16.js';
import { CobsFramer } from '../../firmware-bridge/src/mcu/framing.js';
import { decodeReading, encodeReading, encodeU32, type McuReading } from '../../firmware-bridge/src/mcu/messages.js';
import { decodePacket, encodeFrame, encodePacket, MsgType, type McuPacket } from '../../firmware-bridge/src/mcu/protocol.js';
import { Queue } from '../../firmware-bridge/src/mcu/queue.js';
import { mcuToEnergyReading } from '../../firmware-bridge/src/mcu/session.js';
import { duplexPair, flush } from './helpers.js';

const SAMPLE: McuReading = { batteryMilliVolts: 12800, batteryMilliAmps: -1500, pvMilliVolts: 18350, pvMilliWatts: 21000, loadMilliWatts: 3840, socPerMille: 876 };

// The byte vectors of firmware-bridge/README.md "Test vectors" (cross-checked with an independent
// Python implementation of CRC-16/CCITT-FALSE and COBS when they were written).
const VECTORS: Array<{ name: string; type: number; seq: number; payload: Buffer; packet: string; wire: string }> = [
  { name: 'PING seq 1, empty', type: MsgType.PING, seq: 1, payload: Buffer.alloc(0), packet: '011001008226', wire: '0401100103822600' },
  {
    name: 'READING seq 0 (unsolicited)',
    type: MsgType.READING,
    seq: 0,
    payload: encodeReading(SAMPLE),
    packet: '01010000070032000024faffffae47000008520000000f00006c0390e5',
    wire: '0301010102070232010724faffffae47010308520101020f01056c0390e500',
  },
  { name: 'SET_SAMPLE_INTERVAL seq 0x0102, 1000 ms', type: MsgType.SET_SAMPLE_INTERVAL, seq: 0x0102, payload: encodeU32(1000), packet: '01200201e80300006173', wire: '0701200201e8030103617300' },
  { name: 'NACK seq 0x0102 of SET_SAMPLE_INTERVAL, out-of-range', type: MsgType.NACK, seq: 0x0102, payload: Buffer.from([0x20, 3]), packet: '01030201200349bf', wire: '0901030201200349bf00' },
  { name: 'ACK seq 7 of SET_LOAD', type: MsgType.ACK, seq: 7, payload: Buffer.from([0x21]), packet: '0102070021e7e6', wire: '040102070421e7e600' },
];

t.test('CRC-16/CCITT-FALSE parameters: check value and zero residue', async (t) => {
  t.equal(crc16CcittFalse(Buffer.from('123456789')), 0x29b1);
  const p = encodePacket(MsgType.PING, 1);
  t.equal(crc16CcittFalse(p), 0, 'CRC over packet + big-endian CRC is 0');
});

t.test('byte-level test vectors', async (t) => {
  for (const v of VECTORS) {
    t.equal(encodePacket(v.type, v.seq, v.payload).toString('hex'), v.packet, `${v.name}: packet`);
    t.equal(encodeFrame(v.type, v.seq, v.payload).toString('hex'), v.wire, `${v.name}: wire`);
    const wire = Buffer.from(v.wire, 'hex');
    const decoded = decodePacket(cobsDecode(wire.subarray(0, -1)));
    t.same({ type: decoded.type, seq: decoded.seq, payload: decoded.payload.toString('hex') }, { type: v.type, seq: v.seq, payload: v.payload.toString('hex') }, `${v.name}: decode`);
  }
  t.same(decodeReading(encodeReading(SAMPLE)), SAMPLE);
  t.same(decodeReading(encodeReading({ batteryMilliVolts: 5000, batteryMilliAmps: 10 })), { batteryMilliVolts: 5000, batteryMilliAmps: 10 }, 'absent fields stay absent');
  const e = mcuToEnergyReading(SAMPLE, { source: 'mcu:x', time: 5 });
  t.same(e, { time: 5, source: 'mcu:x', batteryVoltage: 12.8, batteryCurrent: -1.5, pvVoltage: 18.35, pvPower: 21, loadPower: 3.84, soc: 0.876 });
});

t.test('COBS: round trip, no zero bytes, long runs, malformed input named', async (t) => {
  for (const len of [0, 1, 253, 254, 255, 300, 600]) {
    const data = Buffer.alloc(len);
    for (let i = 0; i < len; i++) data[i] = i % 7 === 0 ? 0 : (i * 31) & 0xff || 1;
    const enc = cobsEncode(data);
    t.equal(enc.indexOf(0), -1, `len ${len}: no zero`);
    t.same(cobsDecode(enc), data, `len ${len}: round trip`);
  }
  t.throws(() => cobsDecode(Buffer.from([0x05, 1, 2])), /runs past the end/);
  t.throws(() => cobsDecode(Buffer.from([0x03, 1, 0])), /zero byte/);
});

t.test('framer: chained frames, resync on empty frames, oversize dropped', async (t) => {
  const framer = new CobsFramer({ maxFrame: 40 });
  const got: Buffer[] = [];
  const rejects: string[] = [];
  framer.on('data', (b: Buffer) => got.push(b));
  framer.on('reject', (r: { reason: string }) => rejects.push(r.reason));
  const f = encodeFrame(MsgType.PING, 9, Buffer.from('hi'));
  framer.write(Buffer.concat([Buffer.from([0, 0]), f, Buffer.alloc(50, 7), Buffer.from([0]), f.subarray(0, 3)]));
  framer.write(f.subarray(3));
  await flush();
  t.equal(got.length, 2);
  t.same(rejects, ['oversize']);
  t.equal(decodePacket(got[1]!).seq, 9);
});

t.test('corruption at every byte position is detected (all 255 XOR masks)', async (t) => {
  const input = new PassThrough();
  const client = new McuClient({ stream: Object.assign(input, {}) as unknown as import('node:stream').Duplex, clock: new ManualClock() });
  const readings: McuReading[] = [];
  let rejects = 0;
  client.events.on('reading', (r) => readings.push(r));
  client.events.on('reject', () => rejects++);
  client.start();
  const frame = encodeFrame(MsgType.READING, 0, encodeReading(SAMPLE));
  const marker = encodeFrame(MsgType.READING, 0, encodeReading({ batteryMilliVolts: 1, batteryMilliAmps: 1 }));
  let leaked = 0;
  let cases = 0;
  for (let pos = 0; pos < frame.length; pos++) {
    for (let mask = 1; mask < 256; mask++) {
      const bad = Buffer.from(frame);
      bad[pos] = bad[pos]! ^ mask;
      const before = rejects;
      input.write(Buffer.concat([bad, Buffer.from([0]), marker]));
      await new Promise((r) => setImmediate(r));
      cases++;
      if (readings.some((r) => r.batteryMilliVolts !== 1)) leaked++;
      if (rejects === before && pos !== frame.length - 1) leaked++;
      readings.length = 0;
    }
  }
  t.equal(leaked, 0, `${cases} corrupted frames: none accepted, each rejected`);
  input.write(frame);
  await flush();
  t.same(readings, [SAMPLE], 'an intact frame still decodes afterwards');
  client.stop();
});

t.test('round trip with the device: ping, info, reading, sample interval, load, NACK', async (t) => {
  const clock = new ManualClock();
  const [host, dev] = duplexPair();
  const device = new McuDevice({ stream: dev, clock, sample: () => SAMPLE, sampleIntervalMs: 1000 });
  const client = new McuClient({ stream: host, clock });
  device.start();
  client.start();
  t.teardown(() => {
    client.stop();
    device.stop();
  });
  t.same(await client.ping(Buffer.from('abc')), Buffer.from('abc'));
  t.match(await client.getInfo(), { firmware: '1.0.0', sensor: 'INA226', sampleIntervalMs: 1000, name: 'h3lix-emu' });
  t.same(await client.getReading(), SAMPLE);
  await client.setSampleInterval(250);
  t.equal(device.sampleIntervalMs, 250);
  await client.setLoad(2, true);
  t.equal(device.loads.get(2), true);
  await t.rejects(client.request(MsgType.SET_SAMPLE_INTERVAL, encodeU32(5), [MsgType.ACK]), { code: 'COMMAND_REFUSED', message: /out-of-range/ });
  await t.rejects(client.request(0x7e, Buffer.alloc(0), [MsgType.ACK]), { code: 'COMMAND_REFUSED', message: /unknown-type/ });
  await t.rejects(client.setSampleInterval(5), { code: 'DATA_INVALID' });
  // a version-2 request with a good CRC is refused with NACK bad-version
  const naks: McuPacket[] = [];
  const tap = new CobsFramer();
  tap.on('data', (b: Buffer) => naks.push(decodePacket(b)));
  const v2 = encodePacket(MsgType.PING, 0x4242);
  v2[0] = 2;
  v2.writeUInt16BE(crc16CcittFalse(v2, 0, v2.length - 2), v2.length - 2);
  t.throws(() => decodePacket(v2), { code: 'WIRE_VERSION' });
  host.on('data', (d: Buffer) => tap.write(d));
  host.write(Buffer.concat([cobsEncode(v2), Buffer.from([0])]));
  await flush();
  t.match(naks.find((p) => p.seq === 0x4242), { type: MsgType.NACK, payload: Buffer.from([MsgType.PING, 5]) });
  const streamed: McuReading[] = [];
  client.events.on('reading', (r) => streamed.push(r));
  for (let i = 0; i < 4; i++) {
    clock.advance(250);
    await flush();
  }
  t.equal(streamed.length, 4, 'device streams at the new interval');
});

t.test('timeouts and retries on the injected clock', async (t) => {
  const clock = new ManualClock();
  const [host, dev] = duplexPair();
  const client = new McuClient({ stream: host, clock, timeoutMs: 300, retries: 2 });
  client.start();
  t.teardown(() => client.stop());
  const seen: Buffer[] = [];
  const framer = new CobsFramer();
  framer.on('data', (b: Buffer) => seen.push(b));
  dev.pipe(framer);

  // a device that answers only the third attempt: same seq each time
  const p = client.ping(Buffer.from('x'));
  await flush();
  t.equal(seen.length, 1);
  clock.advance(299);
  await flush();
  t.equal(seen.length, 1, 'no retry before the timeout');
  clock.advance(1);
  await flush();
  t.equal(seen.length, 2, 'retry after 300 ms');
  clock.advance(300);
  await flush();
  t.equal(seen.length, 3);
  const req = decodePacket(seen[2]!);
  t.equal(req.seq, decodePacket(seen[0]!).seq, 'retries reuse the seq');
  dev.write(encodeFrame(MsgType.PONG, req.seq, Buffer.from('x')));
  t.same(await p, Buffer.from('x'));
  t.equal(client.stats.retries, 2);

  // nobody answers: REQUEST_TIMEOUT after 1 + retries attempts
  const q = client.getInfo();
  const failed = q.then(
    () => t.fail('should time out'),
    (err: unknown) => t.ok(err instanceof H3lixError && err.code === 'REQUEST_TIMEOUT' && /after 3 attempts/.test(err.message) && err.retryable, 'REQUEST_TIMEOUT, retryable'),
  );
  for (let i = 0; i < 3; i++) {
    await flush();
    clock.advance(300);
  }
  await failed;
  t.equal(seen.length, 6);

  // a late answer to a finished request is reported as unexpected, not delivered
  const rejects: string[] = [];
  client.events.on('reject', (r) => rejects.push(r));
  dev.write(encodeFrame(MsgType.INFO, decodePacket(seen[5]!).seq, Buffer.alloc(12)));
  await flush();
  t.same(rejects, ['unexpected']);
});

t.test('queue: one request at a time, FIFO', async (t) => {
  const q = new Queue(1);
  const order: string[] = [];
  let active = 0;
  let maxActive = 0;
  const job = (name: string) => async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    order.push(`start ${name}`);
    await flush(1);
    order.push(`end ${name}`);
    active--;
    return name;
  };
  const results = await Promise.all([q.execute(job('a')), q.execute(job('b')), q.execute(job('c'))]);
  t.same(results, ['a', 'b', 'c']);
  t.equal(maxActive, 1);
  t.same(order, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});
