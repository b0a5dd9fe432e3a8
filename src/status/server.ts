/**
 * The status server (docs/status.md): node:http on `status.host:status.port`, serving the page, its
 * JSON, a server-sent event stream and Prometheus `/metrics`. Bad input never reaches the daemon:
 * unknown paths 404, other methods 405, a missing or wrong token 401 (when one is required), request
 * heads over `maxHeaderBytes` 431, heads slower than `headersTimeoutMs` 408, connections beyond
 * `maxConnections` closed at once, event streams beyond `maxStreams` 503, and an event-stream client
 * that stops reading is dropped once 256 KiB are queued for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ChartHistory } from './history.js';
import { LatencyHistogram } from '../util/histogram.js';
import { renderMetrics, type MetricsExtras } from './metrics.js';
import { PAGE_CSS, PAGE_HTML } from './page.js';
import { PAGE_SCRIPT } from './page-script.js';
import type { StatusSummary } from './summary.js';
import { tokenMatches } from './token.js';

/** What the server shows; each call reads the live state. */
export interface StatusProvider {
  summary(): StatusSummary;
  history(): ChartHistory;
  /** Extra metric families (e.g. an inference latency histogram). Default none. */
  metricsExtras?(): MetricsExtras;
}

/**
 * Options of {@link StatusServer}. Defaults: `host` 127.0.0.1, `port` 8080, `token` none (no check),
 * `pushIntervalMs` 2000, `heartbeatMs` 15000, `maxStreams` 8, `maxConnections` 32,
 * `headersTimeoutMs` 5000, `requestTimeoutMs` 10000, `maxHeaderBytes` 8192.
 */
export interface StatusServerOptions {
  provider: StatusProvider;
  clock: Clock;
  logger: Logger;
  host?: string;
  port?: number;
  token?: string | undefined;
  pushIntervalMs?: number;
  heartbeatMs?: number;
  maxStreams?: number;
  maxConnections?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxHeaderBytes?: number;
}

const MAX_STREAM_BACKLOG = 256 * 1024;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const COOKIE = 'h3lix_status';

export class StatusServer {
  private server: Server | undefined;
  private readonly streams = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private pushTimer: TimerHandle | undefined;
  private beatTimer: TimerHandle | undefined;
  private lastSent = '';
  private readonly latency = new LatencyHistogram();
  /** Responses by status code, and refused connections ('client-error'). */
  readonly requests: Record<string, number> = {};

  constructor(private readonly o: StatusServerOptions) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Open TCP connections. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  async start(): Promise<void> {
    const o = this.o;
    const headersTimeout = o.headersTimeoutMs ?? 5000;
    const server = createServer({
      maxHeaderSize: o.maxHeaderBytes ?? 8192,
      headersTimeout,
      requestTimeout: Math.max(o.requestTimeoutMs ?? 10_000, headersTimeout),
      keepAliveTimeout: 5000,
      // how often Node checks the two timeouts above (default 30 s would let a slow client sit 30 s)
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    });
    server.maxConnections = o.maxConnections ?? 32;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.count('client-error');
      const code = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      if (socket.writable && !socket.writableEnded) socket.end(`HTTP/1.1 ${code}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      else socket.destroy();
    });
    server.on('request', (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => o.logger.warn({ err: err.message }, 'status server error'));
    this.server = server;
    this.armPush();
    this.armBeat();
  }

  async stop(): Promise<void> {
    if (this.pushTimer) this.o.clock.clearTimeout(this.pushTimer);
    if (this.beatTimer) this.o.clock.clearTimeout(this.beatTimer);
    this.pushTimer = this.beatTimer = undefined;
    const server = this.server;
    this.server = undefined;
    for (const s of this.streams) s.end();
    this.streams.clear();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Push a fresh summary to every stream now (e.g. on an energy mode change). */
  notify(): void {
    this.push(true);
  }

  private count(key: string): void {
    this.requests[key] = (this.requests[key] ?? 0) + 1;
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    const expected = this.o.token;
    if (expected === undefined) return true;
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${COOKIE}=`))?.slice(COOKIE.length + 1);
    return [bearer, cookie, url.searchParams.get('token') ?? undefined].some((t) => tokenMatches(t, expected));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = this.o.clock.monotonic();
    res.once('finish', () => {
      this.count(String(res.statusCode));
      this.latency.observe((this.o.clock.monotonic() - started) / 1000);
    });
    try {
      this.route(req, res);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message, path: req.url?.slice(0, 200) }, 'status request failed');
      if (!res.headersSent) this.send(res, 500, 'application/json', JSON.stringify({ error: 'internal error; see the daemon log' }));
      else res.destroy();
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return this.send(res, 405, 'application/json', JSON.stringify({ error: `method ${req.method} not allowed` }));
    }
    if (!this.authorized(req, url)) {
      res.setHeader('www-authenticate', 'Bearer realm="h3lix status"');
      return this.send(res, 401, 'text/plain; charset=utf-8', 'h3lix status: this page needs the token from the node data dir (file status-token): open /?token=<token> or send "Authorization: Bearer <token>"\n');
    }
    if (this.o.token !== undefined && url.searchParams.has('token')) {
      res.setHeader('set-cookie', `${COOKIE}=${this.o.token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return this.send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case '/app.js':
        return this.send(res, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
      case '/app.css':
        return this.send(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
      case '/api/status':
        return this.send(res, 200, 'application/json', JSON.stringify(this.o.provider.summary()));
      case '/api/history':
        return this.send(res, 200, 'application/json', JSON.stringify(this.o.provider.history()));
      case '/metrics':
        return this.send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', this.metrics());
      case '/healthz':
        return this.send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      case '/events':
        return this.openStream(req, res);
      default:
        return this.send(res, 404, 'application/json', JSON.stringify({ error: `no such path: ${url.pathname.slice(0, 100)}`, paths: ['/', '/api/status', '/api/history', '/events', '/metrics', '/healthz'] }));
    }
  }

  private metrics(): string {
    const extras: MetricsExtras = { ...(this.o.provider.metricsExtras?.() ?? {}), streams: this.streams.size, httpRequests: this.requests, pageLatency: this.latency };
    return renderMetrics(this.o.provider.summary(), extras);
  }

  private send(res: ServerResponse, status: number, type: string, body: string): void {
    const buf = Buffer.from(body);
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': buf.length });
    res.end(res.req.method === 'HEAD' ? undefined : buf);
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= (this.o.maxStreams ?? 8)) {
      res.setHeader('retry-after', '10');
      return this.send(res, 503, 'application/json', JSON.stringify({ error: `too many event streams (${this.streams.size}); close another page` }));
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    req.socket.setNoDelay(true);
    this.streams.add(res);
    const drop = (): void => {
      this.streams.delete(res);
    };
    res.once('close', drop);
    const hello = { heartbeatMs: this.o.heartbeatMs ?? 15_000, pushIntervalMs: this.o.pushIntervalMs ?? 2000 };
    this.write(res, `retry: 2000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\nevent: status\ndata: ${JSON.stringify(this.o.provider.summary())}\n\n`);
  }

  private write(res: ServerResponse, chunk: string): void {
    if (res.writableLength > MAX_STREAM_BACKLOG) {
      this.count('stream-dropped');
      this.streams.delete(res);
      res.destroy();
      return;
    }
    res.write(chunk);
  }

  private push(force: boolean): void {
    if (this.streams.size === 0) return;
    const s = this.o.provider.summary();
    const key = JSON.stringify({ ...s, time: 0 });
    if (!force && key === this.lastSent) return;
    this.lastSent = key;
    const chunk = `event: status\ndata: ${JSON.stringify(s)}\n\n`;
    for (const r of [...this.streams]) this.write(r, chunk);
  }

  private armPush(): void {
    this.pushTimer = this.o.clock.setTimeout(() => {
      try {
        this.push(false);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'status push failed');
      }
      if (this.server) this.armPush();
    }, this.o.pushIntervalMs ?? 2000);
    this.pushTimer.unref?.();
  }

  private armBeat(): void {
    this.beatTimer = this.o.clock.setTimeout(() => {
      for (const r of [...this.streams]) this.write(r, `event: ping\ndata: ${this.o.clock.now()}\n\n`);
      if (this.server) this.armBeat();
    }, this.o.heartbeatMs ?? 15_000);
    this.beatTimer.unref?.();
  }
}
