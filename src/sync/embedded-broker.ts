import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import { ConfigError, H3lixError } from '../errors.js';
import { isLoopbackHost } from '../util/loopback.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { peerIdentity } from './tls.js';
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
 * - `defencesOff`: test-only switches (`packet-limit`, `connect-timeout`, `conn-limit`, `tls-client-cert`, `tls-identity`).
 *   Default from H3LIX_TEST_DEFENCES_OFF.
 * TLS (issue 9 item 2, docs/fleet.md "TLS"):
 * - `tls`: listen `mqtts` with this certificate and key instead of plain MQTT. With
 *   `tls.requireClientCert` (mutual TLS) a client must present a certificate issued by `tls.ca` and
 *   valid now (`requestCert` + `rejectUnauthorized`), and may log in only as the name it certifies:
 *   the MQTT username must equal the certificate's CN (`tls-identity`; a client with no username gets
 *   the CN, like Mosquitto's `use_identity_as_username`); without `hooks` the client id must name the
 *   CN too (`clientIdNames`). A mutual-TLS connection is closed when its
 *   client certificate expires (`certificate expired`; test switch `token-expiry`). Default: none (plain MQTT).
 * - `clock`: arms those expiry timers. Default systemClock.
 * - `allowInsecure`: listen plain MQTT on a host beyond loopback. Default false: `start()` throws
 *   CONFIG_INVALID; with true it logs a warning.
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
  tls?: EmbeddedBrokerTls;
  allowInsecure?: boolean;
  clock?: Clock;
}

/** The `mqtts` listener's material (PEM). `ca` is required with `requireClientCert`. */
export interface EmbeddedBrokerTls {
  cert: string;
  key: string;
  ca?: string;
  requireClientCert: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Without fleet hooks (which bind client ids per principal, fleet/client-ids.ts) a certificate's
 * client may use the CN itself or an id naming it as a dash-separated part (`h3lix-<fleet>-<CN>`,
 * `h3lix-<fleet>-<CN>-instance`), so it can never name, and displace [MQTT-3.1.4-2], another's session.
 */
function clientIdNames(clientId: string, cn: string): boolean {
  return clientId === cn || clientId.endsWith(`-${cn}`) || clientId.includes(`-${cn}-`);
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
  /** Verified certificate CN of each TLS connection, by the stream aedes reads (its `client.conn`). */
  private readonly identities = new WeakMap<object, string>();
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

  /** `mqtt://host:port` (`mqtts://` with TLS) for clients. */
  get url(): string {
    const h = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `${this.opts.tls ? 'mqtts' : 'mqtt'}://${h.includes(':') ? `[${h}]` : h}:${this.boundPort}`;
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
    const log = this.opts.logger;
    const tls = this.opts.tls;
    if (!tls && !isLoopbackHost(this.host)) {
      if (!this.opts.allowInsecure) {
        throw new ConfigError('broker.embedded.tls', `plain mqtt:// on ${this.host} is reachable beyond this machine: configure broker.embedded.tls (mqtts), or set broker.embedded.allowInsecure: true`);
      }
      log?.warn({ host: this.host }, 'embedded broker listens plain mqtt:// beyond loopback (allowInsecure): credentials and traffic travel in clear');
    }
    if (tls?.requireClientCert && !tls.ca) throw new ConfigError('broker.embedded.tls.caFile', 'mutual TLS needs the CA that issues client certificates');
    const off = this.opts.defencesOff ?? defencesOff();
    const opts: AedesOptions = { concurrency: this.opts.concurrency ?? 1000, connectTimeout: off.has('connect-timeout') ? MAX_TIMER_MS : (this.opts.connectTimeoutMs ?? 10_000) };
    for (const [k, v] of Object.entries(this.opts.hooks ?? {})) if (v !== undefined) (opts as Record<string, unknown>)[k] = v;
    if (tls?.requireClientCert) opts.authenticate = this.identityCheck(opts.authenticate, off);
    const broker = await Aedes.createBroker(opts);
    broker.on('clientError', (client, err) => log?.debug({ client: client?.id, err: err.message }, 'mqtt client error'));
    broker.on('connectionError', (client, err) => log?.debug({ client: client?.id, err: err.message }, 'mqtt connection error'));
    if (off.size > 0) log?.error({ defencesOff: [...off] }, 'TEST SWITCH: broker defences are OFF (H3LIX_TEST_DEFENCES_OFF); never run a board like this');
    const server = tls ? this.tlsServer(broker, tls, off) : createServer((socket) => this.admit(socket, off) && this.serve(broker, socket, socket, off));
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
    log?.info({ host: this.host, port: this.boundPort, tls: tls ? (tls.requireClientCert ? 'mutual' : 'server') : 'off' }, 'embedded broker listening');
  }

  /**
   * The `mqtts` server: the resource limits apply to the raw socket as it arrives (before the
   * handshake), the MQTT stream starts on the verified TLS socket. Failed handshakes (no certificate,
   * another CA, expired) are counted as `tls-handshake`.
   */
  private tlsServer(broker: Aedes, tls: EmbeddedBrokerTls, off: ReadonlySet<Defence>): Server {
    const verify = tls.requireClientCert && !off.has('tls-client-cert');
    const server = createTlsServer({
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca } : {}),
      requestCert: tls.requireClientCert,
      rejectUnauthorized: verify,
      minVersion: 'TLSv1.2',
      handshakeTimeout: this.opts.connectTimeoutMs ?? 10_000,
    });
    // 'connection' fires with the TCP socket before the TLS layer reads from it; admit() destroys a refused one.
    // noDelay: TLS 1.3 sends its session tickets right before our CONNACK; with Nagle the CONNACK then
    // waits for the client's delayed ACK (~40 ms per connect, measured in bench/tls.bench.ts).
    server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      this.admit(socket, off);
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      // Node's TLS server wraps the TCP socket it emitted on 'connection' (kept as `_parent`).
      const tcp = (socket as TLSSocket & { _parent?: Socket })._parent ?? socket;
      if (tcp.destroyed) return socket.destroy();
      const conn = this.serve(broker, socket, tcp, off);
      const id = peerIdentity(socket);
      if (id !== undefined) this.identities.set(conn, id);
      if (id !== undefined && !off.has('token-expiry')) this.closeAtExpiry(socket, tcp);
    });
    // A certificate that fails verification is dropped by Node after the handshake with its reason in
    // `authorizationError` (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...); the error is then a hang-up.
    server.on('tlsClientError', (err, socket) => this.refuse('tls-handshake', socket, socket.authorizationError ? `client certificate refused: ${String(socket.authorizationError)}` : err.message));
    return server;
  }

  /** The session may not outlive the client certificate it was opened with. */
  private closeAtExpiry(socket: TLSSocket, tcp: Socket): void {
    const clock = this.opts.clock ?? systemClock;
    const lapses = Date.parse(socket.getPeerCertificate().valid_to);
    if (!Number.isFinite(lapses)) return;
    let timer: TimerHandle | undefined;
    // Timers hold at most 2^31-1 ms (24.8 days; a longer one fires at once): re-arm until due.
    const arm = (): void => {
      const left = lapses - clock.now();
      if (left > MAX_TIMER_MS) {
        timer = clock.setTimeout(arm, MAX_TIMER_MS);
      } else {
        timer = clock.setTimeout(() => {
          if (socket.destroyed) return;
          this.refuse('certificate expired', tcp);
          socket.destroy();
        }, Math.max(0, left));
      }
      timer.unref?.();
    };
    arm();
    socket.once('close', () => timer && clock.clearTimeout(timer));
  }

  /**
   * Wraps `authenticate`: under mutual TLS the MQTT username must be the CN of the client's verified
   * certificate (a node's certificate cannot log in as another node); a CONNECT without a username
   * takes the CN. Refusals are counted as `tls-identity`.
   */
  private identityCheck(inner: AedesOptions['authenticate'], off: ReadonlySet<Defence>): NonNullable<AedesOptions['authenticate']> {
    return (client: Client, username: string | undefined, password: Buffer | undefined, done) => {
      const id = this.identities.get(client.conn as object);
      let user = username;
      if (!off.has('tls-identity')) {
        const problem =
          id === undefined
            ? off.has('tls-client-cert')
              ? undefined
              : 'no verified client certificate'
            : username !== undefined && username !== id
              ? `certificate names ${id}, username is ${username.slice(0, 80)}`
              : !inner && !clientIdNames(client.id, id)
                ? `certificate names ${id}, client id is ${client.id.slice(0, 128)}`
                : undefined;
        if (problem) {
          this.refusals.set('tls-identity', (this.refusals.get('tls-identity') ?? 0) + 1);
          this.opts.logger?.warn({ reason: 'tls-identity', clientId: client.id.slice(0, 128), error: problem }, 'embedded broker refused a connection: tls-identity');
          return done(Object.assign(new Error(`not authorized: ${problem}`), { returnCode: 5 }) as AuthenticateError, false);
        }
        user = username ?? id;
      }
      if (inner) return inner(client, user, password, done);
      done(null, true);
    };
  }

  private refuse(reason: string, socket: Socket | undefined, error?: string): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
    this.opts.logger?.warn({ reason, remote: socket?.remoteAddress, ...(error ? { error } : {}) }, `embedded broker refused a connection: ${reason}`);
  }

  /** Resource limits on a new TCP connection; false when it was refused (the caller destroys it). */
  private admit(socket: Socket, off: ReadonlySet<Defence>): boolean {
    const addr = socket.remoteAddress ?? '';
    const limits = !off.has('conn-limit');
    if (limits && this.sockets.size >= (this.opts.maxConnections ?? 2048)) {
      this.refuse('connections-total', socket);
      socket.destroy();
      return false;
    }
    const counted = !LOOPBACK_ADDR.test(addr);
    if (limits && counted && (this.perAddress.get(addr) ?? 0) >= (this.opts.maxPerAddress ?? 64)) {
      this.refuse('connections-per-address', socket);
      socket.destroy();
      return false;
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
    return true;
  }

  /** Hand `stream` (the TCP socket, or the TLS socket over `tcp`) to aedes behind the packet limit. */
  private serve(broker: Aedes, stream: Socket, tcp: Socket, off: ReadonlySet<Defence>): Duplex {
    if (off.has('packet-limit')) {
      stream.once('data', () => this.pending.delete(tcp));
      broker.handle(stream);
      return stream;
    }
    const conn = guardedConnection(stream, this.opts.maxPacketBytes ?? 262_144, {
      onRefuse: (reason) => this.refuse(reason, tcp),
      onFirstPacket: () => this.pending.delete(tcp),
    });
    broker.handle(conn);
    return conn;
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
