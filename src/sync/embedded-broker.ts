import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { H3lixError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { defencesOff, type Defence } from './defences.js';
import { guardedConnection } from './packet-limit.js';

/** Auth hooks the fleet feature may inject; passed to aedes unchanged (aedes options hooks). */
export type BrokerAuthHooks = Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward' | 'preConnect'>;

/**
 * Options for {@link EmbeddedBroker}.
 * - `host`: listen address. Default `127.0.0.1`.
 * - `port`: listen port, 0 picks a free one (read it back from `port` after start). Default 1883.
 * - `hooks`: aedes authenticate/authorize hooks. Default: none (anonymous, everything allowed).
 * - `logger`: namespaced logger. Default: none (silent).
 * - `concurrency`: aedes/mqemitter deliveries in flight before queueing. Default 1000 (aedes' own
 *   default of 100 stalls CONNACKs when ~50 local clients fan QoS 1 messages out to each other).
 * Resource limits (issue 9; every refusal is counted in `refusals` by reason and logged at warn):
 * - `maxPacketBytes`: largest MQTT packet, checked from the fixed header before the body is read
 *   (`packet-too-large`, `malformed-length`). Default 262144 (a 192 KiB envelope plus topic).
 * - `connectTimeoutMs`: a connection that sends no CONNECT within this is closed (aedes). Default 10000.
 * - `maxPending`: connections that have not completed their first packet; when full, the OLDEST is
 *   closed (`pending-evicted`), so idle sockets cannot lock a legitimate client out. Default 256.
 * - `maxConnections`: connections in total (`connections-total`). Default 2048 (the systemd unit sets
 *   LimitNOFILE=8192).
 * - `maxPerAddress`: connections from one non-loopback address (`connections-per-address`). Default 64.
 * - `defencesOff`: test-only switches (`packet-limit`, `conn-limit`). Default from H3LIX_TEST_DEFENCES_OFF.
 */
export interface EmbeddedBrokerOptions {
  host?: string;
  port?: number;
  concurrency?: number;
  hooks?: BrokerAuthHooks;
  logger?: Logger;
  maxPacketBytes?: number;
  connectTimeoutMs?: number;
  maxPending?: number;
  maxConnections?: number;
  maxPerAddress?: number;
  defencesOff?: ReadonlySet<Defence>;
}

const LOOPBACK_ADDR = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The embedded aedes 1.x broker (MQTT 3.1.1) that serves local peers (DESIGN section 9). `start()`
 * listens, `stop()` closes every client socket and the broker. No work happens in the constructor.
 */
export class EmbeddedBroker {
  private readonly opts: EmbeddedBrokerOptions;
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections without a complete first packet, oldest first. */
  private readonly pending = new Set<Socket>();
  private readonly perAddress = new Map<string, number>();
  private boundPort = 0;
  /** Connections refused or closed by the resource limits, by reason. */
  readonly refusals = new Map<string, number>();

  constructor(opts: EmbeddedBrokerOptions = {}) {
    this.opts = opts;
  }

  /** The port actually listened on (meaningful after `start()`). */
  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  /** `mqtt://host:port` for clients. */
  get url(): string {
    const h = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `mqtt://${h.includes(':') ? `[${h}]` : h}:${this.boundPort}`;
  }

  /** Number of connected MQTT clients. */
  get connectedClients(): number {
    return this.broker?.connectedClients ?? 0;
  }

  /** The aedes instance (for tests and the fleet feature); undefined when stopped. */
  get aedes(): Aedes | undefined {
    return this.broker;
  }

  async start(): Promise<void> {
    if (this.broker) return;
    const hooks = this.opts.hooks ?? {};
    const opts: AedesOptions = { concurrency: this.opts.concurrency ?? 1000, connectTimeout: this.opts.connectTimeoutMs ?? 10_000 };
    for (const [k, v] of Object.entries(hooks)) if (v !== undefined) (opts as Record<string, unknown>)[k] = v;
    const broker = await Aedes.createBroker(opts);
    const log = this.opts.logger;
    broker.on('clientError', (client, err) => log?.debug({ client: client?.id, err: err.message }, 'mqtt client error'));
    broker.on('connectionError', (client, err) => log?.debug({ client: client?.id, err: err.message }, 'mqtt connection error'));
    const off = this.opts.defencesOff ?? defencesOff();
    if (off.size > 0) log?.error({ defencesOff: [...off] }, 'TEST SWITCH: broker defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a board like this');
    const server = createServer((socket) => this.accept(broker, socket, off));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.port ?? 1883, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => broker.close(() => r()));
      throw new H3lixError('BROKER_UNAVAILABLE', `embedded broker cannot listen on ${this.host}:${this.opts.port ?? 1883}: ${(err as Error).message}`, { cause: err, retryable: true });
    }
    server.on('error', (err) => log?.warn({ err: err.message }, 'embedded broker server error'));
    this.boundPort = (server.address() as { port: number }).port;
    this.broker = broker;
    this.server = server;
    log?.info({ host: this.host, port: this.boundPort }, 'embedded broker listening');
  }

  private refuse(reason: string, socket: Socket): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
    this.opts.logger?.warn({ reason, remote: socket.remoteAddress }, `embedded broker refused a connection: ${reason}`);
  }

  private accept(broker: Aedes, socket: Socket, off: ReadonlySet<Defence>): void {
    const addr = socket.remoteAddress ?? '';
    const limits = !off.has('conn-limit');
    if (limits && this.sockets.size >= (this.opts.maxConnections ?? 2048)) {
      this.refuse('connections-total', socket);
      socket.destroy();
      return;
    }
    const counted = !LOOPBACK_ADDR.test(addr);
    if (limits && counted && (this.perAddress.get(addr) ?? 0) >= (this.opts.maxPerAddress ?? 64)) {
      this.refuse('connections-per-address', socket);
      socket.destroy();
      return;
    }
    if (limits && this.pending.size >= (this.opts.maxPending ?? 256)) {
      const oldest = this.pending.values().next().value as Socket;
      this.pending.delete(oldest);
      this.refuse('pending-evicted', oldest);
      oldest.destroy();
    }
    this.sockets.add(socket);
    if (limits) this.pending.add(socket);
    if (counted) this.perAddress.set(addr, (this.perAddress.get(addr) ?? 0) + 1);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.pending.delete(socket);
      if (!counted) return;
      const n = (this.perAddress.get(addr) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(addr);
      else this.perAddress.set(addr, n);
    });
    if (off.has('packet-limit')) {
      socket.once('data', () => this.pending.delete(socket));
      broker.handle(socket);
      return;
    }
    const conn = guardedConnection(socket, this.opts.maxPacketBytes ?? 262_144, {
      onRefuse: (reason) => this.refuse(reason, socket),
      onFirstPacket: () => this.pending.delete(socket),
    });
    broker.handle(conn);
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    const server = this.server;
    this.broker = undefined;
    this.server = undefined;
    if (!broker || !server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.pending.clear();
    this.perAddress.clear();
    await new Promise<void>((r) => broker.close(() => r()));
    await closed;
    this.opts.logger?.info({ port: this.boundPort }, 'embedded broker stopped');
  }
}
