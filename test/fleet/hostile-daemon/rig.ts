import type { Test } from 'tap';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import mqtt from 'mqtt';
import type { Client } from 'aedes';
import { capturedLogger } from '../fixtures.js';
import { freePort } from '../../helpers/mosquitto.js';
import { until } from '../../helpers/until.js';
import { buildRunDaemon } from '../../../src/cli/commands/run.js';
import { validateConfig } from '../../../src/config/load.js';
import type { H3lixConfig } from '../../../src/config/schema.js';
import { initFleet } from '../../../src/fleet/init.js';
import type { FleetDir } from '../../../src/fleet/fleet-dir.js';
import { readBoardImage } from '../../../src/fleet/board-files.js';
import { nodeBrokerAuth } from '../../../src/fleet/board.js';
import { daemonClientId } from '../../../src/fleet/client-ids.js';
import { makeClaimToken, makeProvisionerToken } from '../../../src/fleet/tokens.js';
import { Provisioner } from '../../../src/fleet/provisioner.js';
import { createSigner, keyPairFromSeed, type Signer } from '../../../src/crypto/ed25519.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../../../src/store/identity.js';
import { defencesOff as parseDefences } from '../../../src/sync/defences.js';
import { systemClock } from '../../../src/util/clock.js';

type Built = Awaited<ReturnType<typeof buildRunDaemon>>;
export type Login = { clientId: string; username: string; password: string };

/**
 * The hostile suite's target (issue 9 item 6): a real `h3lix run` gateway (buildRunDaemon, what the
 * CLI builds) in fleet mode with its embedded aedes broker and fleet hooks, provisioned through a real
 * Provisioner (the one `h3lix fleet serve` runs) against that broker, plus a second real provisioned
 * board `b` whose credentials the attacker holds. `off` (H3LIX_TEST_DEFENCES_OFF) is in force while the
 * gateway is built and started and for the provisioner; board b always runs with every defence on.
 */
export interface Rig {
  dir: string;
  fd: FleetDir;
  fleet: string;
  /** `h3lix/v1/<fleet>/` */
  root: string;
  url: string;
  port: number;
  gw: Built;
  b: Built;
  gwId: string;
  bId: string;
  bIdentity: NodeIdentity;
  gwConfig: H3lixConfig;
  prov: Provisioner;
  claimBytes: Uint8Array;
  claimSigner: Signer;
  log: () => string;
  /** The gateway broker hooks' refusals by reason (broker-auth.ts). */
  refusals: ReadonlyMap<string, number>;
  /** The gateway broker's resource-limit refusals by reason (embedded-broker.ts). */
  limits: ReadonlyMap<string, number>;
  /** aedes clients by id. */
  clients: () => Record<string, Client>;
  claimLogin(clientId: string, exp?: number): Login;
  /** Node b's credentials with a client id of b's (`h3lix-<fleet>-<b>-<suffix>`). */
  bLogin(suffix: string): Login;
  provisionerLogin(suffix: string): Login;
  /** CONNECT once, then close: 'accepted' or 'refused <CONNACK code>'. */
  tryConnect(opts: mqtt.IClientOptions): Promise<string>;
  /** A connected client closed at teardown. */
  connect(opts: mqtt.IClientOptions): Promise<mqtt.MqttClient>;
  /** Resolves true when aedes routes a PUBLISH on `topic` from client `clientId` (it passed authorizePublish) within `ms`. */
  routed(topic: string, clientId: string, ms?: number): Promise<boolean>;
  /** Resolves true when aedes granted client `clientId` a subscription to `filter` within `ms`. */
  subscribed(clientId: string, filter: string, ms?: number): Promise<boolean>;
  /**
   * Waits until the gateway's sync layer handled `payload` (from the broker) for the `nth` time (0:
   * the first) and says whether it ACCEPTED it (its envelope verified: `counters.accepted` rose in that
   * call) and whether it counted a rejection; undefined when it never arrived within `ms`. An
   * observation probe wrapped around the real CcfSync.onMessage (it calls it unchanged).
   */
  syncVerdict(payload: Uint8Array, nth?: number, ms?: number): Promise<{ accepted: boolean; rejected: boolean } | undefined>;
}

export interface RigOptions {
  /** Listen address of the gateway's embedded broker. Default 127.0.0.1 (0.0.0.0 with allowInsecure). */
  host?: string;
  uses?: number;
}

export const count = (m: ReadonlyMap<string, number>, k: string): number => m.get(k) ?? 0;

export async function startRig(t: Test, off: string, o: RigOptions = {}): Promise<Rig> {
  const dir = t.testdir();
  const cap = capturedLogger();
  const logger = cap.logger;
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const fd = initFleet({ dir: join(dir, 'fleet'), fleet: 'f1', brokerUrl: url, batch: { name: 'b1', uses: o.uses ?? 10, expiresDays: 30, boards: [] }, now: Date.now() }).fleetDir;
  const common = { sync: { debounceMs: 20, digestIntervalMs: 1000 }, log: { level: 'silent' } };
  const host = o.host ?? '127.0.0.1';
  const gwConfig = validateConfig({
    node: { dataDir: join(dir, 'gw'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: true, host, port, ...(host === '127.0.0.1' ? {} : { allowInsecure: true }) }, reconnectMs: 100 },
    ...common,
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 300, maxAttempts: 40, backoffMs: 20, maxBackoffMs: 100 },
  });
  const saved = process.env.H3LIX_TEST_DEFENCES_OFF;
  process.env.H3LIX_TEST_DEFENCES_OFF = off;
  let gw: Built;
  let prov: Provisioner | undefined;
  try {
    const building = buildRunDaemon({ config: gwConfig, logger, jitterMs: 50, drainTimeoutMs: 300 });
    const defences = parseDefences({ H3LIX_TEST_DEFENCES_OFF: off });
    for (let i = 0; i < 200 && !prov; i++) {
      const p = new Provisioner({ fleetDir: fd, url, policy: { certLifetimeDays: 30, allowBoards: [], config: { syncCadenceS: 60 } }, clock: systemClock, logger, manual: false, auth: 'token', pollMs: 50, defencesOff: defences });
      prov = await p.start().then(
        () => p,
        () => undefined,
      );
      if (!prov) await new Promise((res) => setTimeout(res, 20));
    }
    if (!prov) throw new Error('the provisioner never connected to the gateway broker');
    gw = await building;
    await gw.daemon.start();
  } finally {
    if (saved === undefined) delete process.env.H3LIX_TEST_DEFENCES_OFF;
    else process.env.H3LIX_TEST_DEFENCES_OFF = saved;
  }
  const provisioner = prov;
  t.teardown(() => provisioner.stop());
  t.teardown(() => gw.daemon.stop('test end'));
  const bConfig = validateConfig({
    node: { dataDir: join(dir, 'b'), fleet: fd.fleet, board: 'rpi-4' },
    broker: { embedded: { enabled: false }, reconnectMs: 100 },
    ...common,
    fleet: { enabled: true, imageDir: fd.path('image', 'b1'), attemptTimeoutMs: 2000, maxAttempts: 3, backoffMs: 50 },
  });
  // b logs apart: r.log() is the gateway's and the provisioner's alone.
  const b = await buildRunDaemon({ config: bConfig, logger: capturedLogger().logger, jitterMs: 50, drainTimeoutMs: 300 });
  await b.daemon.start();
  t.teardown(() => b.daemon.stop('test end'));
  await until(() => gw.daemon.context.transport.connected && b.daemon.context.transport.connected, 10_000, 'both boards connected');
  const gwId = gw.fleetNode!.nodeId;
  const bIdentity = loadOrCreateIdentity(join(dir, 'b'));
  const image = readBoardImage(fd.path('image', 'b1'));
  const claimBytes = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
  const claimSigner = createSigner(keyPairFromSeed(new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64'))));
  const aedes = gw.daemon.context.broker!.aedes!;
  const clients = () => (aedes as unknown as { clients: Record<string, Client> }).clients;
  const sync = gw.daemon.context.sync;
  const verdicts = new Map<string, { accepted: boolean; rejected: boolean }[]>();
  const hash = (p: Uint8Array) => createHash('sha256').update(p).digest('hex');
  const inner = sync.onMessage.bind(sync);
  sync.onMessage = (topic: string, payload: Uint8Array) => {
    const before = sync.counters.accepted;
    const rejected = sync.rejectedTotal();
    inner(topic, payload);
    const h = hash(payload);
    verdicts.set(h, [...(verdicts.get(h) ?? []), { accepted: sync.counters.accepted > before, rejected: sync.rejectedTotal() > rejected }]);
  };
  const open: mqtt.MqttClient[] = [];
  t.teardown(() => Promise.all(open.map((c) => c.endAsync(true))));
  const connect = async (opts: mqtt.IClientOptions) => {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...opts });
    open.push(c);
    return c;
  };
  return {
    dir,
    fd,
    fleet: fd.fleet,
    root: `h3lix/v1/${fd.fleet}/`,
    url,
    port,
    gw,
    b,
    gwId,
    bId: bIdentity.nodeId,
    bIdentity,
    gwConfig,
    prov: provisioner,
    claimBytes,
    claimSigner,
    log: cap.text,
    refusals: gw.fleetNode!.brokerRefusals,
    limits: gw.daemon.context.broker!.refusals,
    clients,
    claimLogin: (clientId, exp = Date.now() + 600_000) => ({ clientId, username: `claim-${image.claim.batch}`, password: makeClaimToken(clientId, claimBytes, claimSigner, exp) }),
    bLogin: (suffix) => ({ clientId: `${daemonClientId(fd.fleet, bIdentity.nodeId)}-${suffix}`, ...nodeBrokerAuth(bIdentity, b.fleetNode!.provisioned.credentials, 'token', Date.now()) }),
    provisionerLogin: (suffix) => ({ clientId: `h3lix-provisioner-${fd.fleet}-${suffix}`, username: 'provisioner', password: makeProvisionerToken(fd.fleetSigner(), Date.now() + 600_000) }),
    tryConnect: async (opts) => {
      try {
        const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...opts });
        await c.endAsync(true);
        return 'accepted';
      } catch (err) {
        return `refused ${(err as { code?: number }).code ?? (err as Error).message}`;
      }
    },
    connect,
    syncVerdict: async (payload, nth = 0, ms = 3000) => {
      const h = hash(payload);
      await until(() => (verdicts.get(h)?.length ?? 0) > nth, ms, 'the gateway sync layer to handle the payload').catch(() => undefined);
      return verdicts.get(h)?.[nth];
    },
    subscribed: (clientId, filter, ms = 3000) =>
      new Promise<boolean>((resolve) => {
        // aedes emits every filter of the SUBSCRIBE, a refused one with qos 128 [MQTT-3.9.3-2].
        const onSubscribe = (subs: { topic: string; qos: number }[], client: Client) => {
          if (client.id === clientId && subs.some((x) => x.topic === filter && x.qos !== 128)) done(true);
        };
        const timer = setTimeout(() => done(false), ms);
        const done = (v: boolean) => {
          clearTimeout(timer);
          aedes.off('subscribe', onSubscribe);
          resolve(v);
        };
        aedes.on('subscribe', onSubscribe);
      }),
    routed: (topic, clientId, ms = 1500) =>
      new Promise<boolean>((resolve) => {
        const onPublish = (packet: { topic: string }, client: Client | null) => {
          if (packet.topic !== topic || client?.id !== clientId) return;
          done(true);
        };
        const timer = setTimeout(() => done(false), ms);
        const done = (v: boolean) => {
          clearTimeout(timer);
          aedes.off('publish', onPublish);
          resolve(v);
        };
        aedes.on('publish', onPublish);
      }),
  };
}
