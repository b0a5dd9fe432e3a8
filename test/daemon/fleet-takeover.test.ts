import t, { type Test } from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Client } from 'aedes';
import { cli } from '../helpers/cli.js';
import { freePort } from '../helpers/mosquitto.js';
import { capturedLogger, startProvisioner } from '../fleet/fixtures.js';
import { buildRunDaemon } from '../../src/cli/commands/run.js';
import { validateConfig } from '../../src/config/load.js';
import { FleetDir } from '../../src/fleet/fleet-dir.js';
import { readBoardImage } from '../../src/fleet/board-files.js';
import { nodeBrokerAuth } from '../../src/fleet/board.js';
import { daemonClientId } from '../../src/fleet/client-ids.js';
import { makeClaimToken } from '../../src/fleet/tokens.js';
import { createSigner, keyPairFromSeed } from '../../src/crypto/ed25519.js';
import { loadOrCreateIdentity } from '../../src/store/identity.js';
import { until } from './helpers.js';
import { encodeEnvelope } from '../../src/ccf/codec/envelope.js';
import { encodeSyncDelta } from '../../src/sync/delta-wire.js';
import { generateKeyPair } from '../../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../../src/crypto/node-id.js';
import type { Contribution } from '../../src/ccf/types.js';

/**
 * Client-id takeover (issue 9) against a real gateway: `h3lix run` composition (buildRunDaemon) in
 * fleet mode with its embedded aedes broker, a provisioner, and a second real board. The attackers
 * hold the claim from the board image, or a provisioned node's own credentials, and CONNECT with the
 * gateway's client id. The defence passes when the broker refuses them, counts `client-id`, and the
 * gateway's session is the same aedes client as before; the negative control (H3LIX_TEST_DEFENCES_OFF)
 * shows the same attack displacing the gateway.
 */
async function rig(t: Test, defencesOff: string) {
  const dir = t.testdir();
  const { logger } = capturedLogger();
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const r = await cli(['fleet', 'init', '--fleet', 'f1', '--out', join(dir, 'fleet'), '--batch', 'b1', '--uses', '10', '--broker', url, '--json']);
  if (r.code !== 0) throw new Error(`fleet init failed: ${r.stderr}`);
  const fd = FleetDir.open(join(dir, 'fleet'));
  const common = { sync: { debounceMs: 20, digestIntervalMs: 1000 }, log: { level: 'silent' } };
  const gwCfg = validateConfig({
    node: { dataDir: join(dir, 'gw'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port }, reconnectMs: 100 },
    ...common,
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 300, maxAttempts: 40, backoffMs: 20, maxBackoffMs: 100 },
  });
  const saved = process.env.H3LIX_TEST_DEFENCES_OFF;
  process.env.H3LIX_TEST_DEFENCES_OFF = defencesOff;
  const building = buildRunDaemon({ config: gwCfg, logger, jitterMs: 50, drainTimeoutMs: 300 });
  if (saved === undefined) delete process.env.H3LIX_TEST_DEFENCES_OFF;
  else process.env.H3LIX_TEST_DEFENCES_OFF = saved;
  let prov: Awaited<ReturnType<typeof startProvisioner>> | undefined;
  for (let i = 0; i < 200 && !prov; i++) {
    prov = await startProvisioner(fd, url, logger).catch(() => undefined);
    if (!prov) await new Promise((res) => setTimeout(res, 20));
  }
  t.ok(prov, 'provisioner connected to the gateway broker');
  t.teardown(() => prov?.stop());
  const gw = await building;
  await gw.daemon.start();
  t.teardown(() => gw.daemon.stop('test end'));
  const bCfg = validateConfig({
    node: { dataDir: join(dir, 'b'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, reconnectMs: 100 },
    ...common,
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 2000, maxAttempts: 3, backoffMs: 50 },
  });
  const b = await buildRunDaemon({ config: bCfg, logger, jitterMs: 50, drainTimeoutMs: 300 });
  await b.daemon.start();
  t.teardown(() => b.daemon.stop('test end'));
  await until(() => gw.daemon.context.transport.connected && b.daemon.context.transport.connected, 10_000, 'both boards connected');
  const gwNode = gw.fleetNode!;
  const gwClientId = daemonClientId(fd.fleet, gwNode.nodeId);
  const aedes = gw.daemon.context.broker!.aedes!;
  const clients = (aedes as unknown as { clients: Record<string, Client> }).clients;
  const gwSession = clients[gwClientId];
  t.ok(gwSession, 'the gateway is connected under its daemon client id');
  const image = readBoardImage(fd.path('image', 'b1'));
  const claimBytes = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
  const claimSigner = createSigner(keyPairFromSeed(new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64'))));
  const claimLogin = (clientId: string) => ({ clientId, username: `claim-${image.claim.batch}`, password: makeClaimToken(clientId, claimBytes, claimSigner, Date.now() + 600_000) });
  const bIdentity = loadOrCreateIdentity(join(dir, 'b'));
  const bCreds = b.fleetNode!.provisioned.credentials;
  const nodeLogin = (clientId: string) => ({ clientId, ...nodeBrokerAuth(bIdentity, bCreds, 'token', Date.now()) });
  /** CONNECT once; resolves 'accepted' or the refusal's return code. */
  const attack = async (opts: { clientId: string; username: string; password: string }): Promise<string> => {
    try {
      const c = await mqtt.connectAsync(url, { ...opts, reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4 });
      await c.endAsync(true);
      return 'accepted';
    } catch (err) {
      return `refused ${(err as { code?: number }).code ?? (err as Error).message}`;
    }
  };
  return { url, gw, b, fleet: fd.fleet, bIdentity, gwNode, gwClientId, clients, gwSession, claimLogin, nodeLogin, attack, refusals: gwNode.brokerRefusals };
}

t.test('client-id takeover of a gateway: refused, counted, the session stays', async (t) => {
  const r = await rig(t, '');
  const before = r.refusals.get('client-id') ?? 0;
  t.equal(await r.attack(r.claimLogin(r.gwClientId)), 'refused 2', "the claim from the board image cannot CONNECT with the gateway's client id");
  t.equal(await r.attack(r.claimLogin(r.gwNode.nodeId)), 'refused 2', "nor with the gateway's node id (its renewal client id)");
  t.equal(await r.attack(r.nodeLogin(r.gwClientId)), 'refused 2', "a provisioned node's own credentials cannot take the gateway's client id");
  t.equal(await r.attack(r.claimLogin('anything-else')), 'refused 2', 'a claim client id must be a request id');
  t.equal(r.refusals.get('client-id'), before + 4, 'each refusal counted as client-id');
  t.equal(r.clients[r.gwClientId], r.gwSession, 'the gateway keeps its aedes session');
  t.notOk(r.gwSession!.closed, 'and its connection was never closed');
  // The legitimate identities still log in (the defence is not a blanket refusal).
  t.equal(await r.attack(r.claimLogin(`r${'ab'.repeat(10)}`)), 'accepted', 'a claim client with a request id connects');
  t.equal(await r.attack(r.nodeLogin(`${r.nodeLogin('x').username}`)), 'accepted', 'a node connects with its own node id');

  // Claim clients cannot displace each other either (a request id is random: a collision is an attack).
  const id = `r${'cd'.repeat(10)}`;
  const holder = await mqtt.connectAsync(r.url, { ...r.claimLogin(id), reconnectPeriod: 0, protocolVersion: 4 });
  t.teardown(() => holder.endAsync(true));
  const session = r.clients[id];
  t.equal(await r.attack(r.claimLogin(id)), 'refused 2', 'a second claim CONNECT with a connected request id is refused');
  t.equal(r.clients[id], session, 'the first claim client keeps its session');
  t.equal(r.refusals.get('session-takeover'), 1, 'counted as session-takeover');
});

t.test('negative controls: with the defences off the same attacks displace the gateway', async (t) => {
  const r = await rig(t, 'client-id,session-takeover');
  t.equal(await r.attack(r.nodeLogin(r.gwClientId)), 'accepted', "node b's credentials connect as the gateway (client-id off)");
  await until(() => r.gwSession!.closed, 5000, 'the gateway session closed by the takeover');
  t.not(r.clients[r.gwClientId], r.gwSession, 'the gateway lost its session: the client-id binding is what stops this');
  await until(() => r.clients[r.gwClientId] !== undefined && !r.clients[r.gwClientId]!.closed, 5000, 'the gateway reconnected');
  const again = r.clients[r.gwClientId];
  t.equal(await r.attack(r.claimLogin(r.gwClientId)), 'accepted', 'the claim from the board image connects as the gateway (client-id and session-takeover off)');
  await until(() => again!.closed, 5000, 'the gateway session closed again');
  t.equal(r.refusals.get('client-id') ?? 0, 0, 'nothing was refused');
});

/**
 * Forged origins (issue 9): node b is a real fleet member with a valid envelope key. It relays invented
 * contributions for the gateway's origin and for a made-up origin. The gateway daemon must drop them
 * (WIRE_ORIGIN_SIG) while b's own, origin-signed contributions still merge.
 */
async function forge(t: Test, defencesOff: string) {
  const r = await rig(t, defencesOff);
  // b's own contribution travels origin-signed through the normal path (first: the forged envelope
  // below uses a far-ahead seq, after which b's own envelopes are replays to the gateway).
  r.b.daemon.context.field.contributeLocal('honest', Float32Array.of(1, 0, 0, 0), 1);
  await until(() => r.gw.daemon.context.field.get(r.bIdentity.nodeId, 'honest') !== undefined, 10_000, "b's signed contribution merged at the gateway");
  const invented = nodeIdFromPublicKey(generateKeyPair().publicKey);
  const c = (origin: string, key: string): Contribution => ({ origin, key, version: 1_000_000, hlc: { wall: Date.now(), logical: 0 }, count: 50, sum: Float32Array.of(50, 50, 50, 50) });
  const forged = [c(r.gwNode.nodeId, 'poison'), c(invented, 'poison')];
  const body = encodeSyncDelta({ cover: { [r.gwNode.nodeId]: [0, 1_000_000], [invented]: [0, 1_000_000] }, contributions: forged }, 'int8');
  const env = encodeEnvelope({ kind: 'delta', fleet: r.fleet, from: r.bIdentity.nodeId, seq: Date.now(), hlc: { wall: Date.now(), logical: 0 }, body }, createSigner(r.bIdentity.signing));
  const atk = await mqtt.connectAsync(r.url, { ...r.nodeLogin(`${daemonClientId(r.fleet, r.bIdentity.nodeId)}-atk`), reconnectPeriod: 0, protocolVersion: 4 });
  t.teardown(() => atk.endAsync(true));
  const sync = r.gw.daemon.context.sync;
  const acceptedBefore = sync.counters.accepted;
  await atk.publishAsync(`h3lix/v1/${r.fleet}/ccf/delta/${r.bIdentity.nodeId}`, Buffer.from(env), { qos: 1 });
  await until(() => sync.counters.accepted > acceptedBefore, 5000, 'the gateway accepted the envelope (valid sender)');
  return { r, invented, sync };
}

t.test('forged origins relayed by a fleet member are dropped by a real gateway daemon', async (t) => {
  const { r, invented, sync } = await forge(t, '');
  t.equal(r.gw.daemon.context.field.get(invented, 'poison'), undefined, 'no contribution for an invented origin');
  t.not(r.gw.daemon.context.field.get(r.gwNode.nodeId, 'poison')?.version, 1_000_000, "no contribution forged under the gateway's own origin");
  t.equal(sync.counters.rejected.WIRE_ORIGIN_SIG, 1, 'counted as WIRE_ORIGIN_SIG');
  t.ok(sync.originProofs.stats.verified > 0, 'signed contributions were verified');
});

t.test('negative control: with origin-sig off the forged origins reach the field', async (t) => {
  const { r, invented } = await forge(t, 'origin-sig');
  t.ok(r.gw.daemon.context.field.get(invented, 'poison'), 'the invented origin entered the field: the origin signature is what stops it');
});
