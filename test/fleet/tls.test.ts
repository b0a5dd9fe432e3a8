import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { capturedLogger, makeFleet } from './fixtures.js';
import { clientCert, tryConnect } from './tls-helpers.js';
import { EmbeddedBroker, type EmbeddedBrokerTls } from '../../src/sync/embedded-broker.js';
import { ensureFleetTls, issueServerCertificate } from '../../src/fleet/tls-files.js';
import { checkTlsCertificate } from '../../src/fleet/tls-ca.js';
import type { Defence } from '../../src/sync/defences.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import { Transport } from '../../src/sync/transport.js';
import { until } from '../helpers/until.js';
import { validateConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/util/clock.js';
import { cli } from '../helpers/cli.js';
import mqtt from 'mqtt';
import type { Logger } from '../../src/util/logger.js';

const DAY = 86_400_000;

async function serverTls(fd: FleetDir): Promise<EmbeddedBrokerTls> {
  const ca = await ensureFleetTls(fd, Date.now());
  const s = await issueServerCertificate(fd, ['gw.test'], Date.now());
  return { cert: readFileSync(s.certFile, 'utf8'), key: readFileSync(s.keyFile, 'utf8'), ca, requireClientCert: true };
}

async function tlsBroker(t: Test, tls: EmbeddedBrokerTls, off: Defence[] = [], logger?: Logger): Promise<EmbeddedBroker> {
  const b = new EmbeddedBroker({ host: '127.0.0.1', port: 0, tls, defencesOff: new Set(off), ...(logger ? { logger } : {}) });
  await b.start();
  t.teardown(() => b.stop());
  return b;
}

t.test('the fleet CA is the fleet key; leaves name their principal', async (t) => {
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const ca = await ensureFleetTls(fd, Date.now());
  const x = new X509Certificate(ca);
  t.equal(x.ca, true, 'a CA certificate');
  const raw = x.publicKey.export({ format: 'jwk' }) as { x: string };
  t.equal(Buffer.from(raw.x, 'base64url').toString('base64'), fd.info.fleetPublicKey, 'its key is the fleet public key');
  t.ok(x.verify(x.publicKey), 'self-signed by the fleet key');
  t.equal(readFileSync(fd.path('image', 'b1', 'fleet-ca.pem'), 'utf8'), ca, 'the board image carries the CA');
  const claim = checkTlsCertificate(readFileSync(fd.path('image', 'b1', 'claim-cert.pem'), 'utf8'), ca, Date.now());
  t.equal(claim.cn, 'claim-b1', 'the image carries a claim certificate for its batch');
  t.equal(await ensureFleetTls(fd, Date.now()), ca, 'idempotent: the CA is not re-created');
  const other = makeFleet(join(dir, 'o'), { fleet: 'f2' });
  const foreign = await clientCert(other, 'n1');
  t.throws(() => checkTlsCertificate(foreign.cert, ca, Date.now()), { code: 'AUTH_FAILED' }, 'another fleet’s certificate does not check');
});

t.test('mqtts on the embedded broker: a fleet certificate connects, and a Transport works over it', async (t) => {
  const fd = makeFleet(t.testdir());
  const b = await tlsBroker(t, await serverTls(fd));
  t.match(b.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  const me = await clientCert(fd, 'nA');
  t.equal(await tryConnect(b.url, { clientId: 'nA', username: 'nA', ...me }), 'connected', 'username = CN');
  t.equal(await tryConnect(b.url, { clientId: 'nA', ...me }), 'connected', 'no username: the CN is taken');
  t.equal(await tryConnect(b.url, { clientId: 'h3lix-f1-nA-instance', username: 'nA', ...me }), 'connected', 'a client id naming the CN as a part');
  const plain = await tryConnect(b.url.replace('mqtts:', 'mqtt:'), { clientId: 'nA', username: 'nA' });
  t.not(plain, 'connected', 'plain MQTT on the TLS port does not connect');
  const tr = new Transport({ url: b.url, clientId: 'nA', username: 'nA', tls: () => ({ ...me, serverName: 'gw.test' }), stateTopic: 'h3lix/v1/f1/state/nA', birth: () => ({ v: 1, online: true, node: 'nA', fleet: 'f1', ts: Date.now(), publicKey: '' }), death: { v: 1, online: false, node: 'nA', fleet: 'f1', ts: 0, publicKey: '' }, subscriptions: ['h3lix/v1/f1/x'] });
  const got: string[] = [];
  tr.events.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
  await tr.start();
  t.teardown(() => tr.stop());
  await until(() => tr.connected, 5000, 'transport connected over TLS');
  await tr.publish('h3lix/v1/f1/x', Buffer.from('hello'), { qos: 1, retain: false });
  await until(() => got.includes('h3lix/v1/f1/x=hello'), 5000, 'round trip over TLS');
  t.pass('transport published and received over mutual TLS');
});

/** Each hostile case: refused with the defence on; accepted with its test switch off (negative control). */
const cases: { name: string; defence: Defence; reason: string; why: RegExp; client: (fd: FleetDir, other: FleetDir) => Promise<Record<string, unknown>> }[] = [
  { name: 'no client certificate', defence: 'tls-client-cert', reason: 'tls-handshake', why: /peer did not return a certificate/, client: async (fd) => ({ clientId: 'nA', username: 'nA', ca: (await clientCert(fd, 'x')).ca }) },
  {
    name: 'a certificate from another fleet’s CA',
    defence: 'tls-client-cert',
    reason: 'tls-handshake',
    why: /client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    client: async (fd, other) => ({ clientId: 'nA', username: 'nA', ...(await clientCert(other, 'nA')), ca: (await clientCert(fd, 'x')).ca }),
  },
  { name: 'an expired certificate', defence: 'tls-client-cert', reason: 'tls-handshake', why: /client certificate refused: CERT_HAS_EXPIRED/, client: async (fd) => ({ clientId: 'nA', username: 'nA', ...(await clientCert(fd, 'nA', { notBefore: Date.now() - 3 * DAY, notAfter: Date.now() - DAY })) }) },
  { name: 'a certificate naming another node than the client id', defence: 'tls-identity', reason: 'tls-identity', why: /certificate names nAttacker, client id is h3lix-f1-nVictim/, client: async (fd) => ({ clientId: 'h3lix-f1-nVictim', ...(await clientCert(fd, 'nAttacker')) }) },
  { name: 'a certificate naming another node than the username', defence: 'tls-identity', reason: 'tls-identity', why: /certificate names nAttacker, username is nVictim/, client: async (fd) => ({ clientId: 'nVictim', username: 'nVictim', ...(await clientCert(fd, 'nAttacker')) }) },
];

for (const c of cases) {
  t.test(`hostile TLS: ${c.name} is refused; accepted with ${c.defence} off`, async (t) => {
    const dir = t.testdir();
    const fd = makeFleet(dir);
    const other = makeFleet(join(dir, 'o'), { fleet: 'f2' });
    const tls = await serverTls(fd);
    const opts = await c.client(fd, other);
    const { logger, text } = capturedLogger();
    const on = await tlsBroker(t, tls, [], logger);
    const refused = await tryConnect(on.url, opts);
    t.not(refused, 'connected', `refused (${refused})`);
    await until(() => (on.refusals.get(c.reason) ?? 0) > 0, 3000, `counted as ${c.reason}`);
    t.equal(on.connectedClients, 0, 'nobody connected');
    t.match(text(), c.why, 'refused for this reason, not another')
    const offBroker = await tlsBroker(t, tls, [c.defence]);
    t.equal(await tryConnect(offBroker.url, opts), 'connected', `negative control: with ${c.defence} off the same client connects`);
  });
}

t.test('plain mqtt beyond loopback: refused without allowInsecure, a warning with it', async (t) => {
  const refused = new EmbeddedBroker({ host: '0.0.0.0', port: 0 });
  await t.rejects(refused.start(), { code: 'CONFIG_INVALID', key: 'broker.embedded.tls' }, 'typed error naming the key');
  t.equal(refused.aedes, undefined, 'nothing listens');
  const { logger, text } = capturedLogger();
  const allowed = new EmbeddedBroker({ host: '0.0.0.0', port: 0, allowInsecure: true, logger });
  await allowed.start();
  t.teardown(() => allowed.stop());
  t.match(text(), /plain mqtt:\/\/ beyond loopback \(allowInsecure\)/, 'warned');
  const loop = new EmbeddedBroker({ host: '127.0.0.1', port: 0, logger });
  await loop.start();
  t.teardown(() => loop.stop());
  t.equal(text().match(/allowInsecure\)/g)?.length, 1, 'loopback: no warning');
});

t.test('config: plain mqtt on 0.0.0.0 refused at config check unless allowInsecure; tls needs its files', async (t) => {
  const cfg = (embedded: Record<string, unknown>) => validateConfig({ node: { dataDir: '/tmp/x' }, broker: { embedded } });
  t.throws(() => cfg({ host: '0.0.0.0' }), { code: 'CONFIG_INVALID', message: /broker\.embedded\.host.*plain mqtt:\/\/ on 0\.0\.0\.0.*allowInsecure/s }, 'refused, naming the key and the way out');
  t.throws(() => cfg({ host: 'board.local' }), { code: 'CONFIG_INVALID' }, 'a host name too');
  t.equal(cfg({ host: '0.0.0.0', allowInsecure: true }).broker.embedded.allowInsecure, true, 'accepted with allowInsecure (the broker warns at start)');
  t.equal(cfg({ host: '127.0.0.1' }).broker.embedded.tls.enabled, false, 'loopback plain is fine');
  t.throws(() => cfg({ host: '0.0.0.0', tls: { enabled: true } }), { code: 'CONFIG_INVALID', message: /tls\.certFile/ }, 'tls without files');
  t.equal(cfg({ host: '0.0.0.0', tls: { enabled: true, certFile: '/a', keyFile: '/b' } }).broker.embedded.tls.requireClientCert, true, 'mutual TLS by default');
  t.equal(validateConfig({ node: { dataDir: '/tmp/x' } }).broker.embedded.allowInsecure, false, 'the defaults carry the new keys');
});

t.test('a mutual-TLS session is closed when its client certificate expires; kept with token-expiry off', async (t) => {
  const fd = makeFleet(t.testdir());
  const tls = await serverTls(fd);
  // 30 days: longer than one timer can hold (2^31-1 ms), so the broker re-arms (this covers the re-arm
  // path; the overflow itself, a real timer firing at once, is caught by test/daemon/fleet-gateway-tls.test.ts)
  const me = await clientCert(fd, 'nA', { notAfter: Date.now() + 30 * DAY });
  for (const off of [[], ['token-expiry']] as Defence[][]) {
    const clock = new ManualClock(Date.now());
    const b = new EmbeddedBroker({ host: '127.0.0.1', port: 0, tls, clock, defencesOff: new Set(off) });
    await b.start();
    t.teardown(() => b.stop());
    const c = await mqtt.connectAsync(b.url, { clientId: 'nA', reconnectPeriod: 0, ...me });
    t.teardown(() => c.endAsync(true));
    let closed = false;
    c.on('close', () => (closed = true));
    clock.advance(30 * DAY - 100_000);
    await new Promise((r) => setTimeout(r, 50));
    t.equal(closed, false, `${off.join() || 'defences on'}: still connected before the certificate lapses`);
    clock.advance(200_000);
    if (off.length === 0) {
      await until(() => closed, 3000, 'closed at expiry');
      t.equal(b.refusals.get('certificate expired'), 1, 'counted');
    } else {
      await new Promise((r) => setTimeout(r, 200));
      t.equal(closed, false, 'negative control: with token-expiry off the session outlives its certificate');
    }
  }
});

t.test('h3lix config check: plain mqtt on 0.0.0.0 exits 78 naming the key; with allowInsecure ok and a warning', async (t) => {
  const dir = t.testdir({
    'plain.yaml': 'broker:\n  embedded:\n    host: 0.0.0.0\n',
    'insecure.yaml': 'broker:\n  embedded:\n    host: 0.0.0.0\n    allowInsecure: true\n',
    'loop.yaml': 'broker:\n  embedded:\n    host: 127.0.0.1\n',
  });
  const plain = await cli(['config', 'check', '--config', join(dir, 'plain.yaml')]);
  t.equal(plain.code, 78, 'refused (EX_CONFIG)');
  t.match(plain.stderr, /broker\.embedded\.host: plain mqtt:\/\/ on 0\.0\.0\.0/);
  const insecure = await cli(['config', 'check', '--config', join(dir, 'insecure.yaml')]);
  t.equal(insecure.code, 0, 'accepted');
  t.match(insecure.stderr, /warning: broker\.embedded listens plain mqtt:\/\/ on 0\.0\.0\.0 \(allowInsecure: true\)/, 'with a warning');
  const loop = await cli(['config', 'check', '--config', join(dir, 'loop.yaml')]);
  t.equal(loop.code, 0);
  t.notMatch(loop.stderr, /warning/, 'loopback: no warning');
});

t.test('provisioning answers: the TLS certificate is recorded, re-sent unchanged to a replay, and checked by the board', async (t) => {
  const { decide, commitDecision } = await import('../../src/fleet/provisioner-rules.js');
  const { claimBinding } = await import('../../src/fleet/provision-protocol.js');
  const { readBoardImage } = await import('../../src/fleet/board-files.js');
  const { acceptedTls } = await import('../../src/fleet/board-tls.js');
  const { issueNodeTlsCertificate } = await import('../../src/fleet/tls-files.js');
  const { createSigner, generateKeyPair } = await import('../../src/crypto/ed25519.js');
  const { nodeIdFromPublicKey } = await import('../../src/crypto/node-id.js');
  const dir = t.testdir();
  const fd = makeFleet(dir);
  const ca = await ensureFleetTls(fd, Date.now());
  const caDer = new X509Certificate(ca).raw;
  const image = readBoardImage(fd.path('image', 'b1'));
  const claim = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
  const claimSigner = createSigner({ seed: new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64')), publicKey: new Uint8Array(0) });
  const pair = generateKeyPair();
  const nodeId = nodeIdFromPublicKey(pair.publicKey);
  const nonce = new Uint8Array(16).fill(3);
  const box = new Uint8Array(32).fill(1);
  const req = { nodeId, requestId: 'r1', publicKey: pair.publicKey, boxKey: box, board: 'rpi-4', versions: {}, nonce, claim, claimSig: claimSigner.sign(claimBinding(nodeId, 'r1', nonce, pair.publicKey, box)), renew: false };
  const now = Date.now();
  const policy = { certLifetimeDays: 1, allowBoards: [], config: {} };
  const first = await issueNodeTlsCertificate(fd, nodeId, pair.publicKey, now, now + DAY);
  const d = decide(fd, req, policy, now, { sentAt: now, tlsCert: first, tlsCa: caDer });
  t.equal(d.kind, 'accept');
  if (d.kind !== 'accept') return;
  commitDecision(fd, d);
  t.ok(d.response.tlsCert && Buffer.from(d.response.tlsCert).equals(first), 'the answer carries the certificate');
  t.equal(fd.node(nodeId)!.tlsCert, Buffer.from(first).toString('base64'), 'and the node record holds it');
  const second = await issueNodeTlsCertificate(fd, nodeId, pair.publicKey, now, now + DAY);
  const replay = decide(fd, req, policy, now + 1000, { sentAt: now, tlsCert: second, tlsCa: caDer });
  t.ok(replay.kind === 'accept' && replay.replay && Buffer.from(replay.response.tlsCert!).equals(first), 'a replay gets the recorded certificate, not a new one');

  const got = acceptedTls(d.response, image, nodeId, pair.publicKey, now);
  t.equal(checkTlsCertificate(got.tlsCert!, got.tlsCa!, now).cn, nodeId, 'the board accepts and stores it');
  const other = makeFleet(join(dir, 'o'), { fleet: 'f2' });
  const foreignCa = new X509Certificate(await ensureFleetTls(other, now)).raw;
  t.throws(() => acceptedTls({ ...d.response, tlsCa: foreignCa }, image, nodeId, pair.publicKey, now), { code: 'PROVISION_REJECTED', message: /not the fleet key/ }, 'a CA not made by the fleet key is refused');
  t.throws(() => acceptedTls(d.response, image, 'nSomeoneElse', pair.publicKey, now), { code: 'PROVISION_REJECTED', message: /names/ }, 'a certificate for another node id is refused');
  t.throws(() => acceptedTls(d.response, image, nodeId, generateKeyPair().publicKey, now), { code: 'PROVISION_REJECTED', message: /identity key/ }, 'a certificate for another key is refused');
  t.throws(() => acceptedTls(d.response, image, nodeId, pair.publicKey, now + 2 * DAY), { code: 'PROVISION_REJECTED' }, 'an expired one is refused');
});
