import { z } from 'zod';
import { isLoopbackHost } from '../../util/loopback.js';

const EMBEDDED_TLS_DEFAULT = { enabled: false, requireClientCert: true };
const LIMITS_DEFAULT = { maxPacketBytes: 262_144, connectTimeoutMs: 10_000, maxPending: 256, maxConnections: 2048, maxPerAddress: 64 };
const EMBEDDED_DEFAULT = { enabled: true, host: '127.0.0.1', port: 1883, allowInsecure: false, tls: EMBEDDED_TLS_DEFAULT, limits: LIMITS_DEFAULT };

/**
 * `broker.embedded.limits`: what one client, or many, may cost the embedded broker (issue 9 item 5;
 * docs/fleet.md "Resource limits"). Every refusal is counted by reason and logged.
 */
const embeddedLimits = z
  .object({
    /** Largest MQTT packet, refused from its fixed header before the body is buffered. Default 262144 (a 192 KiB envelope + topic). */
    maxPacketBytes: z.number().int().min(4096).max(256 * 1024 * 1024).default(LIMITS_DEFAULT.maxPacketBytes),
    /** A connection that sends no CONNECT (or TLS handshake) within this is closed, ms. Default 10000. */
    connectTimeoutMs: z.number().int().min(100).max(600_000).default(LIMITS_DEFAULT.connectTimeoutMs),
    /** Connections without a complete first packet; when full, the oldest is closed. Default 256. */
    maxPending: z.number().int().min(1).max(65_536).default(LIMITS_DEFAULT.maxPending),
    /** Connections in total. Default 2048 (the systemd unit sets LimitNOFILE=8192). */
    maxConnections: z.number().int().min(1).max(65_536).default(LIMITS_DEFAULT.maxConnections),
    /** Connections from one non-loopback address. Default 64. */
    maxPerAddress: z.number().int().min(1).max(65_536).default(LIMITS_DEFAULT.maxPerAddress),
  })
  .strict()
  .default(LIMITS_DEFAULT);

/** `broker.embedded.tls`: the embedded broker's `mqtts` listener (docs/fleet.md "TLS"). */
const embeddedTls = z
  .object({
    /** Listen `mqtts` (TLS) instead of plain MQTT on `broker.embedded.port`. Default false. */
    enabled: z.boolean().default(false),
    /** Server certificate (PEM), e.g. from `h3lix fleet tls-server`. Required when enabled. */
    certFile: z.string().min(1).optional(),
    /** Its private key (PEM). Required when enabled. */
    keyFile: z.string().min(1).optional(),
    /**
     * CA of the client certificates (PEM). Default in fleet mode: `<fleet.imageDir>/fleet-ca.pem`;
     * otherwise required with `requireClientCert`.
     */
    caFile: z.string().min(1).optional(),
    /**
     * Mutual TLS: clients must present a certificate from `caFile`, valid now, whose CN is their MQTT
     * username. Default true.
     */
    requireClientCert: z.boolean().default(true),
  })
  .strict()
  .default(EMBEDDED_TLS_DEFAULT);

/** `broker:` the embedded aedes broker and the MQTT connection. */
export const brokerSection = z
  .object({
    embedded: z
      .object({
        /** Start the embedded aedes broker (MQTT 3.1.1). Default true. */
        enabled: z.boolean().default(true),
        /** Listen address. Default 127.0.0.1 (loopback only). */
        host: z.string().min(1).default('127.0.0.1'),
        /** Listen port; 0 picks a free port. Default 1883 (use 8883 for mqtts by convention). */
        port: z.number().int().min(0).max(65535).default(1883),
        tls: embeddedTls,
        limits: embeddedLimits,
        /**
         * Allow plain MQTT on a host beyond loopback (anyone on the network reads tokens and traffic).
         * Default false: such a config is refused; true logs a warning at start.
         */
        allowInsecure: z.boolean().default(false),
      })
      .strict()
      .default(EMBEDDED_DEFAULT)
      .superRefine((e, ctx) => {
        if (e.enabled && !e.tls.enabled && !e.allowInsecure && !isLoopbackHost(e.host)) {
          ctx.addIssue({ code: 'custom', path: ['host'], message: `plain mqtt:// on ${e.host} is reachable beyond this machine: enable broker.embedded.tls (mqtts), or set broker.embedded.allowInsecure: true` });
        }
        if (e.tls.enabled && (!e.tls.certFile || !e.tls.keyFile)) ctx.addIssue({ code: 'custom', path: ['tls', e.tls.certFile ? 'keyFile' : 'certFile'], message: 'tls.enabled needs certFile and keyFile (h3lix fleet tls-server writes them)' });
      }),
    /** Upstream broker URL (mqtt://, mqtts://, tcp://). Empty: connect to the embedded broker. */
    url: z
      .string()
      .regex(/^(mqtts?|tcp|tls|wss?):\/\/.+/, 'must be a URL like mqtt://host:1883')
      .optional(),
    /**
     * TLS for `mqtts://` connections (this node's client side). In fleet mode the defaults come from the
     * fleet files: CA `<fleet.imageDir>/fleet-ca.pem`, the certificate issued at provisioning and the
     * node's identity key. Every key is optional.
     */
    tls: z
      .object({
        /** CA that issued the broker's certificate (PEM). Default: the fleet CA, else the system CAs. */
        caFile: z.string().min(1).optional(),
        /** Client certificate for mutual TLS (PEM). */
        certFile: z.string().min(1).optional(),
        /** Its private key (PEM). */
        keyFile: z.string().min(1).optional(),
        /** Name the broker's certificate must carry, when it is not the URL's host. */
        serverName: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /** MQTT protocol version for the upstream connection (3.1.1 = 4, 5 = 5). Default 4. */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
    username: z.string().optional(),
    password: z.string().optional(),
    /**
     * Send credentials (a password, fleet tokens, a provisioning claim) over plain MQTT (`mqtt://`,
     * `tcp://`, `ws://`) to a broker beyond loopback, where anyone on the path reads them. Default
     * false: refused at start (CONFIG_INVALID); true logs a warning. Anonymous plain connections are
     * not affected (every CCF message is signed).
     */
    allowInsecure: z.boolean().default(false),
    /** Reconnect period in ms. Default 1000. */
    reconnectMs: z.number().int().min(100).max(600_000).default(1000),
    /** MQTT keepalive in seconds. Default 30. */
    keepaliveSeconds: z.number().int().min(5).max(3600).default(30),
  })
  .strict()
  .default({
    embedded: EMBEDDED_DEFAULT,
    tls: {},
    protocolVersion: 4,
    allowInsecure: false,
    reconnectMs: 1000,
    keepaliveSeconds: 30,
  });
