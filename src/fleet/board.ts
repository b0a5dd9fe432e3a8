import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { createSigner, keyPairFromSeed } from '../crypto/ed25519.js';
import { describeError, H3lixError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { verifyCertificate, type NodeCertificate } from './certificate.js';
import { readCredentials, writeCredentials, type BoardCredentials, type BoardImage } from './board-files.js';
import { claimBinding, decodeProvisionResponse, encodeProvisionRequest, openSecrets, type ProvisionRequest } from './provision-protocol.js';
import { makeClaimToken, makeNodeToken } from './tokens.js';
import { passwordUsername } from './client-ids.js';
import { acceptedTls, claimClientTls, nodeClientTls } from './board-tls.js';
import { clientTlsOptions, isTlsUrl, type ClientTls } from '../sync/tls.js';

/** The identity shape of store/identity.ts `NodeIdentity` (only what provisioning reads). */
export interface BoardIdentity {
  nodeId: string;
  signing: { seed: Uint8Array; publicKey: Uint8Array };
  box: { publicKey: Uint8Array; secretKey: Uint8Array };
}

/**
 * Options for {@link provisionBoard}.
 * - `dataDir`: where `fleet-credentials.json` lives. Required.
 * - `identity`: from `loadOrCreateIdentity(dataDir)` (STORE). Required.
 * - `image`: `readBoardImage(dir)`. Required.
 * - `url`: broker URL. Default: the image's broker URL.
 * - `auth`: `token` (embedded aedes with fleet hooks) or `password` (Mosquitto). Default `token`.
 * - `board`, `versions`: reported to the provisioner. Required / default {}.
 * - `attemptTimeoutMs`: wait for an answer per attempt. Default 5000.
 * - `maxAttempts`: attempts before PROVISION_TIMEOUT. Default 8.
 * - `backoffMs` / `maxBackoffMs`: first retry delay, doubling with ±20 % jitter up to the max. Default 1000 / 30000.
 * - `clock`, `logger`: required.
 */
export interface ProvisionBoardOptions {
  dataDir: string;
  identity: BoardIdentity;
  image: BoardImage;
  url?: string;
  auth?: 'token' | 'password';
  board: string;
  versions?: Record<string, string>;
  attemptTimeoutMs?: number;
  maxAttempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  clock: Clock;
  logger: Logger;
}

export interface ProvisionedBoard {
  certificate: NodeCertificate;
  certBytes: Uint8Array;
  credentials: BoardCredentials;
  /** false when the stored certificate was used (no provisioning round trip). */
  fresh: boolean;
}

/**
 * MQTT username/password for this node (token for aedes hooks, sealed password for Mosquitto). A token
 * is bound to `clientId` when given (tokens.ts).
 */
export function nodeBrokerAuth(identity: BoardIdentity, creds: BoardCredentials, auth: 'token' | 'password', now: number, lifetimeMs = 12 * 3600_000, clientId?: string): { username: string; password: string } {
  if (auth === 'password') {
    if (!creds.brokerPassword) throw new H3lixError('AUTH_FAILED', 'no broker password in the fleet credentials');
    return { username: passwordUsername(identity.nodeId, clientId), password: creds.brokerPassword };
  }
  const signer = createSigner(keyPairFromSeed(identity.signing.seed));
  return { username: identity.nodeId, password: makeNodeToken(identity.nodeId, new Uint8Array(Buffer.from(creds.cert, 'base64')), signer, now + lifetimeMs, clientId) };
}

/**
 * The stored credentials as a provisioned board, when they belong to this node and fleet: undefined
 * when there are none for it; throws when the certificate does not verify (expired, wrong key).
 */
export function storedBoard(creds: BoardCredentials | undefined, nodeId: string, image: Pick<BoardImage, 'fleet' | 'fleetPublicKey'>, now: number): ProvisionedBoard | undefined {
  if (!creds || creds.nodeId !== nodeId || creds.fleet !== image.fleet.fleet) return undefined;
  const certBytes = new Uint8Array(Buffer.from(creds.cert, 'base64'));
  const certificate = verifyCertificate(certBytes, image.fleetPublicKey, creds.fleet, now);
  return { certificate, certBytes, credentials: creds, fresh: false };
}

function usableStored(o: ProvisionBoardOptions, creds: BoardCredentials | undefined): ProvisionedBoard | undefined {
  try {
    return storedBoard(creds, o.identity.nodeId, o.image, o.clock.now());
  } catch (err) {
    o.logger.warn({ error: describeError(err) }, 'stored certificate unusable; provisioning again');
    return undefined;
  }
}

/**
 * Provision this board once (DESIGN section 8): a second start uses the stored certificate. Subscribes
 * to `provision/response/<requestId>` BEFORE publishing the signed request, re-sends the same request
 * with exponential backoff while no provisioner answers, and throws PROVISION_TIMEOUT after
 * `maxAttempts`, PROVISION_REJECTED with the provisioner's reason.
 */
export async function provisionBoard(o: ProvisionBoardOptions): Promise<ProvisionedBoard> {
  const stored = usableStored(o, readCredentials(o.dataDir));
  if (stored) return stored;
  return exchange(o, false);
}

/**
 * Renew the certificate with the node's own identity (no claim) before it expires. The old certificate
 * stays valid until its notAfter, so peers accept both during the overlap: no downtime.
 */
export async function renewCertificate(o: ProvisionBoardOptions): Promise<ProvisionedBoard> {
  return exchange(o, true);
}

async function exchange(o: ProvisionBoardOptions, renew: boolean): Promise<ProvisionedBoard> {
  const { identity, image } = o;
  const fleet = image.fleet.fleet;
  const root = `h3lix/v1/${fleet}/`;
  const requestId = renew ? identity.nodeId : `r${randomBytes(10).toString('hex')}`;
  const nonce = new Uint8Array(randomBytes(16));
  const nodeSigner = createSigner(keyPairFromSeed(identity.signing.seed));
  const req: ProvisionRequest = { nodeId: identity.nodeId, requestId, publicKey: identity.signing.publicKey, boxKey: identity.box.publicKey, board: o.board, versions: o.versions ?? {}, nonce, renew };
  const auth = o.auth ?? 'token';
  let username: string;
  let password: string;
  let tls: ClientTls;
  if (renew) {
    const creds = readCredentials(o.dataDir);
    if (!creds) throw new H3lixError('PROVISION_REJECTED', 'no certificate to renew; provision first');
    ({ username, password } = nodeBrokerAuth(identity, creds, auth, o.clock.now(), undefined, requestId));
    tls = nodeClientTls(creds, image, identity.signing.seed);
  } else {
    tls = claimClientTls(image);
    const claimBytes = new Uint8Array(Buffer.from(image.claim.claim, 'base64'));
    const claimSigner = createSigner(keyPairFromSeed(new Uint8Array(Buffer.from(image.claim.claimSeed, 'base64'))));
    req.claim = claimBytes;
    req.claimSig = claimSigner.sign(claimBinding(identity.nodeId, requestId, nonce, req.publicKey, req.boxKey));
    username = `claim-${image.claim.batch}`;
    password = auth === 'password' ? image.claim.brokerPassword : makeClaimToken(requestId, claimBytes, claimSigner, o.clock.now() + 3600_000);
  }
  const bytes = encodeProvisionRequest(req, fleet, nodeSigner, o.clock.now());
  const url = o.url ?? image.fleet.brokerUrl;
  const maxAttempts = o.maxAttempts ?? 8;
  let backoff = o.backoffMs ?? 1000;
  let lastError = 'no answer';
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let client: MqttClient | undefined;
    try {
      client = await connectWithin(o, url, { clientId: requestId, username, password, reconnectPeriod: 0, connectTimeout: o.attemptTimeoutMs ?? 5000, protocolVersion: 4, clean: true, ...(isTlsUrl(url) ? clientTlsOptions(tls) : {}) });
      const answer = await roundTrip(o, client, `${root}provision/response/${requestId}`, `${root}provision/request/${requestId}`, bytes, req);
      if (answer) return answer;
      lastError = 'no answer';
    } catch (err) {
      if (err instanceof H3lixError && err.code === 'PROVISION_REJECTED') throw err;
      lastError = describeError(err);
    } finally {
      client?.end(true);
    }
    o.logger.warn({ attempt, maxAttempts, requestId, error: lastError }, 'provisioning attempt failed; retrying');
    if (attempt === maxAttempts) break;
    const wait = Math.round(backoff * (0.8 + 0.4 * Math.random()));
    await new Promise<void>((r) => o.clock.setTimeout(r, wait));
    backoff = Math.min(backoff * 2, o.maxBackoffMs ?? 30_000);
  }
  throw new H3lixError('PROVISION_TIMEOUT', `no provisioner answered after ${maxAttempts} attempts (${lastError})`, { retryable: true });
}

/** mqtt.connect settled by CONNACK, error, close or the attempt timeout (connectAsync can hang on a bare close). */
function connectWithin(o: ProvisionBoardOptions, url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, options);
    const fail = (why: string) => {
      o.clock.clearTimeout(timer);
      client.removeAllListeners('connect');
      client.end(true);
      reject(new H3lixError('BROKER_UNAVAILABLE', `cannot connect to ${url}: ${why}`, { retryable: true }));
    };
    const timer = o.clock.setTimeout(() => fail('timed out'), o.attemptTimeoutMs ?? 5000);
    client.once('connect', () => {
      o.clock.clearTimeout(timer);
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      client.on('error', (err) => o.logger.debug({ err: err.message }, 'provisioning connection error'));
      resolve(client);
    });
    client.once('error', (err) => fail(err.message));
    client.once('close', () => fail('connection closed'));
  });
}

function roundTrip(o: ProvisionBoardOptions, client: MqttClient, responseTopic: string, requestTopic: string, bytes: Uint8Array, req: ProvisionRequest): Promise<ProvisionedBoard | undefined> {
  return new Promise((resolve, reject) => {
    const timer = o.clock.setTimeout(() => done(() => resolve(undefined)), o.attemptTimeoutMs ?? 5000);
    let finished = false;
    const done = (fn: () => void) => {
      if (finished) return;
      finished = true;
      o.clock.clearTimeout(timer);
      client.removeListener('message', onMessage);
      fn();
    };
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic !== responseTopic) return;
      try {
        const result = accept(o, req, new Uint8Array(payload));
        if (result) done(() => resolve(result));
      } catch (err) {
        done(() => reject(err));
      }
    };
    client.on('message', onMessage);
    // Subscribe first: the answer can arrive before a publish acknowledgement would.
    client
      .subscribeAsync(responseTopic, { qos: 1 })
      .then((granted) => {
        if (granted.some((g) => g.qos === 128)) throw new H3lixError('AUTH_FAILED', `broker refused subscription to ${responseTopic}`);
        return client.publishAsync(requestTopic, Buffer.from(bytes), { qos: 1 });
      })
      .catch((err: unknown) => done(() => reject(err)));
  });
}

/** Check a response; undefined for an answer to some other request (ignored). */
function accept(o: ProvisionBoardOptions, req: ProvisionRequest, payload: Uint8Array): ProvisionedBoard | undefined {
  const fleet = o.image.fleet.fleet;
  const res = decodeProvisionResponse(payload, fleet, o.image.fleetPublicKey);
  if (res.requestId !== req.requestId || !Buffer.from(res.nonce).equals(req.nonce)) return undefined;
  if (res.status === 'rejected') throw new H3lixError('PROVISION_REJECTED', res.reason ?? 'rejected', { detail: { requestId: req.requestId } });
  if (!res.cert) throw new H3lixError('PROVISION_REJECTED', 'accepted without a certificate');
  const certificate = verifyCertificate(res.cert, o.image.fleetPublicKey, fleet, o.clock.now());
  if (certificate.nodeId !== o.identity.nodeId || !Buffer.from(certificate.publicKey).equals(o.identity.signing.publicKey)) {
    throw new H3lixError('PROVISION_REJECTED', 'certificate is not for this identity');
  }
  const secrets = res.sealed ? openSecrets(res.sealed, o.identity.box.secretKey) : {};
  const credentials: BoardCredentials = {
    format: 'h3lix-fleet-credentials',
    v: 1,
    fleet,
    nodeId: certificate.nodeId,
    cert: Buffer.from(res.cert).toString('base64'),
    config: res.config ?? {},
    provisionedAt: o.clock.now(),
  };
  Object.assign(credentials, acceptedTls(res, o.image, certificate.nodeId, o.identity.signing.publicKey, o.clock.now()));
  if (typeof secrets.brokerPassword === 'string') credentials.brokerPassword = secrets.brokerPassword;
  else if (req.renew) {
    // Renewal keeps the broker password the provisioner already knows.
    const previous = readCredentials(o.dataDir)?.brokerPassword;
    if (previous !== undefined) credentials.brokerPassword = previous;
  }
  writeCredentials(o.dataDir, credentials);
  o.logger.info({ nodeId: certificate.nodeId, serial: certificate.serial, notAfter: new Date(certificate.notAfter).toISOString() }, 'provisioned: certificate stored');
  return { certificate, certBytes: res.cert, credentials, fresh: true };
}
