import mqtt, { type MqttClient } from 'mqtt';
import { describeError, H3lixError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { FleetDir, PendingRecord } from './fleet-dir.js';
import { certNotAfter, commitDecision, decide, type Decision, type DecideOptions, type ProvisionPolicy } from './provisioner-rules.js';
import { ensureFleetTls, issueNodeTlsCertificate, operatorTls } from './tls-files.js';
import { clientTlsOptions, isTlsUrl } from '../sync/tls.js';
import { decodeProvisionRequest, encodeProvisionResponse, type ProvisionRequest } from './provision-protocol.js';
import { makeProvisionerToken } from './tokens.js';
import { defencesOff, type Defence } from '../sync/defences.js';

/**
 * Options for {@link Provisioner}.
 * - `fleetDir`: the operator's fleet directory (needs private/fleet.key). Required.
 * - `url`: broker URL. Required.
 * - `auth`: `token` (embedded broker with fleet hooks: fleet-signed token) or `password`
 *   (Mosquitto: private/provisioner.json). Default `token`.
 * - `policy`: certificate lifetime, allow-list, fleet config. Required.
 * - `manual`: park valid requests in state/pending for `fleet approve|reject`. Default false.
 * - `pollMs`: how often `fleet approve|reject` decisions are picked up (manual mode and held requests). Default 1000.
 * - `clock`, `logger`: required.
 * TLS (docs/fleet.md "TLS"): at start the fleet CA is made sure of (tls/ca.pem and every image's
 * fleet-ca.pem / claim-cert.pem); every accepted answer carries an X.509 certificate for the node key
 * (CN = node id) and the CA. An `mqtts://` URL is reached with a fresh `provisioner` certificate.
 */
export interface ProvisionerOptions {
  fleetDir: FleetDir;
  url: string;
  auth?: 'token' | 'password';
  policy: ProvisionPolicy;
  manual?: boolean;
  pollMs?: number;
  clock: Clock;
  logger: Logger;
  /**
   * Test-only switches (`provision-replay`: no timestamp window, no replay check; `provision-revoked`,
   * `provision-hold`, `claim-revoke`: provisioner-rules.ts). Default from H3LIX_TEST_DEFENCES_OFF.
   */
  defencesOff?: ReadonlySet<Defence>;
}

export interface ProvisionerStats {
  accepted: number;
  rejected: number;
  malformed: number;
  pending: number;
  /** Requests answered again unchanged (same nonce as the request behind the node's record). */
  replayed: number;
}

/** `h3lix fleet serve`: answers provisioning requests on `h3lix/v1/<fleet>/provision/request/+`. */
export class Provisioner {
  readonly stats: ProvisionerStats = { accepted: 0, rejected: 0, malformed: 0, pending: 0, replayed: 0 };
  /** Rejections by code (`REVOKED`, `CLAIM_REVOKED`, `REPLAYED`, `STALE_REQUEST`, `CLAIM_EXHAUSTED`, …). */
  readonly refusals = new Map<string, number>();
  private client: MqttClient | undefined;
  private timer: TimerHandle | undefined;
  private seq = 0;
  private caDer: Uint8Array | undefined;

  constructor(private readonly o: ProvisionerOptions) {}

  private get off(): ReadonlySet<Defence> {
    return this.o.defencesOff ?? defencesOff();
  }

  private get root(): string {
    return `h3lix/v1/${this.o.fleetDir.fleet}/`;
  }

  async start(): Promise<void> {
    const fd = this.o.fleetDir;
    if (this.off.size > 0) this.o.logger.error({ defencesOff: [...this.off] }, 'TEST SWITCH: defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a provisioner like this');
    const password = this.o.auth === 'password' ? fd.provisionerPassword() : makeProvisionerToken(fd.fleetSigner(), this.o.clock.now() + 12 * 3600_000);
    const caPem = await ensureFleetTls(fd, this.o.clock.now());
    this.caDer = new Uint8Array(Buffer.from(caPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    const tls = isTlsUrl(this.o.url) ? clientTlsOptions(await operatorTls(fd, 'provisioner', this.o.clock.now())) : {};
    try {
      this.client = await mqtt.connectAsync(this.o.url, { clientId: `h3lix-provisioner-${fd.fleet}-${process.pid}`, username: 'provisioner', password, reconnectPeriod: 1000, connectTimeout: 5000, protocolVersion: 4, ...tls });
    } catch (err) {
      throw new H3lixError('BROKER_UNAVAILABLE', `provisioner cannot connect to ${this.o.url}: ${describeError(err)}`, { cause: err, retryable: true });
    }
    this.seq = this.o.clock.now() * 1000;
    this.client.on('message', (topic, payload) => this.onMessage(topic, new Uint8Array(payload)));
    this.client.on('error', (err) => this.o.logger.warn({ err: err.message }, 'provisioner mqtt error'));
    await this.client.subscribeAsync(`${this.root}provision/request/+`, { qos: 1 });
    const rev = fd.revocations();
    if (rev.signed) await this.client.publishAsync(`${this.root}fleet/revocations`, Buffer.from(rev.signed, 'base64'), { qos: 1, retain: true });
    // Decisions are polled in automatic mode too: a request held for approval (its batch holds a
    // revoked node) is answered once `fleet approve` records the decision.
    this.schedulePoll();
    this.o.logger.info({ fleet: fd.fleet, url: this.o.url, manual: !!this.o.manual }, 'provisioner listening');
  }

  async stop(): Promise<void> {
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync();
  }

  private schedulePoll(): void {
    this.timer = this.o.clock.setTimeout(() => {
      void this.pollPending().finally(() => {
        if (this.client) this.schedulePoll();
      });
    }, this.o.pollMs ?? 1000);
  }

  /** The TLS certificate an accepted answer to `request` at `now` carries (issued before `decide`, which is synchronous). */
  private async tlsFor(request: ProvisionRequest, now: number): Promise<Pick<DecideOptions, 'tlsCert' | 'tlsCa'>> {
    const tlsCert = await issueNodeTlsCertificate(this.o.fleetDir, request.nodeId, request.publicKey, now, certNotAfter(this.o.policy, now));
    return this.caDer ? { tlsCert, tlsCa: this.caDer } : { tlsCert };
  }

  /** Act on `fleet approve|reject` decisions written into state/pending. */
  async pollPending(): Promise<void> {
    for (const p of this.o.fleetDir.pendingAll()) {
      if (!p.decision) continue;
      try {
        const { request, msg } = decodeProvisionRequest(new Uint8Array(Buffer.from(p.request, 'base64')), this.o.fleetDir.fleet);
        if (p.decision === 'rejected') {
          this.answer(request, { kind: 'reject', code: 'REJECTED_BY_OPERATOR', response: { requestId: request.requestId, nonce: request.nonce, status: 'rejected', reason: `PROVISION_REJECTED: ${p.reason ?? 'rejected by operator'}` } });
        } else {
          const now = this.o.clock.now();
          const tls = await this.tlsFor(request, now);
          const d = decide(this.o.fleetDir, request, this.o.policy, now, { approved: true, requestTs: msg.ts, off: this.off, ...tls });
          if (d.kind !== 'hold') this.answer(request, d);
        }
      } catch (err) {
        this.o.logger.warn({ requestId: p.requestId, error: describeError(err) }, 'pending request unusable; dropped');
      }
      this.o.fleetDir.removePending(p.requestId);
      this.stats.pending = Math.max(0, this.stats.pending - 1);
    }
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    this.handle(topic, payload).catch((err: unknown) => this.o.logger.error({ topic: topic.slice(0, 200), error: describeError(err) }, 'provisioning failed'));
  }

  private async handle(topic: string, payload: Uint8Array): Promise<void> {
    const requestIdFromTopic = topic.slice(`${this.root}provision/request/`.length);
    let request: ProvisionRequest;
    let sentAt: number;
    try {
      const decoded = decodeProvisionRequest(payload, this.o.fleetDir.fleet);
      request = decoded.request;
      sentAt = decoded.msg.ts;
      if (request.requestId !== requestIdFromTopic) throw new H3lixError('CLAIM_INVALID', `request id ${request.requestId} does not match topic ${requestIdFromTopic}`);
    } catch (err) {
      this.stats.malformed++;
      this.o.logger.warn({ topic: topic.slice(0, 200), size: payload.length, error: describeError(err) }, 'provisioning request refused');
      return;
    }
    try {
      const off = this.off;
      const now = this.o.clock.now();
      // Issued before deciding: decide + commit stay one synchronous step (no claim use counted twice).
      const tls = await this.tlsFor(request, now);
      const d = decide(this.o.fleetDir, request, this.o.policy, now, off.has('provision-replay') ? { replayGuard: false, off, ...tls } : { sentAt, off, ...tls });
      if (d.kind === 'hold' || (d.kind === 'accept' && this.o.manual && !request.renew && !this.o.fleetDir.node(request.nodeId))) {
        if (d.kind === 'hold') this.o.logger.warn({ requestId: request.requestId, nodeId: request.nodeId, reason: d.reason }, 'provisioning request held for approval');
        const rec: PendingRecord = { requestId: request.requestId, receivedAt: this.o.clock.now(), request: Buffer.from(payload).toString('base64'), nodeId: request.nodeId, batch: d.kind === 'hold' ? d.batch : d.record.batch, board: request.board };
        // A board's retry of a parked request must not overwrite the operator's decision on it.
        if (this.o.fleetDir.pending(request.requestId)) return;
        this.o.fleetDir.savePending(rec);
        this.stats.pending++;
        this.o.logger.info({ requestId: request.requestId, nodeId: request.nodeId, board: request.board }, 'provisioning request awaits approval');
        return;
      }
      this.answer(request, d);
    } catch (err) {
      this.o.logger.error({ requestId: request.requestId, error: describeError(err) }, 'provisioning failed');
    }
  }

  private answer(request: ProvisionRequest, d: Exclude<Decision, { kind: 'hold' }>): void {
    const fd = this.o.fleetDir;
    if (d.kind === 'accept' && d.replay) {
      this.stats.replayed++;
      this.o.logger.warn({ nodeId: request.nodeId, requestId: request.requestId }, 'provisioning request seen before: the same answer again, nothing rotated');
    } else if (d.kind === 'accept') {
      commitDecision(fd, d);
      this.stats.accepted++;
      this.o.logger.info({ nodeId: request.nodeId, board: request.board, batch: d.record.batch, serial: d.record.serial, renew: request.renew }, 'provisioned');
    } else {
      this.stats.rejected++;
      this.refusals.set(d.code, (this.refusals.get(d.code) ?? 0) + 1);
      this.o.logger.warn({ nodeId: request.nodeId, requestId: request.requestId, code: d.code, reason: d.response.reason }, 'provisioning rejected');
    }
    const bytes = encodeProvisionResponse(d.response, fd.fleet, fd.fleetSigner(), ++this.seq, this.o.clock.now());
    const c = this.client;
    if (!c) return;
    c.publish(`${this.root}provision/response/${request.requestId}`, Buffer.from(bytes), { qos: 1 }, (err) => {
      if (err) this.o.logger.warn({ requestId: request.requestId, err: err.message }, 'provisioning response not sent');
    });
    if (d.kind === 'accept' && d.response.cert) c.publish(`${this.root}fleet/certs/${request.nodeId}`, Buffer.from(d.response.cert), { qos: 1, retain: true });
  }
}
