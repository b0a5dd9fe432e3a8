import { z } from 'zod';

/** `homeassistant:` Home Assistant MQTT discovery of this board's sensors (docs/status.md). Off by default. */
export const homeassistantSection = z
  .object({
    /** Publish discovery configs and sensor state. Default false. */
    enabled: z.boolean().default(false),
    /** Home Assistant's discovery prefix. Default "homeassistant". */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'MQTT topic segments of [A-Za-z0-9_-]')
      .max(128)
      .default('homeassistant'),
    /**
     * `device`: one `<prefix>/device/<id>/config` message (Home Assistant 2024.12 and later);
     * `component`: one `<prefix>/sensor/<id>/<object>/config` per sensor (older releases). Default device.
     */
    discovery: z.enum(['device', 'component']).default('device'),
    /** Sensor values expire (shown unavailable) this long after the last state, seconds; 0 = never. Default 900. */
    expireAfterSeconds: z.number().int().min(0).max(86_400 * 7).default(900),
    /** State published at most this often, seconds. Default 30. */
    stateIntervalSeconds: z.number().min(1).max(86_400).default(30),
    /** Configs are republished this long (uniformly random) after Home Assistant says `online`, ms. Default 5000. */
    republishJitterMs: z.number().int().min(0).max(600_000).default(5000),
    /** Device name shown in Home Assistant. Default "h3lix <node id>". */
    deviceName: z.string().min(1).max(128).optional(),
  })
  .strict()
  .prefault({});

export type HomeassistantConfig = z.output<typeof homeassistantSection>;
