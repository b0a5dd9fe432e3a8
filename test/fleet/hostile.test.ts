import t from 'tap';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { capturedLogger, makeFleet, provisionOne, startProvisioner, startSecureBroker, until, type Board } from './fixtures.js';
import { CertificateKeyResolver } from '../../src/fleet/cert-resolver.js';
import { systemClock } from '../../src/util/clock.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { ReplayGuard } from '../../src/ccf/codec/replay.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { makeClaimToken, makeNodeToken } from '../../src/fleet/tokens.js';
import { issueCertificate, issueClaim } from '../../src/fleet/certificate.js';
import { claimBinding, decodeProvisionResponse, encodeProvisionRequest } from '../../src/fleet/provision-protocol.js';
import { addBatch } from '../../src/fleet/init.js';
import { readBoardImage } from '../../src/fleet/board-files.js';
import { CommandRouter, encodeCommand } from '../../src/fleet/commands.js';
import { revokeNode } from '../../src/fleet/revoke.js';
import { issueRevocationList } from '../../src/fleet/revocation.js';
import { decodePresence } from '../../src/sync/presence.js';
import { readFileChecked } from '../../src/store/atomic-file.js';
import nacl from 'tweetnacl';
import { run } from './hostile-daemon/tools.js';

const PUB = '/usr/bin/mosquitto_pub';
const SUB = '/usr/bin/mosquitto_sub';
const haveClients = existsSync(PUB) && existsSync(SUB);

/**
 * Hostile tests against the embedded aedes broker with the fleet hooks, the provisioner, the certificate
 * resolver and the command router. Every attack is recorded in `attacks` with how it was refused; the
 * count is asserted and reported. Attacker tools: mqtt.js and (when installed) mosquitto_pub/sub.
 */
t.test('every attack is refused with a logged reason; nothing reaches the field; the broker stays up', async (t) => {
  const dir = t.testdir();
  const cap = capturedLogger();
  const logger = cap.logger;
  const fd = makeFleet(dir, { uses: 4 });
  const sb = await startSecureBroker(fd, logger);
  t.teardown(() => sb.broker.stop());
  const url = sb.broker.url;
  const prov = await startProvisioner(fd, url, logger);
  t.teardown(() => prov.stop());
  const root = `h3lix/v1/${fd.fleet}/`;
  const attacks: { name: string; refusedBy: string }[] = [];
  const attack = (name: string, refusedBy: string, ok: boolean) => {
    t.ok(ok, `${name}: refused by ${refusedBy}`);
    if (ok) attacks.push({ name, refusedBy });
  };
  const refusals = (reason: string) => sb.auth.refusals.get(reason) ?? 0;

  const boards: Board[] = [];
  for (let i = 0; i < 3; i++) boards.push(await provisionOne(fd, join(dir, `b${i}`), url, logger));
  const [victim, attacker, other] = boards as [Board, Board, Board];
  const auth = (b: Board) => nodeBrokerAuth(b.identity, b.result.credentials, 'token', Date.now());
  /** A client id the broker binds to node `b` (client-ids.ts), and a request id for a claim client. */
  const cid = (b: Board, suffix: string) => `h3lix-${fd.fleet}-${b.identity.nodeId}-${suffix}`;
  const rid = (label: string) => `r${createHash('sha256').update(label).digest('hex').slice(0, 20)}`;
  const connect = (opts: mqtt.IClientOptions) => mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000, ...opts });
  /** Wait until the broker counted one more refusal for `reason` (false after 2 s). */
  const counted = (reason: string, before: number) => until(() => refusals(reason) > before, 2000, reason).then(() => true, () => false);
  const refusedConnect = async (opts: mqtt.IClientOptions, reason = 'auth') => {
    const before = refusals(reason);
    const c = await connect(opts).catch((err: Error) => err);
    if (!(c instanceof Error)) await c.endAsync(true);
    return c instanceof Error && (await counted(reason, before));
  };
  /** Publish from a fresh connection; the broker closes it on a refused publish [MQTT-3.3.5-2]. */
  const violate = async (opts: mqtt.IClientOptions, topic: string, payload: Uint8Array, reason = 'publish outside own topics') => {
    const before = refusals(reason);
    const c = await connect(opts);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(topic, Buffer.from(payload), { qos: 1 });
    const ok = await counted(reason, before);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    const dropped = !c.connected;
    await c.endAsync(true);
    return ok && dropped;
  };

  // The "field": an observer node that verifies every delta with the certificate resolver + replay guard.
  const resolver = new CertificateKeyResolver({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, clock: systemClock, logger, revocations: sb.revocations });
  const replay = new ReplayGuard();
  const accepted: string[] = [];
  const fieldRejects: string[] = [];
  const observer = await connect({ clientId: cid(other, 'observer'), ...auth(other) });
  t.teardown(() => observer.endAsync(true));
  observer.on('message', (topic, payload) => {
    const bytes = new Uint8Array(payload);
    if (resolver.handleMessage(topic, bytes)) return;
    try {
      if (topic.startsWith(`${root}state/`)) {
        decodePresence(bytes);
        return;
      }
      const env = decodeEnvelope(bytes, { fleet: fd.fleet, resolveKey: (f) => resolver.resolve(f), replay, kinds: ['delta', 'digest', 'want'] });
      if (!topic.endsWith(`/${env.from}`)) throw new Error(`sender ${env.from} on another node's topic`);
      accepted.push(`${env.from}:${env.seq}`);
    } catch (err) {
      fieldRejects.push(`${topic}: ${(err as Error).message}`);
      logger.warn({ topic, error: (err as Error).message }, 'field refused message');
    }
  });
  await observer.subscribeAsync([`${root}fleet/certs/+`, `${root}fleet/revocations`, `${root}ccf/delta/+`, `${root}ccf/digest/+`, `${root}ccf/want/+`, `${root}state/+`], { qos: 1 });
  await until(() => resolver.size === 3, 3000, 'certificates');
  const settle = () => new Promise((r) => setTimeout(r, 150));
  const delta = (signer: Board, from: string, seq: number) => encodeEnvelope({ kind: 'delta', fleet: fd.fleet, from, seq, hlc: { wall: Date.now(), logical: 0 }, body: new Uint8Array([1]) }, createSigner(signer.identity.signing));

  // --- broker authentication ---
  attack('connect without credentials (mqtt.js)', 'broker auth', await refusedConnect({ clientId: 'anon' }));
  if (haveClients) {
    const before = refusals('auth');
    const r = await run(PUB, ['-h', '127.0.0.1', '-p', String(sb.broker.port), '-t', `${root}ccf/delta/x`, '-m', 'x', '-q', '1']);
    attack(`connect without credentials (mosquitto_pub: ${r.stderr.trim().split('\n')[0]})`, 'broker auth', r.status !== null && r.status !== 0 && (await counted('auth', before)));
  }
  attack('garbage password', 'broker auth', await refusedConnect({ clientId: 'g', username: victim.identity.nodeId, password: 'not-a-token' }));
  const forgedToken = makeNodeToken(victim.identity.nodeId, victim.result.certBytes, createSigner(attacker.identity.signing), Date.now() + 60_000);
  attack('token for the victim signed with the attacker key', 'broker auth', await refusedConnect({ clientId: 'f', username: victim.identity.nodeId, password: forgedToken }));
  const expiredToken = makeNodeToken(attacker.identity.nodeId, attacker.result.certBytes, createSigner(attacker.identity.signing), Date.now() - 1000);
  attack('expired token', 'broker auth', await refusedConnect({ clientId: 'e', username: attacker.identity.nodeId, password: expiredToken }));
  const expiredCert = issueCertificate({ ...attacker.result.certificate, notBefore: Date.now() - 7200_000, notAfter: Date.now() - 3600_000 }, fd.fleetSigner());
  const expiredCertToken = makeNodeToken(attacker.identity.nodeId, expiredCert, createSigner(attacker.identity.signing), Date.now() + 60_000);
  attack('token chained to an expired certificate', 'broker auth', await refusedConnect({ clientId: 'ec', username: attacker.identity.nodeId, password: expiredCertToken }));
  const rogue = generateKeyPair();
  const selfSigned = issueCertificate({ ...attacker.result.certificate }, createSigner(rogue));
  attack('certificate not signed by the fleet', 'broker auth', await refusedConnect({ clientId: 'ss', username: attacker.identity.nodeId, password: makeNodeToken(attacker.identity.nodeId, selfSigned, createSigner(attacker.identity.signing), Date.now() + 60_000) }));
  const image = readBoardImage(fd.path('image', 'b1'));
  const claimBytes = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
  const claimSigner = createSigner({ seed: new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64')), publicKey: new Uint8Array(0) });
  attack('claim token bound to another client id', 'broker auth', await refusedConnect({ clientId: rid('rOther'), username: 'claim-b1', password: makeClaimToken(rid('rMine'), claimBytes, claimSigner, Date.now() + 60_000) }));

  // --- client-id takeover (issue 9): the victim's session must survive ---
  const victimSession = await connect({ clientId: `h3lix-${fd.fleet}-${victim.identity.nodeId}`, ...auth(victim) });
  t.teardown(() => victimSession.endAsync(true));
  let victimDropped = 0;
  victimSession.on('close', () => victimDropped++);
  const takeover = async (opts: mqtt.IClientOptions) => (await refusedConnect(opts, 'client-id')) && victimSession.connected && victimDropped === 0;
  attack("claim holder connects with a node's client id", 'broker auth (client-id)', await takeover({ clientId: `h3lix-${fd.fleet}-${victim.identity.nodeId}`, username: 'claim-b1', password: makeClaimToken(`h3lix-${fd.fleet}-${victim.identity.nodeId}`, claimBytes, claimSigner, Date.now() + 60_000) }));
  attack("node connects with another node's client id", 'broker auth (client-id)', await takeover({ clientId: `h3lix-${fd.fleet}-${victim.identity.nodeId}`, ...auth(attacker) }));
  attack("node connects with another node's renewal client id", 'broker auth (client-id)', await takeover({ clientId: victim.identity.nodeId, ...auth(attacker) }));

  // --- broker authorization (mqtt.js) ---
  const atkOpts = (id: string) => ({ clientId: cid(attacker, id), ...auth(attacker) });
  attack('publish on another node\'s delta topic (mqtt.js)', 'broker ACL (connection closed)', await violate(atkOpts('atk1'), `${root}ccf/delta/${victim.identity.nodeId}`, delta(attacker, victim.identity.nodeId, 1)));
  attack('publish a command to another node', 'broker ACL (connection closed)', await violate(atkOpts('atk2'), `${root}cmd/${victim.identity.nodeId}`, new Uint8Array([1])));
  attack('publish a revocation list as a node', 'broker ACL (connection closed)', await violate(atkOpts('atk3'), `${root}fleet/revocations`, new Uint8Array([1])));
  /** Granted QoS per filter; mqtt.js rejects a SUBACK with 0x80, its packet still lists the grants. */
  const grants = (c: mqtt.MqttClient, filters: string[]) =>
    c.subscribeAsync(filters, { qos: 1 }).then(
      (g) => g.map((x) => x.qos),
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted ?? filters.map(() => 128),
    );
  const atk = await connect({ clientId: cid(attacker, 'atk'), ...auth(attacker) });
  t.teardown(() => atk.endAsync(true));
  const spyGrants = await grants(atk, [`${root}cmd/${victim.identity.nodeId}`, `${root}#`, `${root}cmd/+`]);
  attack('subscribe to another node\'s command topic (mqtt.js)', 'broker ACL (SUBACK 0x80)', spyGrants[0] === 128);
  attack('subscribe to the whole fleet tree', 'broker ACL (SUBACK 0x80)', spyGrants[1] === 128);
  attack('subscribe to every node\'s command topic (cmd/+)', 'broker ACL (SUBACK 0x80)', spyGrants[2] === 128);
  const claimOpts = (label: string) => ({ clientId: rid(label), username: 'claim-b1', password: makeClaimToken(rid(label), claimBytes, claimSigner, Date.now() + 60_000) });
  const claimClient = await connect(claimOpts('rClaimAtk'));
  t.teardown(() => claimClient.endAsync(true));
  const claimSub = await grants(claimClient, [`${root}ccf/delta/+`, `${root}provision/response/+`]);
  attack('claim holder reads field traffic', 'broker ACL (SUBACK 0x80)', claimSub[0] === 128);
  attack('claim holder reads other boards\' provisioning answers', 'broker ACL (SUBACK 0x80)', claimSub[1] === 128);
  attack('claim holder publishes a delta', 'broker ACL (connection closed)', await violate(claimOpts('rC1'), `${root}ccf/delta/${rid('rC1')}`, new Uint8Array([1])));
  attack('claim holder publishes a forged provisioning answer', 'broker ACL (connection closed)', await violate(claimOpts('rC2'), `${root}provision/response/${rid('rC2')}`, new Uint8Array([1])));
  attack('oversized provisioning request (20 KB)', 'broker size limit (connection closed)', await violate(claimOpts('rC3'), `${root}provision/request/${rid('rC3')}`, new Uint8Array(20_000).fill(7), 'oversized payload'));
  const malformedBefore = prov.stats.malformed;
  await claimClient.publishAsync(`${root}provision/request/${rid('rClaimAtk')}`, Buffer.alloc(10_000, 0xa1), { qos: 1 });
  await until(() => prov.stats.malformed === malformedBefore + 1, 2000, 'provisioner refusal');
  attack('oversized provisioning request under the broker limit (10 KB)', 'provisioner (WIRE_OVERSIZE)', /WIRE_OVERSIZE/.test(cap.text()));

  if (haveClients) {
    const a = auth(attacker);
    const beforePub = refusals('publish outside own topics');
    const r = await run(PUB, ['-h', '127.0.0.1', '-p', String(sb.broker.port), '-i', cid(attacker, 'cli'), '-u', a.username, '-P', a.password, '-t', `${root}ccf/delta/${victim.identity.nodeId}`, '-s', '-q', '1'], delta(attacker, victim.identity.nodeId, 2));
    attack('publish on another node\'s delta topic (mosquitto_pub)', 'broker ACL', r.status !== null && (await counted('publish outside own topics', beforePub)));
    const beforeSub = refusals('subscribe outside allowed topics');
    const s = await run(SUB, ['-h', '127.0.0.1', '-p', String(sb.broker.port), '-i', cid(attacker, 'cli2'), '-u', a.username, '-P', a.password, '-t', `${root}cmd/${victim.identity.nodeId}`, '-C', '1', '-W', '1']);
    attack(`subscribe to another node's command topic (mosquitto_sub: exit ${s.status}, ${JSON.stringify((s.stderr + s.stdout).trim())})`, 'broker ACL (SUBACK 0x80)', /denied/.test(s.stdout + s.stderr) && !s.stdout.includes('\u0000') && refusals('subscribe outside allowed topics') > beforeSub);
  }

  // --- runtime verification (the field) ---
  const acceptedBefore = accepted.length;
  await atk.publishAsync(`${root}ccf/delta/${attacker.identity.nodeId}`, Buffer.from(delta(attacker, victim.identity.nodeId, 3)), { qos: 1 });
  const forgedSig = delta(attacker, attacker.identity.nodeId, 4);
  forgedSig[forgedSig.length - 1]! ^= 0xff;
  await atk.publishAsync(`${root}ccf/delta/${attacker.identity.nodeId}`, Buffer.from(forgedSig), { qos: 1 });
  await until(() => fieldRejects.length >= 2, 2000, 'field rejects');
  attack('delta claiming to be the victim, signed by the attacker', 'resolver (WIRE_BAD_SIGNATURE)', /WIRE_BAD_SIGNATURE|does not verify/.test(fieldRejects[0]!));
  attack('forged signature', 'envelope verification', /does not verify/.test(fieldRejects[1]!));
  const good = delta(attacker, attacker.identity.nodeId, 10);
  await atk.publishAsync(`${root}ccf/delta/${attacker.identity.nodeId}`, Buffer.from(good), { qos: 1 });
  await until(() => accepted.length === acceptedBefore + 1, 2000, 'legit delta');
  await atk.publishAsync(`${root}ccf/delta/${attacker.identity.nodeId}`, Buffer.from(good), { qos: 1 });
  await until(() => fieldRejects.length >= 3, 2000, 'replay reject');
  attack('valid envelope replayed', 'replay guard (WIRE_REPLAY)', /already accepted/.test(fieldRejects[2]!) && accepted.length === acceptedBefore + 1);
  const n = fieldRejects.length;
  for (const topic of ['ccf/delta', 'ccf/digest', 'ccf/want', 'state', 'fleet/certs']) {
    await atk.publishAsync(`${root}${topic}/${attacker.identity.nodeId}`, Buffer.from([0xbf, 0x61, 0x61, 0xff, 0x00, 0x13]), { qos: 1 });
  }
  await until(() => fieldRejects.length >= n + 4, 2000, 'malformed rejects');
  attack('malformed CBOR on ccf/delta, ccf/digest, ccf/want, state', 'decoders (WIRE_*)', fieldRejects.length === n + 4);
  await until(() => /certificate refused/.test(cap.text()), 2000, 'certificate refusal');
  attack('malformed CBOR on fleet/certs', 'resolver', true);
  await atk.publishAsync(`${root}provision/request/${attacker.identity.nodeId}`, Buffer.from([0xff, 0xff]), { qos: 1 });
  await until(() => prov.stats.malformed === malformedBefore + 2, 2000, 'provisioner malformed');
  attack('malformed CBOR on provision/request', 'provisioner', true);
  const forgedCert = issueCertificate({ ...victim.result.certificate, serial: 99, notAfter: Date.now() + 1e9 }, createSigner(rogue));
  await atk.publishAsync(`${root}fleet/certs/${attacker.identity.nodeId}`, Buffer.from(forgedCert), { qos: 1, retain: true });
  await settle();
  attack('certificate signed by a rogue key on fleet/certs', 'resolver (WIRE_BAD_SIGNATURE)', resolver.certificate(victim.identity.nodeId)?.serial === victim.result.certificate.serial);

  // A certificate learned while valid, then expired: its envelopes are rejected WIRE_CERT_EXPIRED.
  let shortNow = victim.result.certificate.notAfter - 1;
  const shortResolver = new CertificateKeyResolver({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, clock: { ...systemClock, now: () => shortNow }, logger });
  shortResolver.learnCertificate(victim.result.certBytes);
  shortNow = victim.result.certificate.notAfter + 1;
  let expiredErr = '';
  try {
    decodeEnvelope(delta(victim, victim.identity.nodeId, 1), { fleet: fd.fleet, resolveKey: (f) => shortResolver.resolve(f) });
  } catch (err) {
    expiredErr = (err as { code: string }).code;
  }
  attack('envelope from a node whose certificate expired', 'resolver (WIRE_CERT_EXPIRED)', expiredErr === 'WIRE_CERT_EXPIRED');

  // --- provisioning abuse ---
  let lastRequest: Uint8Array = new Uint8Array(0);
  let lastRequestId = '';
  const fresh = async (claim: Uint8Array, signer: typeof claimSigner, mutate?: (r: Parameters<typeof encodeProvisionRequest>[0]) => void, key = generateKeyPair(), replayOf?: { id: string; bytes: Uint8Array }) => {
    const id = key;
    const box = nacl.box.keyPair();
    const nodeId = nodeIdFromPublicKey(id.publicKey);
    const requestId = replayOf?.id ?? `r${randomBytes(10).toString('hex')}`;
    const nonce = nacl.randomBytes(16);
    const req = { nodeId, requestId, publicKey: id.publicKey, boxKey: box.publicKey, board: 'rpi-4', versions: {}, nonce, claim, claimSig: signer.sign(claimBinding(nodeId, requestId, nonce, id.publicKey, box.publicKey)), renew: false };
    mutate?.(req);
    const c = await connect({ clientId: requestId, username: 'claim-b1', password: makeClaimToken(requestId, claimBytes, claimSigner, Date.now() + 60_000) });
    try {
      const answer = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(decodeProvisionResponse(new Uint8Array(p), fd.fleet, fd.fleetPublicKey).reason ?? 'accepted')));
      await c.subscribeAsync(`${root}provision/response/${requestId}`, { qos: 1 });
      const bytes = replayOf?.bytes ?? encodeProvisionRequest(req, fd.fleet, createSigner(id), Date.now());
      lastRequest = bytes;
      lastRequestId = requestId;
      await c.publishAsync(`${root}provision/request/${requestId}`, Buffer.from(bytes), { qos: 1 });
      return await Promise.race([answer, new Promise<string>((r) => setTimeout(() => r('no answer'), 1000))]);
    } finally {
      await c.endAsync(true);
    }
  };
  const fourthKey = generateKeyPair();
  t.equal(await fresh(claimBytes, claimSigner, undefined, fourthKey), 'accepted', 'the fourth board still fits the claim');
  const fourthId = nodeIdFromPublicKey(fourthKey.publicKey);
  const liveHash = fd.node(fourthId)!.brokerPasswordHash;
  const replayedBefore = prov.stats.replayed;
  const replayAnswer = await fresh(claimBytes, claimSigner, undefined, fourthKey, { id: lastRequestId, bytes: lastRequest });
  attack('captured provisioning request replayed', 'provisioner (same nonce: same answer, nothing rotated)', replayAnswer === 'accepted' && prov.stats.replayed === replayedBefore + 1 && fd.node(fourthId)!.brokerPasswordHash === liveHash);
  attack('claim used past its limit', 'provisioner (CLAIM_EXHAUSTED)', /CLAIM_EXHAUSTED/.test(await fresh(claimBytes, claimSigner)));
  addBatch(fd, { name: 'old', uses: 10, expiresDays: 1 }, Date.now() - 2 * 86_400_000);
  const oldImage = readBoardImage(fd.path('image', 'old'));
  const oldSigner = createSigner({ seed: new Uint8Array(Buffer.from(oldImage.claim.claimSeed, 'base64')), publicKey: new Uint8Array(0) });
  attack('claim after its expiry', 'provisioner (CLAIM_EXPIRED)', /CLAIM_EXPIRED/.test(await fresh(new Uint8Array(Buffer.from(oldImage.claim.claim, 'base64')), oldSigner)));
  attack('expired claim at the broker', 'broker auth', await refusedConnect({ clientId: rid('rOld'), username: 'claim-old', password: makeClaimToken(rid('rOld'), new Uint8Array(Buffer.from(oldImage.claim.claim, 'base64')), oldSigner, Date.now() + 60_000) }));
  const rogueClaim = issueClaim({ fleet: fd.fleet, batch: 'b1', claimKey: rogue.publicKey, maxUses: 1000, issuedAt: Date.now(), notAfter: Date.now() + 1e9, boards: [], roles: ['admin'] }, createSigner(rogue));
  attack('claim not signed by the fleet', 'provisioner (CLAIM_INVALID)', /CLAIM_INVALID/.test(await fresh(rogueClaim, createSigner(rogue))));
  attack('claim signature not binding the node key', 'provisioner (CLAIM_INVALID)', /CLAIM_INVALID/.test(await fresh(claimBytes, createSigner(rogue))));
  attack('request for someone else\'s node id', 'provisioner (WIRE_UNKNOWN_SENDER)', (await fresh(claimBytes, claimSigner, (r) => (r.nodeId = victim.identity.nodeId))) === 'no answer' && /WIRE_UNKNOWN_SENDER/.test(cap.text()));

  // --- commands ---
  const router = new CommandRouter({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, nodeId: victim.identity.nodeId, nodeSigner: createSigner(victim.identity.signing), publish: () => undefined, clock: systemClock, logger });
  let ran = 0;
  router.register('evolve', () => {
    ran++;
  });
  const cmdFor = (signer: ReturnType<typeof createSigner>, seq: number, exp = Date.now() + 60_000, to = victim.identity.nodeId) => encodeCommand(fd.fleet, { to, id: `c${seq}`, name: 'evolve', args: {}, exp }, signer, seq, Date.now());
  await router.handle(cmdFor(createSigner(rogue), 5));
  attack('command signed by a rogue key', 'command router (WIRE_BAD_SIGNATURE)', router.refused.get('WIRE_BAD_SIGNATURE') === 1);
  await router.handle(new Uint8Array([0xa0]));
  const unsigned = cmdFor(fd.fleetSigner(), 6);
  unsigned.fill(0, unsigned.length - 64);
  await router.handle(unsigned);
  attack('unsigned / malformed command', 'command router', (router.refused.get('WIRE_TYPE') ?? 0) + (router.refused.get('WIRE_BAD_SIGNATURE') ?? 0) + (router.refused.get('WIRE_MALFORMED') ?? 0) >= 3);
  await router.handle(cmdFor(fd.fleetSigner(), 7, Date.now() - 1));
  attack('expired command', 'command router', router.refused.get('expired') === 1);
  const valid = cmdFor(fd.fleetSigner(), 8);
  await router.handle(valid);
  await router.handle(valid);
  attack('replayed command', 'command router', router.refused.get('replayed') === 1 && ran === 1);
  await router.handle(cmdFor(fd.fleetSigner(), 9, Date.now() + 60_000, attacker.identity.nodeId));
  attack('command addressed to another node', 'command router', router.refused.get('wrong recipient') === 1 && ran === 1);

  // --- revocation ---
  const signedList = revokeNode(fd, attacker.identity.nodeId, 'compromised', Date.now());
  const provOp = await connect({ clientId: 'h3lix-operator-op', username: 'provisioner', password: (await import('../../src/fleet/tokens.js')).makeProvisionerToken(fd.fleetSigner(), Date.now() + 60_000) });
  t.teardown(() => provOp.endAsync(true));
  await provOp.publishAsync(`${root}fleet/revocations`, Buffer.from(signedList), { qos: 1, retain: true });
  await until(() => resolver.isRevoked(attacker.identity.nodeId) && !atk.connected, 3000, 'revocation');
  attack('revoked node keeps its connection', 'broker (disconnected on revocation)', !atk.connected);
  attack('revoked node reconnects', 'broker auth', await refusedConnect({ clientId: cid(attacker, 'atk-again'), ...auth(attacker) }));
  let revokedErr = '';
  try {
    decodeEnvelope(delta(attacker, attacker.identity.nodeId, 11), { fleet: fd.fleet, resolveKey: (f) => resolver.resolve(f) });
  } catch (err) {
    revokedErr = (err as { code: string }).code;
  }
  attack('envelope from a revoked node', 'resolver (WIRE_REVOKED)', revokedErr === 'WIRE_REVOKED' && resolver.isRevoked(attacker.identity.nodeId));
  const oldList = issueRevocationList({ fleet: fd.fleet, seq: 0, issuedAt: Date.now(), revoked: [] }, fd.fleetSigner());
  resolver.handleMessage(`${root}fleet/revocations`, oldList);
  const forgedList = issueRevocationList({ fleet: fd.fleet, seq: 99, issuedAt: Date.now(), revoked: [] }, createSigner(rogue));
  resolver.handleMessage(`${root}fleet/revocations`, forgedList);
  attack('older or forged revocation list to un-revoke', 'revocation set (seq, signature)', resolver.isRevoked(attacker.identity.nodeId));
  const provisionReq = await fresh(claimBytes, claimSigner, undefined, attacker.identity.signing);
  attack('revoked node re-provisions with its own key', 'provisioner (REVOKED)', /^REVOKED/.test(provisionReq));

  // --- the broker and the field are still fine ---
  t.same(accepted.filter((a) => !a.startsWith(attacker.identity.nodeId)), [], 'no attacker-crafted contribution in the field');
  t.equal(accepted.length, 1, 'only the one legitimate attacker delta before revocation was accepted');
  const victimClient = await connect({ clientId: cid(victim, 'victim'), ...auth(victim) });
  t.teardown(() => victimClient.endAsync(true));
  await victimClient.publishAsync(`${root}ccf/delta/${victim.identity.nodeId}`, Buffer.from(delta(victim, victim.identity.nodeId, 1)), { qos: 1 });
  await until(() => accepted.includes(`${victim.identity.nodeId}:1`), 2000, 'victim delta');
  t.pass('broker and field still serve honest nodes after all attacks');

  // --- logs: every refusal has a reason; no private key bytes ---
  const log = cap.text();
  t.match(log, /"reason":"auth"/);
  t.match(log, /"reason":"publish outside own topics"/);
  const secrets: Uint8Array[] = [fd.fleetSigner() && new Uint8Array(Buffer.from((JSON.parse(Buffer.from(readFileChecked(fd.path('private', 'fleet.key'))!).toString()) as { seed: string }).seed, 'base64')), new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64'))];
  for (const b of boards) secrets.push(b.identity.signing.seed, b.identity.box.secretKey);
  let leaks = 0;
  for (const s of secrets) {
    const forms = [Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64').slice(0, 40), Buffer.from(s).toString('base64url').slice(0, 40)];
    for (const f of forms) if (log.includes(f)) leaks++;
  }
  t.equal(leaks, 0, `no private key (hex/base64/base64url) in ${log.length} bytes of captured logs`);
  t.comment(`ATTACK CASES: ${attacks.length} refused`);
  t.equal(attacks.length, haveClients ? 50 : 47, 'attack cases counted');
});
