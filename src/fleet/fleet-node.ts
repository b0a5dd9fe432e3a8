import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { H3lixConfig } from '../config/schema.js';
import { createSigner } from '../crypto/ed25519.js';
import { H3lixError } from '../errors.js';
import { loadOrCreateIdentity, type NodeIdentity } from '../store/identity.js';
import type { Clock } from '../util/clock.js';
import { moduleLogger, type Logger } from '../util/logger.js';
import { createFleetBrokerAuth, type FleetBrokerHooks } from './broker-auth.js';
import { readBoardImage, readCredentials, type BoardImage } from './board-files.js';
import { nodeBrokerAuth, provisionBoard, renewCertificate, storedBoard, type ProvisionBoardOptions, type ProvisionedBoard } from './board.js';
import { CertificateKeyResolver } from './cert-resolver.js';
import { CommandRouter } from './commands.js';
import { CertificateRenewer } from './renewer.js';
import { readFileChecked, writeFileAtomic } from '../store/atomic-file.js';
import { nodeClientTls } from './board-tls.js';
import { checkPlainUpstream, type ClientTls } from '../sync/tls.js';

const CMD_SEQ_FILE = 'fleet-cmd-seq';

/**
 * Options for {@link prepareFleetNode}.
 * - `config`: the validated config (`fleet:`, `node:`, `broker:` sections). Required.
 * - `clock`, `logger`: required.
 * - `identity`: the node identity; default `loadOrCreateIdentity(config.node.dataDir)`.
 * - `image`: the board image; default read from `config.fleet.imageDir` (or `trust.image`).
 * - `trust`: resolver + broker hooks built earlier by {@link prepareFleetTrust} (gateway boot: the
 *   embedded broker already runs with these hooks). Default: built here.
 * - `brokerUrl`: provision, renew and report against this URL. Default `broker.url`, else the image's.
 */
export interface FleetNodeOptions {
  config: H3lixConfig;
  clock: Clock;
  logger: Logger;
  identity?: NodeIdentity;
  image?: BoardImage;
  trust?: FleetTrust;
  brokerUrl?: string;
}

/** The fleet parts that need no certificate of this node: enough to run the fleet's broker. */
export interface FleetTrust {
  image: BoardImage;
  /** Verifies senders from certificates; its revocation set feeds the broker hooks. */
  resolver: CertificateKeyResolver;
  /** aedes hooks: claim clients, the provisioner and certified nodes can log in. */
  brokerHooks: FleetBrokerHooks;
  /** The hooks' refusal counters by reason (`client-id`, `auth`, ...). */
  brokerRefusals: ReadonlyMap<string, number>;
}

/**
 * Builds the certificate resolver and the fleet's aedes hooks from the board image alone (fleet public
 * key; revocations start empty and are learned from the retained `fleet/revocations`). Throws
 * CONFIG_INVALID when the image is for another fleet than `node.fleet`.
 */
export function prepareFleetTrust(o: { config: H3lixConfig; clock: Clock; logger: Logger; image?: BoardImage }): FleetTrust {
  const image = o.image ?? readBoardImage(o.config.fleet.imageDir);
  if (image.fleet.fleet !== o.config.node.fleet) throw new H3lixError('CONFIG_INVALID', `node.fleet is ${o.config.node.fleet} but the board image is for fleet ${image.fleet.fleet}`);
  const fleet = image.fleet.fleet;
  const resolver = new CertificateKeyResolver({ fleet, fleetPublicKey: image.fleetPublicKey, clock: o.clock, logger: moduleLogger(o.logger, 'fleet') });
  const auth = createFleetBrokerAuth({ fleet, fleetPublicKey: image.fleetPublicKey, revocations: resolver.revocations, clock: o.clock, logger: moduleLogger(o.logger, 'broker-auth') });
  return { image, resolver, brokerHooks: auth.hooks, brokerRefusals: auth.refusals };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::']);

/**
 * Gateway rule (docs/fleet.md "Gateway board"): this board provisions against its OWN embedded broker
 * when `fleet.enabled`, `broker.embedded.enabled`, `broker.url` is unset, and the board image's broker
 * URL is plain `mqtt:`/`tcp:` (`mqtts:`/`tls:` when `broker.embedded.tls.enabled`) on the embedded port
 * (1883, or 8883 with TLS, when the URL has none) with a host of this
 * board: loopback, `localhost`, the embedded listen host, one of this machine's interface addresses, or
 * its hostname (also `<hostname>.local`). Any other image URL is an upstream: provision there (as before).
 */
export function provisionsAgainstEmbedded(config: H3lixConfig, image: BoardImage): boolean {
  if (!config.fleet.enabled || !config.broker.embedded.enabled || config.broker.url !== undefined) return false;
  let u: URL;
  try {
    u = new URL(image.fleet.brokerUrl);
  } catch {
    return false;
  }
  const tls = config.broker.embedded.tls.enabled;
  if (!(tls ? ['mqtts:', 'tls:'] : ['mqtt:', 'tcp:']).includes(u.protocol)) return false;
  if (Number(u.port || (tls ? 8883 : 1883)) !== config.broker.embedded.port) return false;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK.has(host) || host.startsWith('127.') || host === config.broker.embedded.host.toLowerCase()) return true;
  const me = hostname().toLowerCase();
  if (host === me || host === `${me}.local`) return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address.toLowerCase() === host));
}

/**
 * True when `dataDir` holds a certificate for this identity and fleet that is valid now (what
 * `provisionBoard` would reuse instead of provisioning).
 */
export function hasUsableCertificate(config: H3lixConfig, image: BoardImage, nodeId: string, now: number): boolean {
  try {
    return storedBoard(readCredentials(config.node.dataDir), nodeId, image, now) !== undefined;
  } catch {
    return false;
  }
}

/** Everything the daemon needs from the fleet feature, ready before the transport connects. */
export interface FleetNode {
  nodeId: string;
  fleet: string;
  /** The trusted fleet public key (from the board image): commands, bundles and MCU images verify against it. */
  fleetPublicKey: Uint8Array;
  provisioned: ProvisionedBoard;
  /** The broker URL to use (config `broker.url`, else the image's). */
  brokerUrl: string;
  /** Verifies senders from certificates; pass as the daemon's `keyResolver`. */
  resolver: CertificateKeyResolver;
  /** aedes hooks for the embedded broker (`brokerHooks`). */
  brokerHooks: FleetBrokerHooks;
  /** Refusals counted by those hooks, by reason. */
  brokerRefusals: ReadonlyMap<string, number>;
  /** MQTT username/password; call again on every reconnect (token auth expires after 12 h). */
  brokerCredentials(clientId?: string): { username: string; password: string };
  /** Client TLS for `mqtts://` (the current certificate, the identity key, the fleet CA); re-read on every reconnect. */
  brokerTls(): ClientTls;
  /** Topics to subscribe in addition to the sync topics. */
  subscriptions: string[];
  /** The command registry (`cmd/<node>`); register handlers, set `replyWith` once the transport exists. */
  commands: CommandRouter;
  /** Where command replies go; set by the daemon (e.g. transport.publish QoS 1). Default: dropped with a warning. */
  replyWith: ((topic: string, payload: Uint8Array) => Promise<void>) | undefined;
  /**
   * Inbound filter: consumes `fleet/certs/+`, `fleet/revocations` and `cmd/<node>`, passes the rest on.
   * Compatible with the daemon's `InboundFilter`.
   */
  inboundFilter(topic: string, payload: Buffer, deliver: (topic: string, payload: Buffer) => void): void;
  /** The filter for the CCF merge/value path. */
  isRevoked(origin: string): boolean;
  /** Renews the certificate before expiry; `start()`/`stop()` it with the daemon. */
  renewer: CertificateRenewer;
  /** Publishes our certificate retained on `fleet/certs/<node>` after a renewal; set by the daemon. */
  publishCertificate: ((topic: string, cert: Uint8Array) => Promise<void>) | undefined;
}

/**
 * Fleet mode start-up (DESIGN section 8): provision once (or load the stored certificate), then build
 * the resolver, broker hooks, credentials and the command router. Throws PROVISION_TIMEOUT /
 * PROVISION_REJECTED (the daemon should exit with the error's code: there is nothing to sync without).
 */
export async function prepareFleetNode(o: FleetNodeOptions): Promise<FleetNode> {
  const cfg = o.config.fleet;
  const log = moduleLogger(o.logger, 'fleet');
  const trust = o.trust ?? prepareFleetTrust({ config: o.config, clock: o.clock, logger: o.logger, ...(o.image ? { image: o.image } : {}) });
  const image = trust.image;
  // provisioning sends the claim token, the daemon its node tokens: never in clear beyond this machine
  checkPlainUpstream(o.brokerUrl ?? o.config.broker.url ?? image.fleet.brokerUrl, true, o.config.broker.allowInsecure, 'fleet mode', log);
  const identity = o.identity ?? loadOrCreateIdentity(o.config.node.dataDir, { logger: log });
  const brokerUrl = o.brokerUrl ?? o.config.broker.url ?? image.fleet.brokerUrl;
  const boardOpts: ProvisionBoardOptions = {
    dataDir: o.config.node.dataDir,
    identity,
    image,
    url: brokerUrl,
    auth: cfg.brokerAuth,
    board: o.config.node.board,
    versions: { h3lix: '0.1.0' },
    attemptTimeoutMs: cfg.attemptTimeoutMs,
    maxAttempts: cfg.maxAttempts,
    backoffMs: cfg.backoffMs,
    maxBackoffMs: cfg.maxBackoffMs,
    clock: o.clock,
    logger: log,
  };
  let provisioned = await provisionBoard(boardOpts);
  const serverName = o.config.broker.tls.serverName ? { serverName: o.config.broker.tls.serverName } : {};
  const fleet = image.fleet.fleet;
  const resolver = trust.resolver;
  resolver.learnCertificate(provisioned.certBytes);
  const node: FleetNode = {
    nodeId: identity.nodeId,
    fleet,
    fleetPublicKey: image.fleetPublicKey,
    brokerUrl,
    resolver,
    brokerHooks: trust.brokerHooks,
    brokerRefusals: trust.brokerRefusals,
    get provisioned() {
      return provisioned;
    },
    brokerCredentials: (clientId) => nodeBrokerAuth(identity, provisioned.credentials, cfg.brokerAuth, o.clock.now(), undefined, clientId),
    brokerTls: () => ({ ...nodeClientTls(provisioned.credentials, image, identity.signing.seed), ...serverName }),
    subscriptions: [...resolver.subscriptions(), `h3lix/v1/${fleet}/cmd/${identity.nodeId}`],
    commands: undefined as unknown as CommandRouter,
    replyWith: undefined,
    inboundFilter: (topic, payload, deliver) => {
      const bytes = new Uint8Array(payload);
      if (resolver.handleMessage(topic, bytes)) return;
      if (topic === node.commands.topic) {
        void node.commands.handle(bytes);
        return;
      }
      deliver(topic, payload);
    },
    isRevoked: (origin) => resolver.isRevoked(origin),
    renewer: undefined as unknown as CertificateRenewer,
    publishCertificate: undefined,
  };
  node.renewer = new CertificateRenewer({
    current: () => provisioned,
    renew: () => renewCertificate(boardOpts),
    onRenewed: (p) => {
      provisioned = p;
      resolver.learnCertificate(p.certBytes);
      node.publishCertificate?.(`h3lix/v1/${fleet}/fleet/certs/${identity.nodeId}`, p.certBytes).catch((err: unknown) => log.warn({ err: String(err) }, 'renewed certificate not published'));
    },
    renewBeforeMs: cfg.renewBeforeDays * 86_400_000,
    clock: o.clock,
    logger: log,
  });
  const seqPath = join(o.config.node.dataDir, CMD_SEQ_FILE);
  const storedSeq = readFileChecked(seqPath);
  node.commands = new CommandRouter({
    fleet,
    fleetPublicKey: image.fleetPublicKey,
    nodeId: identity.nodeId,
    nodeSigner: createSigner(identity.signing),
    clock: o.clock,
    logger: log,
    lastSeq: storedSeq ? Number(Buffer.from(storedSeq).toString('utf8')) || 0 : 0,
    // Persisted before the handler runs: a restart cannot re-open the window for a captured command.
    onSeq: (seq) => writeFileAtomic(seqPath, Buffer.from(String(seq), 'utf8'), 0o600),
    publish: async (topic, bytes) => {
      if (!node.replyWith) return log.warn({ topic }, 'command reply dropped: no reply path wired');
      await node.replyWith(topic, bytes);
    },
  });
  node.commands.register('ping', () => ({ nodeId: identity.nodeId, serial: provisioned.certificate.serial, notAfter: provisioned.certificate.notAfter }));
  node.commands.register('renew-certificate', async () => {
    const p = await node.renewer.attempt();
    if (!p) throw new H3lixError('PROVISION_TIMEOUT', 'renewal failed (see node log)', { retryable: true });
    return { serial: p.certificate.serial, notAfter: p.certificate.notAfter };
  });
  log.info({ nodeId: identity.nodeId, fleet, serial: provisioned.certificate.serial, fresh: provisioned.fresh, dataDir: o.config.node.dataDir }, 'fleet identity ready');
  return node;
}
