import t from 'tap';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import mqtt from 'mqtt';
import { capturedLogger, makeFleet, provisionOne, startProvisioner, until, type Board } from './fixtures.js';
import { MOSQUITTO_BIN, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { buildMosquittoAuth } from '../../src/fleet/mosquitto-acl.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import { CertificateKeyResolver } from '../../src/fleet/cert-resolver.js';
import { systemClock } from '../../src/util/clock.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { encodeCommand } from '../../src/fleet/commands.js';
import { revokeNode } from '../../src/fleet/revoke.js';

const PUB = '/usr/bin/mosquitto_pub';
const SUB = '/usr/bin/mosquitto_sub';
const STDBUF = '/usr/bin/stdbuf';

function writeAuth(fd: FleetDir, dir: string): { acl: string; passwd: string; lines: string[] } {
  mkdirSync(dir, { recursive: true });
  const files = buildMosquittoAuth(fd, Date.now());
  const acl = join(dir, 'acl');
  const passwd = join(dir, 'passwd');
  writeFileSync(acl, files.acl, { mode: 0o600 });
  writeFileSync(passwd, files.passwd, { mode: 0o600 });
  // Mosquitto started as root drops to user "mosquitto", which cannot read 0600 files owned by us:
  // run it as the current user instead (an operator chowns the files to the broker user).
  const user = userInfo().username;
  return { acl, passwd, lines: [...files.conf(acl, passwd), `user ${user}`] };
}

const noMosquitto = MOSQUITTO_BIN ? false : 'mosquitto is not installed (Debian package mosquitto)';
const noClients = existsSync(PUB) && existsSync(SUB) && existsSync(STDBUF) ? false : 'mosquitto_pub/mosquitto_sub not installed (Debian mosquitto-clients)';

t.test('fleet on a real Mosquitto with the generated ACL and password files', { skip: noMosquitto }, async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir, { uses: 60 });
  const auth = writeAuth(fd, join(dir, 'mosq'));
  let mosq: MosquittoHandle | undefined;
  try {
    mosq = await startMosquitto(auth.lines);
  } catch (err) {
    t.fail(`mosquitto failed to start: ${(err as Error).message}`);
    return;
  }
  if (!mosq) return t.fail('mosquitto vanished');
  const m = mosq;
  t.teardown(() => m.stop());
  const prov = await startProvisioner(fd, m.url, logger, { auth: 'password' });
  t.teardown(() => prov.stop());

  // use_username_as_clientid: the boards of one batch share the client id claim-b1, so they provision
  // one after another (concurrent ones would displace each other and retry).
  const boards: Board[] = [];
  for (let i = 0; i < 50; i++) boards.push(await provisionOne(fd, join(dir, `b${i}`), m.url, logger, { auth: 'password', timeoutMs: 15_000 }));
  t.equal(new Set(boards.map((b) => b.identity.nodeId)).size, 50, '50 distinct identities through Mosquitto');

  // Regenerate the auth files with the provisioned nodes and reload Mosquitto (SIGHUP).
  writeAuth(fd, join(dir, 'mosq'));
  m.process.kill('SIGHUP');
  const creds = (b: Board) => nodeBrokerAuth(b.identity, b.result.credentials, 'password', Date.now());
  const connectNode = (b: Board, id = `h3lix-${b.identity.nodeId}`) => mqtt.connectAsync(m.url, { clientId: id, ...creds(b), reconnectPeriod: 0, connectTimeout: 3000 });
  let first: mqtt.MqttClient | undefined;
  for (let i = 0; i < 50 && !first; i++) {
    first = await connectNode(boards[0]!).catch(() => undefined);
    if (!first) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(first, 'a provisioned node logs in with its sealed broker password after reload');
  const observer = first!;
  t.teardown(() => observer.endAsync(true));

  // The observer learns certificates from the retained fleet/certs topic and verifies every delta.
  const resolver = new CertificateKeyResolver({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, clock: systemClock, logger });
  const verified = new Set<string>();
  const rejected: string[] = [];
  const root = `h3lix/v1/${fd.fleet}/`;
  observer.on('message', (topic, payload) => {
    if (resolver.handleMessage(topic, payload)) return;
    try {
      const env = decodeEnvelope(payload, { fleet: fd.fleet, resolveKey: (f) => resolver.resolve(f), kinds: ['delta'] });
      verified.add(env.from);
    } catch (err) {
      rejected.push(`${topic}: ${(err as Error).message}`);
    }
  });
  await observer.subscribeAsync([`${root}fleet/certs/+`, `${root}fleet/revocations`], { qos: 1 });
  await until(() => resolver.size === 50, 5000, 'retained certificates');
  await observer.subscribeAsync(`${root}ccf/delta/+`, { qos: 1 });

  const clients = await Promise.all(boards.slice(1).map((b) => connectNode(b)));
  t.teardown(() => Promise.all(clients.map((c) => c.endAsync(true))));
  await Promise.all(
    clients.map((c, i) => {
      const b = boards[i + 1]!;
      const env = encodeEnvelope({ kind: 'delta', fleet: fd.fleet, from: b.identity.nodeId, seq: 1, hlc: { wall: Date.now(), logical: 0 }, body: new Uint8Array([i]) }, createSigner(b.identity.signing));
      return c.publishAsync(`${root}ccf/delta/${b.identity.nodeId}`, Buffer.from(env), { qos: 1 });
    }),
  );
  await until(() => verified.size === 49, 5000, '49 verified deltas');
  t.equal(verified.size, 49, 'signed deltas from 49 nodes crossed Mosquitto and verified through the certificate resolver');

  // Hostile: the CLI clients (Debian mosquitto-clients) against the same broker.
  if (noClients) {
    t.comment(`skipping CLI attacks: ${noClients}`);
    return;
  }
  const [host, port] = [ '127.0.0.1', String(m.port) ];
  const anon = spawnSync(PUB, ['-h', host, '-p', port, '-t', `${root}ccf/delta/x`, '-m', 'x', '-q', '1'], { encoding: 'utf8', timeout: 5000 });
  t.not(anon.status, 0, `mosquitto_pub without credentials refused (${(anon.stderr || anon.stdout).trim()})`);
  const victim = boards[2]!;
  const attacker = boards[49]!; // its own connection (clients[48]) is displaced by the attacks below: unused after
  const atk = creds(attacker);
  const forgedDelta = encodeEnvelope({ kind: 'delta', fleet: fd.fleet, from: victim.identity.nodeId, seq: 9, hlc: { wall: Date.now(), logical: 0 }, body: new Uint8Array([9]) }, createSigner(attacker.identity.signing));
  const before = verified.size + rejected.length;
  const onOther = spawnSync(PUB, ['-h', host, '-p', port, '-i', 'atk1', '-u', atk.username, '-P', atk.password, '-t', `${root}ccf/delta/${victim.identity.nodeId}`, '-s', '-q', '1'], { input: Buffer.from(forgedDelta), timeout: 5000 });
  t.equal(onOther.status, 0, 'mosquitto_pub connects as a real node');
  // Subscribe to another node's command topic with mosquitto_sub; the command is published only once
  // its SUBACK arrived, and the same subscriber on the attacker's own topic does receive (positive control).
  const provClient = await mqtt.connectAsync(m.url, { clientId: 'prov-cmd', username: 'operator', password: fd.provisionerPassword(), reconnectPeriod: 0 });
  t.teardown(() => provClient.endAsync(true));
  const subAndCommand = async (target: Board, seq: number) => {
    // stdbuf: mosquitto_sub block-buffers stdout into a pipe, and we must see its SUBACK line at once
    const child = spawn(STDBUF, ['-oL', SUB, '-h', host, '-p', port, '-u', atk.username, '-P', atk.password, '-t', `${root}cmd/${target.identity.nodeId}`, '-C', '1', '-W', '3', '-d'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => /received SUBACK/.test(out) || child.exitCode !== null, 5000, 'mosquitto_sub SUBACK');
    if (child.exitCode !== null) return { code: child.exitCode, received: false, subscribedFirst: false };
    const c = encodeCommand(fd.fleet, { to: target.identity.nodeId, id: `s${seq}`, name: 'ping', args: {}, exp: Date.now() + 60_000 }, fd.fleetSigner(), seq, Date.now());
    await provClient.publishAsync(`${root}cmd/${target.identity.nodeId}`, Buffer.from(c), { qos: 1 });
    const code = await exited;
    return { code, received: /received PUBLISH/.test(out), subscribedFirst: true };
  };
  const ownSub = await subAndCommand(attacker, 100);
  t.ok(ownSub.subscribedFirst && ownSub.code === 0 && ownSub.received, "positive control: mosquitto_sub receives a command on the attacker's own cmd topic");
  const sub = await subAndCommand(victim, 101);
  // While that subscriber waited, nothing was published by us; publish now and check with mqtt.js too.
  const spy = await connectNode(attacker, 'atk3');
  t.teardown(() => spy.endAsync(true));
  let spied = 0;
  spy.on('message', () => spied++);
  const granted = await spy.subscribeAsync(`${root}cmd/${victim.identity.nodeId}`, { qos: 1 });
  const cmd = encodeCommand(fd.fleet, { to: victim.identity.nodeId, id: 'c1', name: 'ping', args: {}, exp: Date.now() + 60_000 }, fd.fleetSigner(), 1, Date.now());
  await provClient.publishAsync(`${root}cmd/${victim.identity.nodeId}`, Buffer.from(cmd), { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(spied, 0, `another node's command topic delivers nothing to an attacker (suback ${granted.map((g) => g.qos).join(',')})`);
  t.ok(sub.subscribedFirst && sub.code !== 0 && !sub.received, "mosquitto_sub on another node's cmd topic got no message (subscribed before the command was sent)");
  t.equal(verified.size + rejected.length, before, 'a delta published on another node\'s topic never reached the field subscriber');

  // mqtt.js attackers through Mosquitto.
  const image = JSON.parse(readFileSync(fd.path('image', 'b1', 'claim.json'), 'utf8').split('\n#h3lix')[0]!) as { brokerPassword: string };
  const claimSpy = await mqtt.connectAsync(m.url, { clientId: 'rspy', username: 'claim-b1', password: image.brokerPassword, reconnectPeriod: 0 });
  t.teardown(() => claimSpy.endAsync(true));
  let snooped = 0;
  claimSpy.on('message', () => snooped++);
  await claimSpy.subscribeAsync([`${root}ccf/delta/+`, `${root}cmd/+`], { qos: 1 }).catch(() => undefined);
  const spyNode = clients[0]!;
  await spyNode.publishAsync(`${root}ccf/delta/${boards[1]!.identity.nodeId}`, Buffer.from(encodeEnvelope({ kind: 'delta', fleet: fd.fleet, from: boards[1]!.identity.nodeId, seq: 2, hlc: { wall: Date.now(), logical: 0 }, body: new Uint8Array([1]) }, createSigner(boards[1]!.identity.signing))), { qos: 1 });
  await provClient.publishAsync(`${root}cmd/${victim.identity.nodeId}`, Buffer.from(cmd), { qos: 1 });
  const rejectedBefore = rejected.length;
  await clients[1]!.publishAsync(`${root}ccf/delta/${boards[2]!.identity.nodeId}`, Buffer.from([0xbf, 0xff, 0x00]), { qos: 1 });
  await until(() => rejected.length === rejectedBefore + 1, 3000, 'malformed delta rejected');
  t.match(rejected[rejected.length - 1], /WIRE_|CBOR|malformed|truncated|canonical/i, 'malformed CBOR through Mosquitto is rejected by the decoder with a reason');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(snooped, 0, 'a claim holder reads no field traffic and no commands');

  // Client-id takeover: whatever client id they ask for, Mosquitto gives them their username.
  const victimConn = clients[1]!; // boards[2]
  let victimClosed = 0;
  victimConn.on('close', () => victimClosed++);
  const asVictimId = { clientId: victim.identity.nodeId, reconnectPeriod: 0, connectTimeout: 3000 };
  const claimTake = await mqtt.connectAsync(m.url, { ...asVictimId, username: 'claim-b1', password: image.brokerPassword });
  const nodeTake = await mqtt.connectAsync(m.url, { ...asVictimId, ...creds(attacker) });
  await provClient.publishAsync(`${root}cmd/${victim.identity.nodeId}`, Buffer.from(cmd), { qos: 1 }); // a round trip after both CONNACKs
  t.ok(victimConn.connected && victimClosed === 0, "neither the claim nor another node's credentials displace a node by naming its client id");
  await claimTake.endAsync(true);
  await nodeTake.endAsync(true);

  // Revoke a node, regenerate the files, reload: its login is refused.
  revokeNode(fd, victim.identity.nodeId, 'test', Date.now());
  writeAuth(fd, join(dir, 'mosq'));
  m.process.kill('SIGHUP');
  let refused = false;
  for (let i = 0; i < 30 && !refused; i++) {
    const c = await connectNode(victim, `victim-${i}`).catch(() => undefined);
    if (c) {
      await c.endAsync(true);
      await new Promise((r) => setTimeout(r, 100));
    } else refused = true;
  }
  t.ok(refused, 'a revoked node cannot log in to Mosquitto after the files are regenerated (SIGHUP)');
  const still = await connectNode(boards[3]!, 'still-ok');
  t.ok(still.connected, 'other nodes still log in');
  await still.endAsync(true);

  // Negative control: the same files without use_username_as_clientid let the claim displace a node.
  const open = await startMosquitto(writeAuth(fd, join(dir, 'mosq-open')).lines.filter((l) => !l.startsWith('use_username_as_clientid')));
  if (!open) return t.fail('second mosquitto vanished');
  t.teardown(() => open.stop());
  const target = await mqtt.connectAsync(open.url, { clientId: boards[3]!.identity.nodeId, ...creds(boards[3]!), reconnectPeriod: 0 });
  const targetClosed = new Promise<void>((r) => target.once('close', () => r()));
  const thief = await mqtt.connectAsync(open.url, { clientId: boards[3]!.identity.nodeId, username: 'claim-b1', password: image.brokerPassword, reconnectPeriod: 0 });
  await targetClosed;
  t.notOk(target.connected, 'negative control: without use_username_as_clientid the claim holder displaced the node');
  await thief.endAsync(true);
});
