import { describeError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ProvisionedBoard } from './board.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Options for {@link CertificateRenewer}.
 * - `current()`: the certificate in use. Required.
 * - `renew()`: ask the provisioner for a new certificate with the node identity (board.ts renewCertificate). Required.
 * - `onRenewed(p)`: switch to the new certificate (credentials, resolver, retained `fleet/certs/<node>`). Required.
 * - `renewBeforeMs`: renew this long before notAfter. Required (config `fleet.renewBeforeDays`).
 * - `retryMs`: wait after a failed renewal. Default 3600000 (1 h).
 * - `clock`, `logger`: required.
 */
export interface CertificateRenewerOptions {
  current: () => ProvisionedBoard;
  renew: () => Promise<ProvisionedBoard>;
  onRenewed: (p: ProvisionedBoard) => void;
  renewBeforeMs: number;
  retryMs?: number;
  clock: Clock;
  logger: Logger;
}

/**
 * Renews the certificate before it expires. The old certificate stays valid until its own notAfter, so
 * peers and brokers accept the node throughout: rotation without downtime.
 */
export class CertificateRenewer {
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly o: CertificateRenewerOptions) {}

  start(): Promise<void> {
    this.running = true;
    this.arm();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }

  /** Milliseconds until the next renewal attempt. */
  dueInMs(): number {
    return Math.max(0, this.o.current().certificate.notAfter - this.o.renewBeforeMs - this.o.clock.now());
  }

  private arm(delay = this.dueInMs()): void {
    if (!this.running) return;
    const wait = Math.min(delay, MAX_TIMER_MS);
    this.timer = this.o.clock.setTimeout(() => {
      if (wait < delay) return this.arm(delay - wait);
      void this.attempt();
    }, wait);
  }

  /** Renew now (also the `renew-certificate` command). */
  async attempt(): Promise<ProvisionedBoard | undefined> {
    try {
      const p = await this.o.renew();
      this.o.onRenewed(p);
      this.o.logger.info({ serial: p.certificate.serial, notAfter: new Date(p.certificate.notAfter).toISOString() }, 'certificate renewed');
      this.arm();
      return p;
    } catch (err) {
      this.o.logger.warn({ error: describeError(err) }, 'certificate renewal failed; retrying later');
      this.arm(this.o.retryMs ?? 3600_000);
      return undefined;
    }
  }
}
