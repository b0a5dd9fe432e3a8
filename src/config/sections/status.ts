import { z } from 'zod';

/**
 * `status:` the local status page, its live event stream and Prometheus `/metrics` (docs/status.md).
 * Off by default. Bound to loopback by default; bound anywhere else, every request needs the token
 * kept in `tokenFile` (created 0600 on first start).
 */
export const statusSection = z
  .object({
    /** Serve the status page from `h3lix run`. Default false. */
    enabled: z.boolean().default(false),
    /** Address to bind. Default 127.0.0.1 (loopback: no token needed). */
    host: z.string().min(1).max(255).default('127.0.0.1'),
    /** TCP port (0 = any free port, logged at start). Default 8080. */
    port: z.number().int().min(0).max(65_535).default(8080),
    /** Token file; required beyond loopback. Default `<node.dataDir>/status-token`. */
    tokenFile: z.string().min(1).optional(),
    /** Require the token even on loopback. Default false. */
    requireToken: z.boolean().default(false),
    /** How often the page's event stream is refreshed when something changed, ms. Default 2000. */
    pushIntervalMs: z.number().int().min(100).max(600_000).default(2000),
    /** Chart window, days. Default 7. */
    historyDays: z.number().min(0.01).max(31).default(7),
    /** Most points sent to the chart (the history is downsampled to this). Default 700. */
    chartPoints: z.number().int().min(10).max(5000).default(700),
    /** Most concurrent event-stream clients; more get 503. Default 8. */
    maxStreams: z.number().int().min(1).max(256).default(8),
    /** Most open TCP connections. Default 32. */
    maxConnections: z.number().int().min(2).max(1024).default(32),
    /** A request whose headers are not complete within this is answered 408 and closed, ms. Default 5000. */
    headersTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
    /** A request not complete within this is closed, ms. Default 10000. */
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Largest request head, bytes; bigger is answered 431. Default 8192. */
    maxHeaderBytes: z.number().int().min(1024).max(65_536).default(8192),
    /**
     * Open a second MQTT connection for the peers' retained births (`state/+`). Default true. Set false
     * on a Mosquitto fleet broker (`use_username_as_clientid`: one connection per node, a second one
     * displaces the daemon's); peers are then learned from the births the daemon's own connection sees
     * (a peer already up only if its retained birth arrives after the status feature started: a race).
     */
    peerClient: z.boolean().default(true),
  })
  .strict()
  .prefault({});

export type StatusConfig = z.output<typeof statusSection>;
