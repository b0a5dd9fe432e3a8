import { describeError, H3lixError } from '../errors.js';
import { issueCertificate, verifyCertificate, verifyClaim } from './certificate.js';
import type { CborMap } from './codec.js';
import type { FleetDir, NodeRecord } from './fleet-dir.js';
import { mosquittoPasswordHash, randomBrokerPassword } from './mosquitto-acl.js';
import type { Defence } from '../sync/defences.js';
import { claimSigValid, sealSecrets, type ProvisionRequest, type ProvisionResponse } from './provision-protocol.js';

const DAY = 86_400_000;

/** Policy knobs of a provisioner (config section `fleet.provisioner`). */
export interface ProvisionPolicy {
  /** Certificate lifetime. */
  certLifetimeDays: number;
  /** Board profiles allowed fleet-wide ([] = any); a claim's own `boards` list narrows it further. */
  allowBoards: string[];
  /** Fleet config handed to every board (merged into its h3lix config by the lead). */
  config: CborMap;
}

export type Decision =
  | { kind: 'accept'; response: ProvisionResponse; record: NodeRecord; consumedBatch?: string; replay?: boolean }
  | { kind: 'reject'; response: ProvisionResponse; code: string }
  /** Valid, but an operator must approve it (`fleet approve`): its batch holds a revoked node. */
  | { kind: 'hold'; reason: string; batch: string };

/** A request's timestamp may differ from the provisioner's clock by at most this (retries included). */
export const REQUEST_WINDOW_MS = 15 * 60_000;

/**
 * Options of {@link decide}: `sentAt` the request's own timestamp, checked against the window;
 * `requestTs` the same timestamp, recorded and compared with the node's record (also for requests an
 * operator approves later, when the window no longer applies); `approved` by an operator.
 */
export interface DecideOptions {
  sentAt?: number;
  requestTs?: number;
  approved?: boolean;
  /**
   * Answer a request seen before (same nonce) unchanged and refuse one older than the node's record.
   * Default true; false only as a test switch.
   */
  replayGuard?: boolean;
  /** Test-only switches (defences.ts): `provision-revoked`, `provision-hold`, `claim-revoke`. */
  off?: ReadonlySet<Defence>;
  /**
   * The X.509 TLS certificate for this request's node key, issued by the caller beforehand (it is
   * async: tls-files.ts `issueNodeTlsCertificate`, valid until {@link certNotAfter}); sent and recorded
   * with an accepted answer. `tlsCa`: the fleet CA (DER), sent with every accepted answer.
   */
  tlsCert?: Uint8Array;
  tlsCa?: Uint8Array;
}

/** The notAfter `decide` gives a certificate issued at `now` under `policy`. */
export function certNotAfter(policy: Pick<ProvisionPolicy, 'certLifetimeDays'>, now: number): number {
  return now + Math.round(policy.certLifetimeDays * DAY);
}

function reject(req: ProvisionRequest, code: string, reason: string): Decision {
  return { kind: 'reject', code, response: { requestId: req.requestId, nonce: req.nonce, status: 'rejected', reason: `${code}: ${reason}` } };
}

/**
 * Decide on a signature-checked request (provision-protocol.ts decodeProvisionRequest). Pure apart from
 * reading the fleet dir; the caller persists `record` and the claim counter before answering.
 * Rules, in order: node not revoked; timestamp within the window; the request behind the node's record
 * is answered again unchanged, an older one refused (`REPLAYED`); renewal needs a current unexpired certificate for the same key;
 * a claim must be fleet-signed, not revoked (`CLAIM_REVOKED`), unexpired, under its use limit, signed by its claim key for this node key,
 * and allow the board. A board re-asking with the same key (a lost response) gets a fresh certificate
 * without using up the claim again.
 */
export function decide(fd: FleetDir, req: ProvisionRequest, policy: ProvisionPolicy, now: number, opts: DecideOptions = {}): Decision {
  const off = opts.off ?? new Set<Defence>();
  const revocations = fd.revocations();
  const revoked = revocations.revoked;
  if (!off.has('provision-revoked') && revoked.some((r) => r.nodeId === req.nodeId)) return reject(req, 'REVOKED', `node ${req.nodeId} is revoked`);
  if (opts.sentAt !== undefined && Math.abs(now - opts.sentAt) > REQUEST_WINDOW_MS) {
    return reject(req, 'STALE_REQUEST', `request sent ${new Date(opts.sentAt).toISOString()}, outside the ${REQUEST_WINDOW_MS / 60_000}-minute window (replay, or a board clock not yet set)`);
  }
  const existing = fd.node(req.nodeId);
  const nonce = Buffer.from(req.nonce).toString('base64');
  if (opts.replayGuard !== false && existing?.nonce === nonce) {
    // The request that produced the current record, again: a lost answer's retry or a replay. Either
    // way the same answer goes out (same certificate, same sealed password): nothing rotates.
    const response: ProvisionResponse = { requestId: req.requestId, nonce: req.nonce, status: 'accepted', cert: new Uint8Array(Buffer.from(existing.cert, 'base64')), config: { fleet: fd.fleet, brokerUrl: fd.info.brokerUrl, ...policy.config } };
    if (existing.sealed) response.sealed = unpackSealed(existing.sealed);
    if (existing.tlsCert) response.tlsCert = new Uint8Array(Buffer.from(existing.tlsCert, 'base64'));
    if (opts.tlsCa) response.tlsCa = opts.tlsCa;
    return { kind: 'accept', response, record: existing, replay: true };
  }
  // Another nonce, signed no later than the request behind the record: a captured older request (e.g.
  // the first provisioning request after a renewal or a re-ask). Answering it would issue a new broker
  // password and lock the live node out of Mosquitto after the next `fleet acl`.
  const ts = opts.requestTs ?? opts.sentAt;
  if (opts.replayGuard !== false && existing?.requestTs !== undefined && ts !== undefined && ts <= existing.requestTs) {
    return reject(req, 'REPLAYED', `request signed ${new Date(ts).toISOString()} is not newer than the one behind node ${req.nodeId}'s current record (${new Date(existing.requestTs).toISOString()})`);
  }
  let batch: string;
  let roles: string[];
  let consumedBatch: string | undefined;
  if (req.renew) {
    if (!existing) return reject(req, 'UNKNOWN_NODE', `node ${req.nodeId} was never provisioned`);
    try {
      const cert = verifyCertificate(Buffer.from(existing.cert, 'base64'), fd.fleetPublicKey, fd.fleet, now);
      if (!Buffer.from(cert.publicKey).equals(req.publicKey)) return reject(req, 'KEY_MISMATCH', 'renewal key differs from the certified key');
      roles = cert.roles;
    } catch (err) {
      return reject(req, 'CERT_EXPIRED', `renewal needs a current certificate (${describeError(err)}); provision again with a claim`);
    }
    batch = existing.batch;
  } else {
    if (!req.claim) return reject(req, 'CLAIM_INVALID', 'no claim');
    let claim;
    try {
      claim = verifyClaim(req.claim, fd.fleetPublicKey, fd.fleet, off.has('claim-fleet-sig'));
    } catch (err) {
      return reject(req, 'CLAIM_INVALID', describeError(err));
    }
    const batchRevoked = (revocations.batches ?? []).find((b) => b.batch === claim.batch);
    if (batchRevoked && !off.has('claim-revoke')) return reject(req, 'CLAIM_REVOKED', `the claim of batch ${claim.batch} was revoked ${new Date(batchRevoked.at).toISOString()} (${batchRevoked.reason})`);
    if (claim.notAfter <= now && !off.has('claim-expiry')) return reject(req, 'CLAIM_EXPIRED', `claim of batch ${claim.batch} expired ${new Date(claim.notAfter).toISOString()}`);
    if (!claimSigValid(req, claim.claimKey) && !off.has('claim-sig')) return reject(req, 'CLAIM_INVALID', 'claim signature does not bind this node key');
    const state = fd.claimState(claim.batch);
    if (!state) return reject(req, 'CLAIM_INVALID', `batch ${claim.batch} is unknown to this provisioner`);
    const again = existing && existing.batch === claim.batch && Buffer.from(existing.cert, 'base64').length > 0;
    if (!again && state.uses >= Math.min(state.maxUses, claim.maxUses) && !off.has('claim-uses')) return reject(req, 'CLAIM_EXHAUSTED', `batch ${claim.batch} used ${state.uses} of ${claim.maxUses} times`);
    if (claim.boards.length > 0 && !claim.boards.includes(req.board)) return reject(req, 'BOARD_NOT_ALLOWED', `board ${req.board} not in the claim template`);
    if (policy.allowBoards.length > 0 && !policy.allowBoards.includes(req.board)) return reject(req, 'BOARD_NOT_ALLOWED', `board ${req.board} not in the fleet allow-list`);
    // A stolen board keeps the batch claim and can make a new key: after any node of a batch is
    // revoked, new nodes of that batch wait for an operator (`fleet approve`).
    const revokedInBatch = revoked.find((r) => fd.node(r.nodeId)?.batch === claim.batch);
    if (!again && !opts.approved && revokedInBatch && !off.has('provision-hold')) return { kind: 'hold', batch: claim.batch, reason: `batch ${claim.batch} holds revoked node ${revokedInBatch.nodeId}: new nodes of it need approval` };
    batch = claim.batch;
    roles = claim.roles;
    if (!again) consumedBatch = claim.batch;
  }
  const serial = (existing?.serial ?? 0) + 1;
  const notAfter = certNotAfter(policy, now);
  const cert = issueCertificate({ fleet: fd.fleet, nodeId: req.nodeId, publicKey: req.publicKey, boxKey: req.boxKey, roles, serial, notBefore: now - 60_000, notAfter }, fd.fleetSigner());
  // A renewal keeps the broker password: Mosquitto's password file holds its hash until regenerated.
  const keepPassword = req.renew && existing !== undefined;
  const brokerPassword = keepPassword ? undefined : randomBrokerPassword();
  const record: NodeRecord = {
    nodeId: req.nodeId,
    cert: Buffer.from(cert).toString('base64'),
    serial,
    notAfter,
    batch,
    board: req.board,
    issuedAt: now,
    brokerPasswordHash: brokerPassword === undefined ? existing!.brokerPasswordHash : mosquittoPasswordHash(brokerPassword),
    nonce,
  };
  if (ts !== undefined) record.requestTs = ts;
  if (opts.tlsCert) record.tlsCert = Buffer.from(opts.tlsCert).toString('base64');
  const response: ProvisionResponse = {
    requestId: req.requestId,
    nonce: req.nonce,
    status: 'accepted',
    cert,
    config: { fleet: fd.fleet, brokerUrl: fd.info.brokerUrl, ...policy.config },
  };
  if (opts.tlsCert) response.tlsCert = opts.tlsCert;
  if (opts.tlsCa) response.tlsCa = opts.tlsCa;
  if (brokerPassword !== undefined) {
    response.sealed = sealSecrets({ brokerPassword }, req.boxKey);
    record.sealed = packSealed(response.sealed);
  } else if (existing?.sealed) record.sealed = existing.sealed;
  return consumedBatch ? { kind: 'accept', response, record, consumedBatch } : { kind: 'accept', response, record };
}

type Sealed = NonNullable<ProvisionResponse['sealed']>;
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const unb64 = (s: unknown) => new Uint8Array(Buffer.from(String(s), 'base64'));
function packSealed(s: Sealed): string {
  return JSON.stringify({ epk: b64(s.epk), nonce: b64(s.nonce), box: b64(s.box) });
}
function unpackSealed(text: string): Sealed {
  const o = JSON.parse(text) as Record<string, unknown>;
  return { epk: unb64(o.epk), nonce: unb64(o.nonce), box: unb64(o.box) };
}

/** Persist an accepted decision: claim counter first (never over-issue after a crash), then the node. */
export function commitDecision(fd: FleetDir, d: Extract<Decision, { kind: 'accept' }>): void {
  if (d.replay) return;
  if (d.consumedBatch) {
    const s = fd.claimState(d.consumedBatch);
    if (!s) throw new H3lixError('STORE_CORRUPT', `claim state of ${d.consumedBatch} vanished`);
    fd.saveClaimState({ ...s, uses: s.uses + 1 });
  }
  fd.saveNode(d.record);
}
