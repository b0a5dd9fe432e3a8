/**
 * The status feature (docs/status.md): the local status page, its event stream and Prometheus
 * `/metrics`, served while `h3lix run` runs with `status.enabled`. Loopback by default; bound
 * anywhere else it requires the token from the data dir and says so at start.
 */
import type { MqttClient } from 'mqtt';
import { closeAuxClient, openAuxClient } from '../../status/aux-client.js';
import { DaemonStatusSource } from '../../status/daemon-source.js';
import { PeerTracker } from '../../status/peers.js';
import { StatusServer } from '../../status/server.js';
import { isLoopbackHost, loadOrCreateToken, tokenFilePath } from '../../status/token.js';
import { moduleLogger, type Logger } from '../../util/logger.js';
import type { DaemonContext, Feature, FeatureFactory } from '../feature.js';
import type { FeatureHandles } from './handles.js';

/**
 * Options of {@link statusFeatureFactory}. `onStarted`: called with the feature once it listens
 * (tests, tools); default none. The peer client logs in as the daemon's transport does (`ctx.login`).
 */
export interface StatusFeatureOptions {
  onStarted?: (feature: DaemonStatusFeature) => void;
}

/** The factory `defaultFeatures` adds when `status.enabled`; reads the other features through `handles`. */
export function statusFeatureFactory(handles: FeatureHandles, opts: StatusFeatureOptions = {}): FeatureFactory {
  return (ctx) => new DaemonStatusFeature(ctx, handles, opts);
}

export class DaemonStatusFeature implements Feature {
  readonly name = 'status';
  private server: StatusServer | undefined;
  private client: MqttClient | undefined;
  private offs: Array<() => void> = [];
  private readonly log: Logger;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly handles: FeatureHandles,
    private readonly opts: StatusFeatureOptions = {},
  ) {
    this.log = moduleLogger(ctx.logger, 'status');
  }

  /** The peer client while running (tests). */
  get peerClient(): MqttClient | undefined {
    return this.client;
  }

  /** The server while running (tests read its port). */
  get statusServer(): StatusServer | undefined {
    return this.server;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const cfg = ctx.config.status;
    const loopback = isLoopbackHost(cfg.host);
    let token: string | undefined;
    let tokenFile: string | undefined;
    if (!loopback || cfg.requireToken) {
      tokenFile = tokenFilePath(ctx.config.node.dataDir, cfg.tokenFile);
      token = loadOrCreateToken(tokenFile).token;
    }
    const peers = new PeerTracker({ topics: ctx.topics, self: ctx.nodeId, fleet: ctx.fleet, now: () => ctx.clock.now() });
    const server = new StatusServer({
      provider: new DaemonStatusSource({ ctx, handles: this.handles, peers, historyDays: cfg.historyDays, chartPoints: cfg.chartPoints }),
      clock: ctx.clock,
      logger: this.log,
      host: cfg.host,
      port: cfg.port,
      token,
      pushIntervalMs: cfg.pushIntervalMs,
      maxStreams: cfg.maxStreams,
      maxConnections: cfg.maxConnections,
      headersTimeoutMs: cfg.headersTimeoutMs,
      requestTimeoutMs: cfg.requestTimeoutMs,
      maxHeaderBytes: cfg.maxHeaderBytes,
    });
    try {
      await server.start();
    } catch (err) {
      // The page is for people; the daemon is for the fleet: a taken port must not stop the board.
      const e = err as NodeJS.ErrnoException;
      this.log.error({ host: cfg.host, port: cfg.port, err: e.code ?? e.message }, `status page not started: cannot listen on ${cfg.host}:${cfg.port} (${e.code === 'EADDRINUSE' ? 'another program uses the port; set status.port' : e.code === 'EACCES' ? 'ports below 1024 need privileges; set status.port' : e.message}); the daemon runs without it`);
      return;
    }
    this.server = server;
    // Peers: retained births/deaths arrive at subscribe time, so the page has its own subscription.
    if (cfg.peerClient) {
      this.client = openAuxClient(ctx, { suffix: 'status', subscriptions: [`${ctx.topics.root}state/+`], onMessage: (t, p) => peers.onMessage(t, p), logger: this.log });
    } else this.log.info('status.peerClient: false: peers are learned from the births the daemon itself receives (a peer already up appears at its next birth)');
    this.offs.push(ctx.inbound.on('message', (t, p) => peers.onMessage(t, p)));
    this.offs.push(ctx.events.on('energyMode', () => server.notify()));
    const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${server.port}/`;
    if (token !== undefined) {
      this.log.warn({ url, tokenFile, loopback }, `status page on ${url} ${loopback ? '' : 'is reachable beyond loopback and '}requires the token in ${tokenFile}: open ${url}?token=<token> or send "Authorization: Bearer <token>"`);
    } else {
      this.log.info({ url }, `status page on ${url} (loopback only, no token)`);
    }
    this.opts.onStarted?.(this);
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    await closeAuxClient(this.client);
    this.client = undefined;
    await this.server?.stop();
    this.server = undefined;
  }
}
