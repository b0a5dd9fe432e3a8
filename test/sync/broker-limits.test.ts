import t, { type Test } from 'tap';
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from '../../src/sync/embedded-broker.js';
import { FrameWatch } from '../../src/sync/packet-limit.js';
import { defencesOff } from '../../src/sync/defences.js';
import { until } from '../helpers/until.js';
import { connectPacket, publishHeader } from '../helpers/mqtt-bytes.js';

/** A raw TCP socket to the broker; resolves once connected. */
function raw(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

async function broker(t: Test, o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const b = new EmbeddedBroker({ host: '0.0.0.0', port: 0, allowInsecure: true, ...o });
  await b.start();
  t.teardown(() => b.stop());
  return b;
}

t.test('FrameWatch reads the Remaining Length across chunks and stops before the body', async (t) => {
  const w = new FrameWatch(1000);
  const head = publishHeader('a/b', 500);
  t.equal(w.feed(head.subarray(0, 1)), undefined, 'type byte alone');
  t.equal(w.feed(head.subarray(1)), undefined, 'length split from the type byte');
  t.equal(w.feed(Buffer.alloc(500)), undefined, 'body');
  t.equal(w.packets, 1, 'one packet complete');
  t.equal(w.feed(Buffer.from([0xc0, 0x00])), undefined, 'PINGREQ (zero length)');
  t.equal(w.packets, 2);
  t.equal(new FrameWatch(1000).feed(publishHeader('a/b', 2000).subarray(0, 3)), 'packet-too-large', 'refused from the header alone');
  t.equal(new FrameWatch(1 << 30).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])), 'malformed-length', 'a fifth length byte is malformed [MQTT-2.2.3]');
  t.equal(new FrameWatch(9).feed(publishHeader('a/b', 2)), undefined, 'exactly at the limit (9 bytes) passes');
  t.equal(new FrameWatch(8).feed(publishHeader('a/b', 2)), 'packet-too-large', 'one byte over is refused');
  t.same([...defencesOff({ H3LIX_TEST_DEFENCES_OFF: 'packet-limit, nonsense' })], ['packet-limit'], 'test switch parsing');
});

t.test('an oversized PUBLISH is cut at its header; the negative control delivers it', async (t) => {
  for (const off of [false, true]) {
    const b = await broker(t, { maxPacketBytes: 1024, ...(off ? { defencesOff: new Set(['packet-limit'] as const) } : {}) });
    const watcher = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    t.teardown(() => watcher.endAsync(true));
    let got = 0;
    watcher.on('message', (_topic, p) => (got = p.length));
    await watcher.subscribeAsync('big', { qos: 0 });
    const s = await raw(b.port);
    s.on('error', () => undefined);
    s.write(connectPacket('rawpub'));
    s.write(Buffer.concat([publishHeader('big', 4096), Buffer.alloc(4096, 7)]));
    if (!off) {
      await closed(s);
      t.equal(b.refusals.get('packet-too-large'), 1, 'refused and counted');
      t.equal(got, 0, 'nothing delivered');
    } else {
      await until(() => got === 4096, 5000, 'delivery without the limit');
      t.equal(got, 4096, 'negative control: with packet-limit off aedes took and delivered the 4 KB packet');
      s.destroy();
    }
  }
});

t.test('idle sockets: CONNECT timeout, oldest pending evicted, a legitimate client still connects', async (t) => {
  const b = await broker(t, { maxPending: 4, connectTimeoutMs: 300 });
  const idle = await Promise.all([0, 1, 2, 3].map(() => raw(b.port)));
  idle.forEach((s) => s.on('error', () => undefined));
  const fifth = await raw(b.port);
  fifth.on('error', () => undefined);
  await closed(idle[0]!);
  t.equal(b.refusals.get('pending-evicted'), 1, 'the oldest idle socket was closed for the new one');
  const legit = await mqtt.connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 2000 });
  t.ok(legit.connected, 'a legitimate client connects while idle sockets fill the pending slots');
  await legit.endAsync(true);
  await Promise.all([fifth, ...idle.slice(1)].map(closed));
  t.pass('every idle socket was closed (CONNECT timeout or eviction)');

  const open = await broker(t, { maxPending: 2, connectTimeoutMs: 60_000, defencesOff: new Set(['conn-limit'] as const) });
  const kept = await Promise.all([0, 1, 2, 3].map(() => raw(open.port)));
  const probe = await mqtt.connectAsync(open.url, { reconnectPeriod: 0 });
  await probe.endAsync(true);
  t.ok(kept.every((s) => !s.destroyed), 'negative control: with conn-limit off no idle socket is evicted');
  t.equal(open.refusals.size, 0, 'and nothing is counted');
  kept.forEach((s) => s.destroy());
});

t.test('connection limits: total', async (t) => {
  const b = await broker(t, { maxConnections: 3 });
  const three = await Promise.all([0, 1, 2].map(() => raw(b.port)));
  const fourth = await raw(b.port);
  await closed(fourth);
  t.equal(b.refusals.get('connections-total'), 1, 'the fourth connection is refused and counted');
  three.forEach((s) => s.destroy());
});

const ext = Object.values(networkInterfaces()).flatMap((l) => l ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
t.test('connection limits: per non-loopback address', { skip: ext ? false : 'no non-loopback IPv4 address on this machine' }, async (t) => {
  const p = await broker(t, { maxPerAddress: 2 });
  const two = await Promise.all([0, 1].map(() => raw(p.port, ext)));
  const third = await raw(p.port, ext);
  await closed(third);
  t.equal(p.refusals.get('connections-per-address'), 1, `a third connection from ${ext} is refused`);
  const local = await mqtt.connectAsync(p.url, { reconnectPeriod: 0 });
  t.ok(local.connected, 'loopback is not limited per address (local peers and the instance)');
  await local.endAsync(true);
  two.forEach((s) => s.destroy());
});

t.test('the systemd unit lets the broker reach its connection limit', async (t) => {
  const unit = readFileSync(new URL('../../devices/systemd/h3lix.service', import.meta.url), 'utf8');
  const n = Number(/^LimitNOFILE=(\d+)$/m.exec(unit)?.[1]);
  t.ok(n >= 2048 + 512, `LimitNOFILE=${n} leaves room above the default maxConnections 2048 (systemd's default soft limit is 1024)`);
});

t.test('broker.embedded.limits reach the daemon broker: 8 KiB refuses a 16 KiB PUBLISH; the default takes it', async (t) => {
  const { validateConfig } = await import('../../src/config/load.js');
  const { createDaemon } = await import('../../src/daemon/daemon.js');
  for (const limit of [8192, undefined]) {
    const config = validateConfig({ node: { dataDir: t.testdir(), fleet: 'f' }, broker: { embedded: { port: 0, ...(limit ? { limits: { maxPacketBytes: limit } } : {}) } }, log: { level: 'silent' } });
    const d = createDaemon({ config, drainTimeoutMs: 10 });
    await d.start();
    t.teardown(() => d.stop());
    const b = d.context.broker!;
    const watcher = await mqtt.connectAsync(b.url, { reconnectPeriod: 0 });
    t.teardown(() => watcher.endAsync(true));
    let got = 0;
    watcher.on('message', (_topic, p) => (got = p.length));
    await watcher.subscribeAsync('big', { qos: 0 });
    const s = await raw(b.port);
    s.on('error', () => undefined);
    s.write(connectPacket('rawpub'));
    s.write(Buffer.concat([publishHeader('big', 16_384), Buffer.alloc(16_384, 7)]));
    if (limit) {
      await closed(s);
      t.equal(b.refusals.get('packet-too-large'), 1, 'the configured limit refused it');
      t.equal(got, 0, 'nothing delivered');
    } else {
      await until(() => got === 16_384, 5000, 'delivery under the default limit');
      t.equal(got, 16_384, 'control: the default 256 KiB limit delivers the same packet');
      s.destroy();
    }
  }
  t.throws(() => validateConfig({ broker: { embedded: { limits: { maxPacketBytes: 10 } } } }), { code: 'CONFIG_INVALID', message: /broker\.embedded\.limits\.maxPacketBytes/ }, 'a limit below 4 KiB is refused with its key');
});
