import { z } from 'zod';

/** `broker:` the embedded aedes broker and the MQTT connection. */
export const brokerSection = z
  .object({
    embedded: z
      .object({
        /** Start the embedded aedes broker (MQTT 3.1.1). Default true. */
        enabled: z.boolean().default(true),
        /** Listen address. Default 127.0.0.1 (loopback only). */
        host: z.string().min(1).default('127.0.0.1'),
        /** Listen port; 0 picks a free port. Default 1883. */
        port: z.number().int().min(0).max(65535).default(1883),
      })
      .strict()
      .default({ enabled: true, host: '127.0.0.1', port: 1883 }),
    /** Upstream broker URL (mqtt://, mqtts://, tcp://). Empty: connect to the embedded broker. */
    url: z
      .string()
      .regex(/^(mqtts?|tcp|tls|wss?):\/\/.+/, 'must be a URL like mqtt://host:1883')
      .optional(),
    /** MQTT protocol version for the upstream connection (3.1.1 = 4, 5 = 5). Default 4. */
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
    username: z.string().optional(),
    password: z.string().optional(),
    /** Reconnect period in ms. Default 1000. */
    reconnectMs: z.number().int().min(100).max(600_000).default(1000),
    /** MQTT keepalive in seconds. Default 30. */
    keepaliveSeconds: z.number().int().min(5).max(3600).default(30),
  })
  .strict()
  .default({
    embedded: { enabled: true, host: '127.0.0.1', port: 1883 },
    protocolVersion: 4,
    reconnectMs: 1000,
    keepaliveSeconds: 30,
  });
