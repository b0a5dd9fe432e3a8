import t from 'tap';
import { join } from 'node:path';
import { createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { encode as cborEncode } from 'cbor-x';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { plugOnly } from '../../src/daemon/core-plug.js';
import { defaultFeatures, type FeatureHandles } from '../../src/daemon/features.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { CertificateKeyResolver } from '../../src/fleet/cert-resolver.js';
import { CommandRouter, encodeCommand } from '../../src/fleet/commands.js';
import { ReconnectingSource } from '../../firmware-bridge/src/source/energy-source.js';
import { systemClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';
import { agree, startNode, until, vec } from './helpers.js';

/** Counts log lines by message (to assert that the fleet handlers refused the garbage). */
function countingLogger(counts: Map<string, number>): Logger {
  const log = (obj: object | string, msg?: string) => {
    const m = typeof obj === 'string' ? obj : (msg ?? '');
    counts.set(m, (counts.get(m) ?? 0) + 1);
  };
  const l: Logger = { debug: log, info: log, warn: log, error: log, child: () => l };
  return l;
}

/** Records every unhandled rejection / uncaught exception while a test runs. */
function crashRecorder(t: { teardown(fn: () => void): void }): unknown[] {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  const onException = (err: unknown) => seen.push(err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  t.teardown(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
  return seen;
}

/** mulberry32: a seeded generator, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.H3LIX_CHAOS_SEED ?? 20261127);

t.test('chaos: garbage on every subscribed topic never crashes the daemon nor loses stored data', async (t) => {
  const crashes = crashRecorder(t);
  const rnd = prng(SEED);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const fleet = 'chaos';
  const root = `h3lix/v1/${fleet}/`;
  const base = t.testdir(); // call once: every t.testdir() call recreates (empties) the directory
  const dirA = join(base, 'a');

  // A garbage energy source: a raw TCP "serial bridge" that streams random bytes as VE.Direct.
  const energyRnd = prng(SEED + 1);
  const sockets = new Set<Socket>();
  let energyBytes = 0;
  const energyServer = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    const timer = setInterval(() => {
      const e = (n: number) => Math.floor(energyRnd() * n);
      const chunk = energyRnd() < 0.3 ? Buffer.from(`\r\nV\t${e(99999)}\r\nI\t-${e(999)}\r\nSOC\t${e(2000)}\r\nChecksum\t${String.fromCharCode(e(256))}`) : Buffer.from(Array.from({ length: 1 + e(200) }, () => e(256)));
      energyBytes += chunk.length;
      s.write(chunk);
    }, 10);
    s.on('close', () => {
      clearInterval(timer);
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => energyServer.listen(0, '127.0.0.1', r));
  const energyPort = (energyServer.address() as { port: number }).port;
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => energyServer.close(r));
  });

  const config = validateConfig({
    node: { dataDir: dirA, fleet, board: 'generic-x86' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    sync: { debounceMs: 20, digestIntervalMs: 1000 },
    energySource: { uri: `tcp://127.0.0.1:${energyPort}?protocol=vedirect&stale=500&reconnect_max=200` },
    log: { level: 'silent' },
  });

  // The fleet inbound handlers (certificate resolver, revocations, command router), composed like
  // fleet-node.ts composes them, without provisioning: the trust anchor is a fresh fleet key.
  const logCounts = new Map<string, number>();
  const logger = countingLogger(logCounts);
  const fleetPair = generateKeyPair();
  const resolver = new CertificateKeyResolver({ fleet, fleetPublicKey: fleetPair.publicKey, clock: systemClock, logger });
  const handles: FeatureHandles = {};
  const cmd: { router?: CommandRouter } = {}; // built once the daemon (its node id, signer) exists
  const a = createDaemon({
    config,
    logger,
    features: [
      plugOnly({
        name: 'fleet-handlers',
        subscriptions: [...resolver.subscriptions(), `${root}cmd/+`],
        inbound: (topic, payload, deliver) => {
          const b = new Uint8Array(payload);
          if (resolver.handleMessage(topic, b)) return;
          if (cmd.router && topic === cmd.router.topic) return void cmd.router.handle(b);
          deliver(topic, payload);
        },
      }),
      ...defaultFeatures(config, { handles }),
    ],
    drainTimeoutMs: 500,
    jitterMs: 100,
  });
  await a.start();
  let aStopped = false;
  t.teardown(() => (aStopped ? undefined : a.stop()));
  const A = a.context;
  const router = new CommandRouter({
    fleet,
    fleetPublicKey: fleetPair.publicKey,
    nodeId: A.nodeId,
    nodeSigner: A.signer,
    clock: systemClock,
    logger,
    onSeq: (seq) => writeFileSync(join(dirA, 'cmd-seq'), String(seq)),
    publish: (topic, p) => A.transport.publish(topic, p, { qos: 1, retain: false }),
  });
  router.register('ping', () => ({ pong: true }));
  cmd.router = router;
  await until(() => A.transport.connected, 5000, 'A connected');
  A.field.contributeLocal('before', vec(8, 1), 3);
  const url = A.broker!.url;

  const evil = await mqtt.connectAsync(url, { clientId: 'chaos-attacker', protocolVersion: 4 });
  t.teardown(() => evil.endAsync(true));
  // Real traffic to mutate and replay.
  const captured: Array<{ topic: string; payload: Buffer }> = [];
  evil.on('message', (topic, payload) => {
    if (captured.length < 200 && payload.length > 0) captured.push({ topic, payload: Buffer.from(payload) });
  });
  await evil.subscribeAsync(`${root}#`, { qos: 0 });

  const evilSigner = createSigner(generateKeyPair());
  const deepArray = Buffer.concat([Buffer.alloc(20_000, 0x81), Buffer.from([0x00])]);
  const deepMap = Buffer.concat([Buffer.alloc(20_000, 0xa1 /* map(1) */).map((x, i) => (i % 2 ? 0x61 : x)), Buffer.from([0x00])]);
  const shapes: unknown[] = [
    {},
    [],
    0,
    -1,
    'x',
    null,
    true,
    { kind: 'delta', fleet, from: 'evil', seq: 1, body: 'nope' },
    { v: 1, online: true, node: 'evil', fleet, ts: 0, publicKey: 'AAAA' },
    { features: 'not-an-array' },
    { features: Array.from({ length: 20 }, () => NaN) },
    { features: new Array(100_000).fill(1) },
    { vv: { '': -1 }, digest: 1, count: 'x' },
    { revoked: 'all', fleet, seq: 1e300 },
    { type: 'h3lix-revocations', doc: {}, sig: Buffer.alloc(64) },
    { __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } },
  ];
  const jsonShapes = ['{', '[]', '{"v":1}', '{"features":[1,2,3]}', '{"__proto__":{"x":1}}', '{"online":false,"node":"NODE","fleet":"chaos"}', '"\\u0000"', '1e999', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'];

  const nodes = () => [A.nodeId, 'evil', 'X', bytes(4).toString('hex'), 'a'.repeat(64)];
  const topicFor = (): string => {
    const n = nodes()[int(5)]!;
    const all = [
      `${root}ccf/delta/${n}`,
      `${root}ccf/digest/${n}`,
      `${root}ccf/want/${n}`,
      `${root}state/${n}`,
      `${root}energy/${n}`,
      `${root}obs/${A.nodeId}`,
      `${root}cmd/${A.nodeId}`,
      `${root}fleet/certs/${n}`,
      `${root}fleet/revocations`,
      `${root}provision/${['req', 'resp', 'claim'][int(3)]!}/${n}`,
      `${root}ccf/delta/${n}/extra`,
    ];
    return all[int(all.length)]!;
  };
  const payloadFor = (topic: string): Buffer => {
    switch (int(9)) {
      case 0:
        return Buffer.alloc(0);
      case 1:
        return bytes(int(600));
      case 2:
        return Buffer.from(cborEncode(shapes[int(shapes.length)]));
      case 3:
        return Buffer.from(jsonShapes[int(jsonShapes.length)]!.replace('NODE', A.nodeId));
      case 4: {
        // a well-formed envelope from an unknown sender, with a garbage body
        const kinds = ['delta', 'digest', 'want', 'energy'] as const;
        const from = topic.split('/').at(-1)!;
        return Buffer.from(encodeEnvelope({ kind: kinds[int(4)]!, fleet, from: /^[A-Za-z0-9_-]{1,64}$/.test(from) ? from : 'evil', seq: 1 + int(1e6), hlc: { wall: Date.now(), logical: int(10) }, body: bytes(int(300)) }, evilSigner));
      }
      case 5:
        return int(2) ? deepArray : deepMap;
      case 6: {
        // a real message, bit-flipped
        const c = captured[int(captured.length)];
        if (!c) return bytes(32);
        const p = Buffer.from(c.payload);
        p[int(p.length)] ^= 1 << int(8);
        return p;
      }
      case 7: {
        const c = captured[int(captured.length)];
        return c ? c.payload : bytes(8);
      }
      default:
        return Buffer.from(cborEncode({ kind: 'cmd', fleet, from: 'fleet', seq: int(100), ts: Date.now(), body: { to: A.nodeId, id: 'x', name: 'ping', args: bytes(int(64)), exp: 1e15 }, sig: bytes(64) }));
    }
  };

  let rawA = 0;
  let markerSeen = false;
  A.transport.events.on('message', (topic) => {
    rawA++;
    if (topic.includes('/marker-')) markerSeen = true;
  });
  const rejectedBefore = A.sync.rejectedTotal();
  const t0 = Date.now();
  // 1. Retained garbage first: it is what a node restarting or joining later meets. A's own retained
  // birth is overwritten for sure (peers joining later learn A's key from it).
  await evil.publishAsync(`${root}state/${A.nodeId}`, bytes(40), { qos: 1, retain: true });
  for (let i = 0; i < 40; i++) {
    const topic = topicFor();
    await evil.publishAsync(topic, payloadFor(topic), { qos: 1, retain: true });
  }
  // 2. Huge payloads, just below and above the sync limit (sync.maxMessageBytes 131072).
  // (1 MiB is now cut by the embedded broker's 256 KiB packet limit before A sees it: test/sync/broker-limits.test.ts)
  for (const n of [131072, 131072 + 512, 200_000]) {
    for (const topic of [`${root}ccf/delta/evil`, `${root}state/evil`, `${root}obs/${A.nodeId}`, `${root}fleet/revocations`, `${root}cmd/${A.nodeId}`, `${root}fleet/certs/evil`]) {
      await evil.publishAsync(topic, bytes(n), { qos: 1 });
    }
  }
  // 3. Bursts of mixed garbage, QoS 0 and 1.
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < 360; i++) {
    const topic = topicFor();
    pending.push(evil.publishAsync(topic, payloadFor(topic), { qos: int(2) as 0 | 1 }));
    if (pending.length >= 40) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  // The honest peer joins now: it meets every retained garbage message on subscribe.
  const b = await startNode(join(base, 'b'), url, fleet);
  t.teardown(() => b.stop());
  const B = b.context;
  await until(() => B.transport.connected, 5000, 'B connected');
  // A round trip through the broker: everything published before has been delivered to A.
  const marker = `${root}ccf/delta/marker-${Date.now()}`;
  await A.transport.publish(marker, Buffer.from('end'), { qos: 1, retain: false });
  await until(() => markerSeen, 10_000, 'the marker published after the garbage reached A');
  t.comment(`chaos phase: ${Date.now() - t0} ms; A's transport got ${rawA} messages, its sync ${A.sync.counters.received}, rejected ${JSON.stringify(A.sync.counters.rejected)}`);
  t.ok(rawA > 200, `the garbage reached A (${rawA} messages)`);

  t.ok(A.sync.rejectedTotal() > rejectedBefore + 50, `A's sync rejected the garbage (${A.sync.rejectedTotal() - rejectedBefore})`);
  t.ok((A.sync.counters.rejected.WIRE_MALFORMED ?? 0) + (A.sync.counters.rejected.WIRE_TYPE ?? 0) > 0, 'malformed/type rejections counted');
  t.ok((logCounts.get('certificate refused') ?? 0) > 0, 'garbage certificates refused');
  t.ok((logCounts.get('revocation list refused') ?? 0) > 0, 'garbage revocation lists refused');
  t.ok([...router.refused.values()].reduce((x, y) => x + y, 0) > 0, `garbage commands refused: ${JSON.stringify([...router.refused])}`);
  t.equal(resolver.revocations.size, 0, 'nothing got revoked');
  const inst = handles.learning?.instance;
  if (inst) t.ok(inst.stats().rejected > 0, `observations rejected: ${JSON.stringify(inst.stats().reasons)}`);
  t.ok(energyBytes > 0, 'the energy source was fed garbage');
  await until(() => B.sync.rejectedTotal() > 0, 5000, 'B rejected the retained garbage');
  t.equal(A.transport.counters.listenerErrors, 0, 'no inbound handler threw');
  t.ok(A.transport.counters.birthsRestored > 0, 'A published its birth again over the garbage retained on its state topic');

  // A listener that throws (a downstream bug) is contained by the transport, counted, logged.
  const off = A.inbound.on('message', (topic) => {
    if (topic.endsWith('/boom')) throw new Error('listener bug');
  });
  await evil.publishAsync(`${root}state/boom`, Buffer.from('x'), { qos: 1 });
  await until(() => A.transport.counters.listenerErrors === 1, 5000, 'the listener error counted');
  off();
  // ... and so is a throwing status listener (it runs inside mqtt.js's connect/close handlers).
  const offStatus = A.inbound.on('status', () => {
    throw new Error('status listener bug');
  });
  A.transport.suspend();
  A.transport.resume();
  await until(() => A.transport.connected, 5000, 'A reconnected');
  offStatus();
  t.ok(A.transport.counters.listenerErrors >= 3, `status listener errors counted (${A.transport.counters.listenerErrors - 1})`);

  // Honest traffic still flows both ways after the attack.
  A.field.contributeLocal('after-chaos-a', vec(8, 5), 2);
  B.field.contributeLocal('after-chaos-b', vec(8, 6), 4);
  await until(() => agree([a, b]) && A.field.keys().includes('after-chaos-b') && B.field.keys().includes('after-chaos-a'), 10_000, 'A and B converge');
  t.pass('honest daemons converged after the attack');
  t.same(crashes, [], 'no unhandled rejection or uncaught exception');

  // The store survived: stop, reopen, the field is intact.
  const digest = A.field.digest();
  const size = A.field.size();
  await a.stop();
  aStopped = true;
  const reopened = validateConfig({ node: { dataDir: dirA, fleet }, broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 } }, instance: { enabled: false }, log: { level: 'silent' } });
  const again = createDaemon({ config: reopened, drainTimeoutMs: 200 });
  await again.start();
  t.teardown(() => again.stop());
  t.equal(again.context.field.size(), size, 'same number of contributions after reopen');
  t.equal(again.context.field.digest(), digest, 'same field digest after reopen');
  t.ok(again.context.field.get(A.nodeId, 'after-chaos-a'), 'the contribution made after the attack is stored');
  t.same(crashes, [], 'still no unhandled rejection or uncaught exception');
});

t.test('CommandRouter.handle never rejects: a failing seq store is counted as refusal "internal"', async (t) => {
  const crashes = crashRecorder(t);
  const fleetPair = generateKeyPair();
  const node = generateKeyPair();
  const counts = new Map<string, number>();
  const router = new CommandRouter({
    fleet: 'f',
    fleetPublicKey: fleetPair.publicKey,
    nodeId: 'n1',
    nodeSigner: createSigner(node),
    clock: systemClock,
    logger: countingLogger(counts),
    onSeq: () => {
      throw new Error('EROFS: read-only file system');
    },
    publish: () => undefined,
  });
  const cmd = encodeCommand('f', { to: 'n1', id: 'c1', name: 'ping', args: {}, exp: Date.now() + 60_000 }, createSigner(fleetPair), 1, Date.now());
  await t.resolves(router.handle(cmd), 'resolves');
  t.equal(router.refused.get('internal'), 1, 'counted');
  // a reply path that throws synchronously is contained too
  const r2 = new CommandRouter({ fleet: 'f', fleetPublicKey: fleetPair.publicKey, nodeId: 'n1', nodeSigner: createSigner(node), clock: systemClock, logger: countingLogger(counts), publish: () => Promise.reject(new Error('offline')) });
  await t.resolves(r2.handle(cmd));
  t.equal(counts.get('command reply not sent'), 1, 'reply failure logged');
  t.same(crashes, []);
});

t.test('energy source: a reading consumer that throws is counted, not thrown into the stream', async (t) => {
  const crashes = crashRecorder(t);
  const stream = new PassThrough();
  const counts = new Map<string, number>();
  const source = new ReconnectingSource({
    uri: 'test:',
    link: { label: 'test', open: () => Promise.resolve({ stream, close: () => Promise.resolve() }) },
    session: (s, ctx) => {
      const onData = () => ctx.reading({ time: Date.now(), batteryVoltage: 12.8, batteryCurrent: 1, pvPower: 10, loadPower: 5, soc: 0.8 } as never);
      s.on('data', onData);
      return { stop: () => s.off('data', onData) };
    },
    clock: systemClock,
    logger: countingLogger(counts),
    staleAfterMs: 0,
  });
  let seen = 0;
  source.events.on('reading', () => {
    seen++;
    throw new Error('consumer bug');
  });
  source.start();
  t.teardown(() => source.stop());
  await until(() => source.counters.connects === 1, 2000, 'open');
  stream.write('a');
  stream.write('b');
  await until(() => seen === 2, 2000, 'two readings');
  t.equal(source.counters.rejects.consumer, 2, 'both counted as consumer rejects');
  t.equal(source.counters.readings, 2);
  t.equal(counts.get('energy reading consumer threw; reading dropped'), 2, 'logged');
  t.same(crashes, [], 'no uncaught exception');
});
