import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { H3lixError } from '../errors.js';
import type { Logger } from '../util/logger.js';

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
 */
export interface EmbeddedBrokerOptions {
  host?: string;
  port?: number;
  concurrency?: number;
  hooks?: BrokerAuthHooks;
  logger?: Logger;
}

/**
 * The embedded aedes 1.x broker (MQTT 3.1.1) that serves local peers (DESIGN section 9). `start()`
 * listens, `stop()` closes every client socket and the broker. No work happens in the constructor.
 */
export class EmbeddedBroker {
  private readonly opts: EmbeddedBrokerOptions;
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

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
    const opts: AedesOptions = { concurrency: this.opts.concurrency ?? 1000 };
    for (const [k, v] of Object.entries(hooks)) if (v !== undefined) (opts as Record<string, unknown>)[k] = v;
    const broker = await Aedes.createBroker(opts);
    const log = this.opts.logger;
    broker.on('clientError', (client, err) => log?.debug({ client: client?.id, err: err.message }, 'mqtt client error'));
    broker.on('connectionError', (client, err) => log?.debug({ client: client?.id, err: err.message }, 'mqtt connection error'));
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      broker.handle(socket);
    });
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

  async stop(): Promise<void> {
    const broker = this.broker;
    const server = this.server;
    this.broker = undefined;
    this.server = undefined;
    if (!broker || !server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((r) => broker.close(() => r()));
    await closed;
    this.opts.logger?.info({ port: this.boundPort }, 'embedded broker stopped');
  }
}
