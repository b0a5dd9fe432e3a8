import t from 'tap';
import { join } from 'node:path';
import { unlinkSync } from 'node:fs';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import nacl from 'tweetnacl';
import { capturedLogger, makeFleet, provisionOne, until, type Board } from './fixtures.js';
import { EmbeddedBroker } from '../../src/sync/embedded-broker.js';
import { createFleetBrokerAuth, type FleetBrokerAuth } from '../../src/fleet/broker-auth.js';
import { RevocationSet, verifyRevocationList } from '../../src/fleet/revocation.js';
import { revokeBatch, revokeNode } from '../../src/fleet/revoke.js';
import type { FleetDir } from '../../src/fleet/fleet-dir.js';
import { Provisioner } from '../../src/fleet/provisioner.js';
import { readBoardImage, CREDENTIALS_FILE } from '../../src/fleet/board-files.js';
import { makeClaimToken, makeProvisionerToken } from '../../src/fleet/tokens.js';
import { claimBinding, decodeProvisionResponse, encodeProvisionRequest } from '../../src/fleet/provision-protocol.js';
import { createSigner, generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { systemClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';
import type { Defence } from '../../src/sync/defences.js';
import { cli } from '../helpers/cli.js';

/**
 * Claim lifecycle (issue 9 item 4) against aedes on loopback with the fleet hooks and a real
 * provisioner: batch revocation, a revoked board re-provisioning, and replayed requests. Every case
 * has a negative control: the same attack with its defence switched off (a test-only switch) gets
 * through, so no case passes for another reason.
 */

async function broker(fd: FleetDir, logger: Logger, off: Defence[] = []): Promise<{ b: EmbeddedBroker; auth: FleetBrokerAuth; url: string }> {
  const revocations = new RevocationSet(fd.fleet, fd.fleetPublicKey);
  const auth = createFleetBrokerAuth({ fleet: fd.fleet, fleetPublicKey: fd.fleetPublicKey, revocations, clock: systemClock, logger, defencesOff: new Set(off) });
  const b = new EmbeddedBroker({ host: '127.0.0.1', port: 0, hooks: auth.hooks });
  await b.start();
  // Apply the operator's current list, as `fleet serve` does at start (it publishes it retained).
  const signed = fd.revocations().signed;
  if (signed) revocations.apply(new Uint8Array(Buffer.from(signed, 'base64')));
  return { b, auth, url: b.url };
}

const running = new Set<Provisioner>();
t.teardown(() => Promise.all([...running].map((p) => p.stop())));
async function provisioner(fd: FleetDir, url: string, logger: Logger, off: Defence[] = []): Promise<Provisioner & { done(): Promise<void> }> {
  const p = new Provisioner({ fleetDir: fd, url, policy: { certLifetimeDays: 30, allowBoards: [], config: {} }, clock: systemClock, logger, pollMs: 20, defencesOff: new Set(off) });
  await p.start();
  running.add(p);
  return Object.assign(p, {
    done: () => {
      running.delete(p);
      return p.stop();
    },
  });
}

const claimOf = (fd: FleetDir, batch = 'b1') => {
  const image = readBoardImage(fd.path('image', batch));
  return { bytes: new Uint8Array(Buffer.from(image.claim.claim, 'base64')), signer: createSigner({ seed: new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64')), publicKey: new Uint8Array(0) }), image };
};
const rid = () => `r${randomBytes(10).toString('hex')}`;

/** A signed provisioning request for a fresh (or given) key, as a board builds it, with its own timestamp. */
function buildRequest(fd: FleetDir, opts: { key?: ReturnType<typeof generateKeyPair>; ts?: number } = {}): { requestId: string; bytes: Uint8Array; nodeId: string } {
  const key = opts.key ?? generateKeyPair();
  const c = claimOf(fd);
  const box = nacl.box.keyPair();
  const nodeId = nodeIdFromPublicKey(key.publicKey);
  const requestId = rid();
  const nonce = nacl.randomBytes(16);
  const req = { nodeId, requestId, publicKey: key.publicKey, boxKey: box.publicKey, board: 'rpi-4', versions: {}, nonce, claim: c.bytes, claimSig: c.signer.sign(claimBinding(nodeId, requestId, nonce, key.publicKey, box.publicKey)), renew: false };
  return { requestId, nodeId, bytes: encodeProvisionRequest(req, fd.fleet, createSigner(key), opts.ts ?? Date.now()) };
}

/** Publish `bytes` as claim client `requestId` and return the provisioner's answer ('accepted' or its reason). */
async function send(fd: FleetDir, url: string, requestId: string, bytes: Uint8Array): Promise<string> {
  const c = claimOf(fd);
  const root = `h3lix/v1/${fd.fleet}/`;
  const client = await mqtt.connectAsync(url, { clientId: requestId, username: 'claim-b1', password: makeClaimToken(requestId, c.bytes, c.signer, Date.now() + 60_000), reconnectPeriod: 0, connectTimeout: 3000 });
  try {
    const answer = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(decodeProvisionResponse(new Uint8Array(p), fd.fleet, fd.fleetPublicKey).reason ?? 'accepted')));
    await client.subscribeAsync(`${root}provision/response/${requestId}`, { qos: 1 });
    await client.publishAsync(`${root}provision/request/${requestId}`, Buffer.from(bytes), { qos: 1 });
    return await Promise.race([answer, new Promise<string>((r) => setTimeout(() => r('no answer'), 10_000))]);
  } finally {
    await client.endAsync(true);
  }
}

/** Does `password` match a mosquitto_passwd `$7$` hash (what Mosquitto checks at login)? */
function passwordMatches(password: string, hash: string): boolean {
  const [, , iter, salt, want] = hash.split('$');
  return pbkdf2Sync(password, Buffer.from(salt!, 'base64'), Number(iter), 64, 'sha512').toString('base64') === want;
}

const cases: string[] = [];
const controls: string[] = [];

t.test('revoked claim batch: the broker refuses the claim login, the provisioner refuses CLAIM_REVOKED; provisioned nodes keep working', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const fd = makeFleet(dir, { uses: 10 });
  const sb = await broker(fd, logger);
  t.teardown(() => sb.b.stop());
  const prov = await provisioner(fd, sb.url, logger);
  const early = await provisionOne(fd, join(dir, 'early'), sb.url, logger);
  const c = claimOf(fd);
  // A claim client connected before the revocation is disconnected when the list reaches the broker.
  const holderId = rid();
  const holder = await mqtt.connectAsync(sb.url, { clientId: holderId, username: 'claim-b1', password: makeClaimToken(holderId, c.bytes, c.signer, Date.now() + 60_000), reconnectPeriod: 0 });
  t.teardown(() => holder.endAsync(true));
  const seqBefore = fd.revocations().seq;

  const rev = await cli(['fleet', 'revoke', '--batch', 'b1', '--fleet-dir', fd.dir, '--broker', sb.url, '--reason', 'image leaked']);
  t.equal(rev.code, 0, `fleet revoke --batch exits 0 ${rev.stderr}`);
  t.match(rev.stdout, /claim of batch b1 revoked .*1 provisioned node\(s\) keep working/);
  t.equal(fd.revocations().seq, seqBefore + 1, 'the signed list seq grows by one');
  const list = verifyRevocationList(new Uint8Array(Buffer.from(fd.revocations().signed!, 'base64')), fd.fleetPublicKey, fd.fleet);
  t.same(list.batches?.map((b) => b.batch), ['b1'], 'the batch is in the signed, published list');
  await until(() => !holder.connected, 3000, 'claim client disconnected');
  t.pass('a connected claim client is disconnected when its batch is revoked');

  // (b) the broker: a new board logging in with the revoked claim is refused and counted.
  const before = sb.auth.refusals.get('claim-revoked') ?? 0;
  const err = await provisionOne(fd, join(dir, 'late'), sb.url, logger, { attempts: 1, timeoutMs: 2000 }).catch((e: unknown) => e);
  t.match(err, { code: 'PROVISION_TIMEOUT', message: /Not authorized/i }, 'the board cannot even log in');
  t.equal(sb.auth.refusals.get('claim-revoked'), before + 1, 'counted as claim-revoked at the broker');
  t.equal(prov.stats.accepted + prov.stats.rejected + prov.stats.malformed, 1, 'the provisioner never heard from the refused board');
  cases.push('revoked claim logs in to the embedded broker');
  t.match(text(), /broker refused: claim-revoked/);

  // Already-provisioned nodes of the batch keep working: log in, and renew (no claim).
  const node = await mqtt.connectAsync(sb.url, { clientId: `h3lix-${fd.fleet}-${early.identity.nodeId}`, ...nodeBrokerAuth(early.identity, early.result.credentials, 'token', Date.now()), reconnectPeriod: 0 });
  t.ok(node.connected, 'a node provisioned from the revoked batch still logs in');
  await node.endAsync();
  t.equal(fd.claimState('b1')?.uses, 1, 'no claim use counted after the revocation');
  const listed = await cli(['fleet', 'list', '--fleet-dir', fd.dir, '--json']);
  t.match(JSON.parse(listed.stdout.trim().split('\n').pop()!), { revokedBatches: ['b1'], claims: [{ batch: 'b1', status: 'revoked' }] });
  t.equal((await cli(['fleet', 'revoke', '--batch', 'b1', '--fleet-dir', fd.dir])).code, 65, 'revoking a batch twice is refused');
  t.equal((await cli(['fleet', 'revoke', '--batch', 'nosuch', '--fleet-dir', fd.dir])).code, 65, 'an unknown batch is refused');
  t.equal((await cli(['fleet', 'revoke', '--fleet-dir', fd.dir])).code, 64, 'neither node nor batch: usage error');
  t.equal((await cli(['fleet', 'revoke', early.identity.nodeId, '--batch', 'b1', '--fleet-dir', fd.dir])).code, 64, 'both node and batch: usage error');
});

t.test('revoked claim batch, provisioner layer: CLAIM_REVOKED even where the broker still lets the claim in', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir, { uses: 10 });
  revokeBatch(fd, 'b1', 'image leaked', Date.now());
  // An upstream broker not yet reconfigured: the claim login still works (broker check off).
  const sb = await broker(fd, logger, ['claim-revoke']);
  t.teardown(() => sb.b.stop());
  const prov = await provisioner(fd, sb.url, logger);
  const r = buildRequest(fd);
  t.match(await send(fd, sb.url, r.requestId, r.bytes), /^CLAIM_REVOKED: the claim of batch b1 was revoked/);
  t.equal(prov.refusals.get('CLAIM_REVOKED'), 1, 'counted as CLAIM_REVOKED');
  t.notOk(fd.node(r.nodeId), 'no node record');
  t.equal(fd.claimState('b1')?.uses, 0, 'no claim use');
  cases.push('new node provisions with a revoked claim (provisioner)');
  await prov.done();

  // Negative control: the provisioner's claim-revoke check off, the same request kind is accepted.
  const open = await provisioner(fd, sb.url, logger, ['claim-revoke']);
  const r2 = buildRequest(fd);
  t.equal(await send(fd, sb.url, r2.requestId, r2.bytes), 'accepted', 'NEGATIVE CONTROL: without the check a revoked claim provisions');
  t.ok(fd.node(r2.nodeId));
  await open.done();
  controls.push('claim-revoke (provisioner)');
});

t.test('negative control: the broker with claim-revoke off lets the revoked claim log in', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir);
  revokeBatch(fd, 'b1', 'x', Date.now());
  const sb = await broker(fd, logger, ['claim-revoke']);
  t.teardown(() => sb.b.stop());
  const c = claimOf(fd);
  const id = rid();
  const cl = await mqtt.connectAsync(sb.url, { clientId: id, username: 'claim-b1', password: makeClaimToken(id, c.bytes, c.signer, Date.now() + 60_000), reconnectPeriod: 0 });
  t.ok(cl.connected, 'NEGATIVE CONTROL: the revoked claim logs in');
  t.equal(sb.auth.refusals.get('claim-revoked') ?? 0, 0);
  await cl.endAsync();
  controls.push('claim-revoke (broker)');
});

t.test('a board whose node was revoked: REVOKED for its key, new keys of its batch wait for approval', async (t) => {
  const dir = t.testdir();
  const { logger, text } = capturedLogger();
  const fd = makeFleet(dir, { uses: 10 });
  const sb = await broker(fd, logger);
  t.teardown(() => sb.b.stop());
  let prov = await provisioner(fd, sb.url, logger);
  const stolen = await provisionOne(fd, join(dir, 'stolen'), sb.url, logger);
  revokeNode(fd, stolen.identity.nodeId, 'stolen', Date.now());
  // The thief wipes the credentials file and provisions again with the same (revoked) key and the
  // batch claim still in the image. The request is well-formed: its id derives from its key.
  unlinkSync(join(stolen.dataDir, CREDENTIALS_FILE));
  const again = await provisionOne(fd, stolen.dataDir, sb.url, logger, { attempts: 1 }).catch((e: unknown) => e);
  t.match(again, { code: 'PROVISION_REJECTED', message: new RegExp(`^REVOKED: node ${stolen.identity.nodeId} is revoked`) }, 'the revoked key gets REVOKED');
  t.equal(prov.refusals.get('REVOKED'), 1, 'counted as REVOKED (the rule itself, not an id/key mismatch)');
  t.equal(prov.stats.malformed, 0, 'nothing was dropped as malformed');
  cases.push('revoked board re-provisions with its own key');

  // A new key from the same image: parked for approval, not answered.
  const pendingBefore = fd.pendingAll().length;
  const waiting = provisionOne(fd, join(dir, 'newkey'), sb.url, logger, { attempts: 1, timeoutMs: 6000 });
  await until(() => fd.pendingAll().length === pendingBefore + 1, 8000, 'held in state/pending');
  const held = fd.pendingAll()[0]!;
  t.equal(held.batch, 'b1');
  t.notOk(fd.node(held.nodeId), 'no certificate issued before approval');
  t.match(text(), /held for approval/);
  cases.push('stolen board re-provisions as a new node with the batch claim');
  // With the operator's approval it provisions.
  t.equal((await cli(['fleet', 'approve', held.requestId, '--fleet-dir', fd.dir])).code, 0);
  const approved = await waiting;
  t.equal(approved.result.certificate.nodeId, held.nodeId, 'approved: the board gets its certificate');
  await prov.done();

  // Negative controls, one provisioner at a time on the same broker.
  prov = await provisioner(fd, sb.url, logger, ['provision-revoked']);
  const leaked = await provisionOne(fd, stolen.dataDir, sb.url, logger, { attempts: 1 });
  t.equal(leaked.result.certificate.nodeId, stolen.identity.nodeId, 'NEGATIVE CONTROL: without the REVOKED rule the revoked key gets a fresh certificate');
  controls.push('provision-revoked');
  await prov.done();
  prov = await provisioner(fd, sb.url, logger, ['provision-hold']);
  const direct = await provisionOne(fd, join(dir, 'newkey2'), sb.url, logger, { attempts: 1 });
  t.ok(fd.node(direct.identity.nodeId), 'NEGATIVE CONTROL: without the hold a new key of the batch provisions at once');
  controls.push('provision-hold');
});

t.test('replays: a stale request is refused, an older request never rotates a live node\'s password', async (t) => {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const fd = makeFleet(dir, { uses: 10 });
  const sb = await broker(fd, logger);
  t.teardown(() => sb.b.stop());
  let prov = await provisioner(fd, sb.url, logger);
  const root = `h3lix/v1/${fd.fleet}/`;

  // Outside the timestamp window: a request signed 20 minutes ago (captured then, replayed now).
  const stale = buildRequest(fd, { ts: Date.now() - 20 * 60_000 });
  t.match(await send(fd, sb.url, stale.requestId, stale.bytes), /^STALE_REQUEST/);
  t.equal(prov.refusals.get('STALE_REQUEST'), 1);
  t.notOk(fd.node(stale.nodeId));
  cases.push('request signed outside the 15-minute window');

  // A spy with the provisioner's rights captures the board's real request on the wire.
  const captured: { topic: string; bytes: Uint8Array }[] = [];
  const spy = await mqtt.connectAsync(sb.url, { clientId: 'h3lix-operator-spy', username: 'provisioner', password: makeProvisionerToken(fd.fleetSigner(), Date.now() + 60_000), reconnectPeriod: 0 });
  t.teardown(() => spy.endAsync(true));
  spy.on('message', (topic, p) => captured.push({ topic, bytes: new Uint8Array(p) }));
  await spy.subscribeAsync(`${root}provision/request/+`, { qos: 1 });
  const board: Board = await provisionOne(fd, join(dir, 'live'), sb.url, logger);
  await until(() => captured.length === 1, 6000, 'captured the first request');
  // The board loses its credentials file and asks again with its key and a new nonce (legitimate).
  unlinkSync(join(board.dataDir, CREDENTIALS_FILE));
  const live = await provisionOne(fd, board.dataDir, sb.url, logger);
  const password = live.result.credentials.brokerPassword!;
  t.ok(passwordMatches(password, fd.node(board.identity.nodeId)!.brokerPasswordHash), 'the live board\'s password matches the operator record');

  // Same nonce (the second request again): the same answer, nothing rotates (existing rule).
  await until(() => captured.length === 2, 6000, 'captured the second request');
  const [first, second] = captured as [{ topic: string; bytes: Uint8Array }, { topic: string; bytes: Uint8Array }];
  const idOf = (c: { topic: string }) => c.topic.slice(`${root}provision/request/`.length);
  t.equal(await send(fd, sb.url, idOf(second), second.bytes), 'accepted');
  t.ok(passwordMatches(password, fd.node(board.identity.nodeId)!.brokerPasswordHash), 'same-nonce replay: password unchanged');
  // The older first request, within the window, another nonce: REPLAYED.
  t.match(await send(fd, sb.url, idOf(first), first.bytes), /^REPLAYED: request signed .* is not newer/);
  t.equal(prov.refusals.get('REPLAYED'), 1);
  t.ok(passwordMatches(password, fd.node(board.identity.nodeId)!.brokerPasswordHash), 'older request replayed: the live node\'s password still matches (no lock-out at the next fleet acl)');
  cases.push('same-nonce replay rotates credentials', 'older request replayed within the window');
  await prov.done();

  // Negative controls: replay defences off.
  prov = await provisioner(fd, sb.url, logger, ['provision-replay']);
  const stale2 = buildRequest(fd, { ts: Date.now() - 20 * 60_000 });
  t.equal(await send(fd, sb.url, stale2.requestId, stale2.bytes), 'accepted', 'NEGATIVE CONTROL: without the window a 20-minute-old request is accepted');
  t.equal(await send(fd, sb.url, idOf(first), first.bytes), 'accepted', 'NEGATIVE CONTROL: the older request is answered');
  t.notOk(passwordMatches(password, fd.node(board.identity.nodeId)!.brokerPasswordHash), 'NEGATIVE CONTROL: the replay rotated the password: the live node would be locked out of Mosquitto');
  const rotated = fd.node(board.identity.nodeId)!.brokerPasswordHash;
  t.equal(await send(fd, sb.url, idOf(second), second.bytes), 'accepted');
  t.not(fd.node(board.identity.nodeId)!.brokerPasswordHash, rotated, 'NEGATIVE CONTROL: a same-nonce replay rotates it again');
  controls.push('provision-replay (window)', 'provision-replay (older request)', 'provision-replay (same nonce)');
});

t.test('summary', async (t) => {
  t.comment(`CLAIM LIFECYCLE CASES: ${cases.length} refused; NEGATIVE CONTROLS: ${controls.length} got through with the defence off`);
  t.equal(cases.length, 7);
  t.equal(controls.length, 7);
});
