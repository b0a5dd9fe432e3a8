import type { Duplex } from 'node:stream';
import type { McuClient } from '../mcu/client.js';
import type { EnergyReading } from '../../../src/energy/reading.js';
import { describeError } from '../../../src/errors.js';
import type { Clock, TimerHandle } from '../../../src/util/clock.js';
import { TypedEvents } from '../../../src/util/events.js';
import type { Logger } from '../../../src/util/logger.js';
import type { Link, OpenLink } from '../link/link.js';

/** Connection state of a source, with the reason when it is not `open`. */
export interface SourceStatus {
  state: 'connecting' | 'open' | 'closed' | 'error';
  reason?: string;
  /** Consecutive failed attempts so far (0 after a good connection). */
  attempt: number;
  /** When a reconnect is scheduled: delay in ms. */
  retryInMs?: number;
}

/** A frame or reading that was discarded, and why. */
export interface SourceReject {
  reason: string;
  detail: string;
}

export interface EnergySourceEvents {
  reading: (reading: EnergyReading) => void;
  status: (status: SourceStatus) => void;
  reject: (reject: SourceReject) => void;
}

/** What a protocol session may do with the source that owns it. */
export interface SessionContext {
  readonly source: string;
  readonly clock: Clock;
  readonly logger: Logger;
  reading(reading: EnergyReading): void;
  reject(reason: string, detail: string): void;
  /** The session declares the link broken (e.g. a device that stopped answering); the source reconnects. */
  fail(reason: string): void;
}

/** One protocol attached to one open stream; `stop` detaches everything it added. */
export interface ProtocolSession {
  stop(): void;
  /** The companion-MCU client of an `mcu:` session (power protocol), while connected. */
  readonly mcu?: McuClient;
}

export type SessionFactory = (stream: Duplex, ctx: SessionContext) => ProtocolSession;

/** Anything that produces energy readings. */
export interface EnergySource {
  readonly uri: string;
  readonly events: TypedEvents<EnergySourceEvents>;
  start(): void;
  stop(): Promise<void>;
  readonly counters: SourceCounters;
  /** The companion-MCU client while an `mcu:` link is open (undefined otherwise). */
  mcu?(): McuClient | undefined;
}

export interface SourceCounters {
  readings: number;
  rejects: Record<string, number>;
  connects: number;
}

/** Options of {@link ReconnectingSource}. */
export interface ReconnectingSourceOptions {
  uri: string;
  link: Link;
  session: SessionFactory;
  clock: Clock;
  logger: Logger;
  /** First reconnect delay. Default 250 ms. */
  backoffInitialMs?: number;
  /** Reconnect delay cap (the delay doubles per failed attempt up to this). Default 5000 ms. */
  backoffMaxMs?: number;
  /** Reconnect when no reading arrived for this long while open; 0 disables. Default 30000 ms. */
  staleAfterMs?: number;
}

/**
 * A source that keeps a {@link Link} open: on `close`/`error` (a USB adapter unplugged: ENOENT,
 * EIO; a bridge that dropped the TCP connection) it reports the reason and reopens with capped
 * exponential backoff. It never throws into its caller; everything is reported as `status` events.
 */
export class ReconnectingSource implements EnergySource {
  readonly events = new TypedEvents<EnergySourceEvents>();
  readonly counters: SourceCounters = { readings: 0, rejects: {}, connects: 0 };
  readonly uri: string;
  private readonly opts: ReconnectingSourceOptions;
  private running = false;
  private attempt = 0;
  private link: OpenLink | undefined;
  private session: ProtocolSession | undefined;
  private retryTimer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;
  /** Bumped per connection so late callbacks of an old connection are ignored. */
  private generation = 0;
  /** Settles when the previous stream has closed (a serial port cannot be reopened while it is locked). */
  private closing: Promise<void> = Promise.resolve();

  constructor(options: ReconnectingSourceOptions) {
    this.opts = options;
    this.uri = options.uri;
  }

  mcu(): McuClient | undefined {
    return this.session?.mcu;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    if (this.retryTimer) this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const link = this.teardown();
    if (link) this.closing = this.close(link);
    await this.closing;
    this.status({ state: 'closed', reason: 'stopped', attempt: this.attempt });
  }

  private connect(): void {
    const gen = ++this.generation;
    this.status({ state: 'connecting', attempt: this.attempt });
    this.closing.then(() => this.opts.link.open()).then(
      (link) => {
        if (gen !== this.generation || !this.running) {
          this.closing = link.close();
          return;
        }
        this.attach(link, gen);
      },
      (err: unknown) => {
        if (gen !== this.generation || !this.running) return;
        this.down('error', describeError(err));
      },
    );
  }

  private attach(link: OpenLink, gen: number): void {
    this.link = link;
    const stream = link.stream;
    this.counters.connects++;
    const onClose = () => gen === this.generation && this.down('closed', 'port closed (device gone?)');
    const onError = (err: Error) => gen === this.generation && this.down('error', describeError(err));
    stream.on('close', onClose);
    stream.on('error', onError);
    const ctx: SessionContext = {
      source: this.uri,
      clock: this.opts.clock,
      logger: this.opts.logger,
      reading: (r) => {
        if (gen !== this.generation) return;
        this.attempt = 0;
        this.counters.readings++;
        this.armStale(gen);
        // A consumer that throws must not unwind into the protocol parser / stream 'data' handler
        // (an uncaught exception there kills the daemon): counted as reject `consumer`, logged.
        try {
          this.events.emit('reading', r);
        } catch (err) {
          this.counters.rejects.consumer = (this.counters.rejects.consumer ?? 0) + 1;
          this.opts.logger.error({ source: this.uri, err: describeError(err) }, 'energy reading consumer threw; reading dropped');
        }
      },
      reject: (reason, detail) => {
        if (gen !== this.generation) return;
        this.counters.rejects[reason] = (this.counters.rejects[reason] ?? 0) + 1;
        this.events.emit('reject', { reason, detail });
      },
      fail: (reason) => gen === this.generation && this.down('error', reason),
    };
    this.status({ state: 'open', attempt: this.attempt });
    this.armStale(gen);
    try {
      this.session = this.opts.session(stream, ctx);
    } catch (err) {
      this.down('error', `protocol session failed to start: ${describeError(err)}`);
    }
  }

  private armStale(gen: number): void {
    const ms = this.opts.staleAfterMs ?? 30_000;
    if (this.staleTimer) this.opts.clock.clearTimeout(this.staleTimer);
    if (ms <= 0) return;
    this.staleTimer = this.opts.clock.setTimeout(() => gen === this.generation && this.down('error', `no reading for ${ms} ms`), ms);
    this.staleTimer.unref?.();
  }

  private teardown(): OpenLink | undefined {
    if (this.staleTimer) this.opts.clock.clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    this.session?.stop();
    this.session = undefined;
    const link = this.link;
    this.link = undefined;
    return link;
  }

  private down(state: 'closed' | 'error', reason: string): void {
    this.generation++;
    const link = this.teardown();
    if (link) this.closing = this.close(link);
    if (!this.running) return;
    const initial = this.opts.backoffInitialMs ?? 250;
    const max = this.opts.backoffMaxMs ?? 5000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    this.status({ state, reason, attempt: this.attempt, retryInMs: delay });
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) this.connect();
    }, delay);
  }

  /** Release a link; resolves when closed (or after 2 s, so a wedged driver cannot block reconnects). */
  private close(link: OpenLink): Promise<void> {
    link.stream.on('error', () => undefined); // late errors of a dead port must not crash the process
    return new Promise<void>((resolve) => {
      const timer = this.opts.clock.setTimeout(resolve, 2000);
      link.close().then(
        () => {
          this.opts.clock.clearTimeout(timer);
          resolve();
        },
        () => resolve(),
      );
    });
  }

  private status(s: SourceStatus): void {
    this.opts.logger.debug({ source: this.uri, ...s }, 'source status');
    this.events.emit('status', s);
  }
}
