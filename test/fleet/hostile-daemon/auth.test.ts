import t from 'tap';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { createSigner, generateKeyPair, keyPairFromSeed } from '../../../src/crypto/ed25519.js';
import { issueCertificate } from '../../../src/fleet/certificate.js';
import { makeClaimToken, makeNodeToken, makeProvisionerToken } from '../../../src/fleet/tokens.js';
import { addBatch, initFleet } from '../../../src/fleet/init.js';
import { readBoardImage } from '../../../src/fleet/board-files.js';
import { revokeBatch, revokeNode } from '../../../src/fleet/revoke.js';
import { issueRevocationList } from '../../../src/fleet/revocation.js';
import { daemonClientId } from '../../../src/fleet/client-ids.js';
import { capturedLogger, provisionOne, type Board } from '../fixtures.js';
import { until } from '../../helpers/until.js';
import { count, type Rig } from './rig.js';
import { refused, runArea, type HostileCase } from './area.js';
import { MOSQUITTO_PUB, noMosquittoClients, run, sleep } from './tools.js';

/**
 * Broker authentication against a real gateway daemon's embedded broker: credentials that do not
 * verify (refused CONNACK 4/5, counted `auth`; control `broker-auth`), revoked nodes (`node-revoke`),
 * credentials that lapse during the session (`token-expiry`) and revoked claims (`claim-revoke`).
 */
const rogue = generateKeyPair();
const bId = (r: Rig, suffix: string) => `${daemonClientId(r.fleet, r.bId)}-${suffix}`;
const bCert = (r: Rig) => r.b.fleetNode!.provisioned;
const bSigner = (r: Rig) => createSigner(r.bIdentity.signing);

function login(name: string, opts: (r: Rig) => mqtt.IClientOptions): HostileCase {
  return {
    name,
    defence: 'broker-auth',
    attack: async (r) => {
      const before = count(r.refusals, 'auth');
      const res = await r.tryConnect(opts(r));
      if (res === 'accepted') return { accepted: true };
      return refused(`auth +1 (${res})`, /^refused [45]$/.test(res) && count(r.refusals, 'auth') === before + 1);
    },
  };
}

/** A claim batch added to the rig's fleet (fleet-signed; `at` its issue time). */
function batch(r: Rig, name: string, at: number, days = 1) {
  if (!r.fd.claimState(name)) addBatch(r.fd, { name, uses: 10, expiresDays: days }, at);
  const image = readBoardImage(r.fd.path('image', name));
  const claim = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
  const signer = createSigner(keyPairFromSeed(new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64'))));
  return { claim, signer, login: (id: string) => ({ clientId: id, username: `claim-${name}`, password: makeClaimToken(id, claim, signer, Date.now() + 600_000) }) };
}

const boards = new WeakMap<Rig, Board>();
/** A third provisioned node `c`, revoked by the operator in the node-revoke cases. */
async function boardC(r: Rig): Promise<Board> {
  let c = boards.get(r);
  if (!c) boards.set(r, (c = await provisionOne(r.fd, join(r.dir, 'c'), r.url, capturedLogger().logger)));
  return c;
}
const cLogin = (r: Rig, c: Board, suffix: string) => ({ clientId: `${daemonClientId(r.fleet, c.identity.nodeId)}-${suffix}`, username: c.identity.nodeId, password: makeNodeToken(c.identity.nodeId, c.result.certBytes, createSigner(c.identity.signing), Date.now() + 600_000) });
/** Publish as the provisioner principal (the operator, or a stolen provisioner token); a refused publish closes the link. */
async function operatorPublish(r: Rig, topic: string, payload: Uint8Array, waitAck = true): Promise<void> {
  const op = await r.connect(r.provisionerLogin('op'));
  if (waitAck) await op.publishAsync(topic, Buffer.from(payload), { qos: 1, retain: true });
  else op.publish(topic, Buffer.from(payload), { qos: 1, retain: true });
  await sleep(waitAck ? 0 : 300);
  await op.endAsync(true);
}
/** Node c, revoked at the gateway (the operator's list applied by its resolver); its node id. */
async function revokedC(r: Rig): Promise<string> {
  const c = await boardC(r);
  const id = c.identity.nodeId;
  if (!r.gw.fleetNode!.resolver.isRevoked(id)) {
    await operatorPublish(r, `${r.root}fleet/revocations`, revokeNode(r.fd, id, 'stolen', Date.now()));
    await until(() => r.gw.fleetNode!.resolver.isRevoked(id), 3000, 'c revoked at the gateway');
  }
  return id;
}

/** Connect with credentials that lapse in 1.2 s; accepted when the session is still up at 2.5 s. */
function lapse(name: string, opts: (r: Rig) => mqtt.IClientOptions): HostileCase {
  return {
    name,
    defence: 'token-expiry',
    attack: async (r) => {
      const before = count(r.refusals, 'credential expired');
      const c = await r.connect(opts(r));
      await sleep(2500);
      const up = c.connected;
      await c.endAsync(true);
      return up ? { accepted: true } : refused('credential expired +1 (session closed at expiry)', count(r.refusals, 'credential expired') === before + 1);
    },
  };
}

let f2: ReturnType<typeof initFleet> | undefined;

const cases: HostileCase[] = [
  login('CONNECT without credentials (mqtt.js)', () => ({ clientId: 'anon' })),
  {
    name: 'CONNECT without credentials (mosquitto_pub)',
    defence: 'broker-auth',
    skip: noMosquittoClients,
    attack: async (r) => {
      const before = count(r.refusals, 'auth');
      const res = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(r.port), '-i', 'anon-cli', '-t', `${r.root}ccf/delta/anon-cli`, '-m', 'x', '-q', '1']);
      if (res.status === 0) return { accepted: true };
      return refused(`auth +1 (mosquitto_pub exit ${res.status}: ${res.stderr.trim().split('\n')[0]})`, count(r.refusals, 'auth') === before + 1);
    },
  },
  login("garbage password for node b's username", (r) => ({ clientId: bId(r, 'g'), username: r.bId, password: 'not-a-token' })),
  login("a token for node b signed with a key that is not b's", (r) => ({ clientId: bId(r, 'f'), username: r.bId, password: makeNodeToken(r.bId, bCert(r).certBytes, createSigner(rogue), Date.now() + 60_000) })),
  login("node b's token used as the gateway (username = the gateway's node id)", (r) => ({ clientId: `${daemonClientId(r.fleet, r.gwId)}-u`, username: r.gwId, password: makeNodeToken(r.bId, bCert(r).certBytes, bSigner(r), Date.now() + 60_000) })),
  login('an expired token', (r) => ({ clientId: bId(r, 'e'), username: r.bId, password: makeNodeToken(r.bId, bCert(r).certBytes, bSigner(r), Date.now() - 1000) })),
  login('a token chained to an expired certificate', (r) => {
    const cert = issueCertificate({ ...bCert(r).certificate, notBefore: Date.now() - 7200_000, notAfter: Date.now() - 3600_000 }, r.fd.fleetSigner());
    return { clientId: bId(r, 'ec'), username: r.bId, password: makeNodeToken(r.bId, cert, bSigner(r), Date.now() + 60_000) };
  }),
  login('a token chained to a certificate not signed by the fleet', (r) => {
    const cert = issueCertificate({ ...bCert(r).certificate }, createSigner(rogue));
    return { clientId: bId(r, 'ss'), username: r.bId, password: makeNodeToken(r.bId, cert, bSigner(r), Date.now() + 60_000) };
  }),
  login("a token chained to another fleet's certificate for the same key", (r) => {
    f2 ??= initFleet({ dir: join(r.dir, 'fleet2'), fleet: 'f1', brokerUrl: r.url, batch: { name: 'b1', uses: 1, expiresDays: 1, boards: [] }, now: Date.now() });
    const cert = issueCertificate({ ...bCert(r).certificate }, f2.fleetDir.fleetSigner());
    return { clientId: bId(r, 'f2'), username: r.bId, password: makeNodeToken(r.bId, cert, bSigner(r), Date.now() + 60_000) };
  }),
  login('a claim token bound to another client id', (r) => ({ ...r.claimLogin(`r${'ab'.repeat(10)}`), clientId: `r${'ef'.repeat(10)}` })),
  login('a claim token signed by a key that is not the claim key', (r) => ({ clientId: `r${'12'.repeat(10)}`, username: 'claim-b1', password: makeClaimToken(`r${'12'.repeat(10)}`, r.claimBytes, createSigner(rogue), Date.now() + 60_000) })),
  login('an expired claim at the broker', (r) => batch(r, 'old', Date.now() - 2 * 86_400_000).login(`r${'34'.repeat(10)}`)),
  login("another batch's valid claim under the username claim-b1", (r) => ({ ...batch(r, 'other', Date.now(), 30).login(`r${'56'.repeat(10)}`), username: 'claim-b1' })),
  login('a provisioner token signed by a rogue key', (r) => ({ clientId: `h3lix-provisioner-${r.fleet}-x`, username: 'provisioner', password: makeProvisionerToken(createSigner(rogue), Date.now() + 60_000) })),
  login('an expired provisioner token', (r) => ({ clientId: `h3lix-provisioner-${r.fleet}-y`, username: 'provisioner', password: makeProvisionerToken(r.fd.fleetSigner(), Date.now() - 1000) })),
  lapse('a node session outliving its token', (r) => ({ ...r.bLogin('lapse'), password: makeNodeToken(r.bId, bCert(r).certBytes, bSigner(r), Date.now() + 1200) })),
  lapse('a claim session outliving its claim token', (r) => r.claimLogin(`r${'78'.repeat(10)}`, Date.now() + 1200)),
  {
    name: "a revoked node's open session (closed when the revocation arrives)",
    defence: 'node-revoke',
    attack: async (r) => {
      const c = await boardC(r);
      const session = await r.connect(cLogin(r, c, 'live'));
      await operatorPublish(r, `${r.root}fleet/revocations`, revokeNode(r.fd, c.identity.nodeId, 'stolen', Date.now()));
      await until(() => !session.connected, 2000, 'revoked session closed').catch(() => undefined);
      const up = session.connected;
      await session.endAsync(true);
      return up ? { accepted: true } : refused('disconnected on revocation', /disconnecting revoked node/.test(r.log()));
    },
  },
  {
    name: 'a revoked node reconnects with its still-unexpired token',
    defence: 'node-revoke',
    attack: async (r) => {
      const c = await boardC(r);
      const before = count(r.refusals, 'auth');
      const res = await r.tryConnect(cLogin(r, c, 'again'));
      return res === 'accepted' ? { accepted: true } : refused(`auth +1 (${res}: revoked)`, count(r.refusals, 'auth') === before + 1);
    },
  },
  {
    name: 'a stolen provisioner token publishes an older fleet-signed revocation list (seq 0) to un-revoke node c',
    defence: 'revocation-seq',
    attack: async (r) => {
      const c = await revokedC(r);
      const before = count(r.refusals, 'bad revocation list');
      await operatorPublish(r, `${r.root}fleet/revocations`, issueRevocationList({ fleet: r.fleet, seq: 0, issuedAt: Date.now(), revoked: [] }, r.fd.fleetSigner()));
      await sleep(300);
      // Its signature is good (not refused as a bad list): only its sequence number keeps c revoked.
      return r.gw.fleetNode!.resolver.isRevoked(c) ? refused('ignored: not newer than the list held', count(r.refusals, 'bad revocation list') === before) : { accepted: true };
    },
  },
  {
    name: 'a stolen provisioner token publishes a forged revocation list (seq 99, empty) to un-revoke node c',
    defence: 'revocation-sig',
    attack: async (r) => {
      const c = await revokedC(r);
      const before = count(r.refusals, 'bad revocation list');
      await operatorPublish(r, `${r.root}fleet/revocations`, issueRevocationList({ fleet: r.fleet, seq: 99, issuedAt: Date.now(), revoked: [] }, createSigner(rogue)), false);
      await sleep(300);
      return r.gw.fleetNode!.resolver.isRevoked(c) ? refused('bad revocation list +1 (publish refused)', count(r.refusals, 'bad revocation list') === before + 1) : { accepted: true };
    },
  },
  {
    name: "a connected claim client of a batch the operator revokes",
    defence: 'claim-revoke',
    attack: async (r) => {
      const b2 = batch(r, 'b2', Date.now(), 30);
      const c = await r.connect(b2.login(`r${'9a'.repeat(10)}`));
      await operatorPublish(r, `${r.root}fleet/revocations`, revokeBatch(r.fd, 'b2', 'image leaked', Date.now()));
      await until(() => !c.connected, 2000, 'claim client closed').catch(() => undefined);
      const up = c.connected;
      await c.endAsync(true);
      return up ? { accepted: true } : refused('disconnected on batch revocation', /disconnecting a client of a revoked claim/.test(r.log()));
    },
  },
  {
    name: 'the claim of a revoked batch logs in',
    defence: 'claim-revoke',
    attack: async (r) => {
      const before = count(r.refusals, 'claim-revoked');
      const res = await r.tryConnect(batch(r, 'b2', Date.now(), 30).login(`r${'bc'.repeat(10)}`));
      return res === 'accepted' ? { accepted: true } : refused(`claim-revoked +1 (${res})`, count(r.refusals, 'claim-revoked') === before + 1);
    },
  },
];

runArea(t, 'auth', cases);
