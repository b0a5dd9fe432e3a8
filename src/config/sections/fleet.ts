import { z } from 'zod';

/** `fleet:` fleet identity, provisioning and access control (DESIGN section 8, docs/fleet.md). */
export const fleetSection = z
  .object({
    /**
     * Fleet mode: provision with the board image's claim, authenticate to the broker with the
     * certificate, accept envelopes only from certified, unrevoked senders. Default false (open mode).
     */
    enabled: z.boolean().default(false),
    /** Directory holding the board image files `fleet.json` and `claim.json`. Default `/etc/h3lix/fleet`. */
    imageDir: z.string().min(1).default('/etc/h3lix/fleet'),
    /** Broker credentials: `token` (embedded aedes with fleet hooks) or `password` (Mosquitto files). Default `token`. */
    brokerAuth: z.enum(['token', 'password']).default('token'),
    /** Wait for a provisioning answer per attempt, ms. Default 5000. */
    attemptTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
    /** Provisioning attempts before PROVISION_TIMEOUT. Default 8. */
    maxAttempts: z.number().int().min(1).max(1000).default(8),
    /** First retry delay, doubling with jitter, ms. Default 1000. */
    backoffMs: z.number().int().min(10).default(1000),
    /** Largest retry delay, ms. Default 30000. */
    maxBackoffMs: z.number().int().min(10).default(30_000),
    /** Renew the certificate this many days before it expires. Default 7. */
    renewBeforeDays: z.number().min(0).max(3650).default(7),
    provisioner: z
      .object({
        /** Lifetime of issued certificates, days. Default 90. */
        certLifetimeDays: z.number().min(0.001).max(3650).default(90),
        /** Board profiles allowed fleet-wide ([] = any). Default []. */
        allowBoards: z.array(z.string().min(1)).default([]),
        /** Manual mode: requests wait for `h3lix fleet approve|reject`. Default false. */
        manual: z.boolean().default(false),
      })
      .strict()
      .default({ certLifetimeDays: 90, allowBoards: [], manual: false }),
  })
  .strict()
  .default({
    enabled: false,
    imageDir: '/etc/h3lix/fleet',
    brokerAuth: 'token',
    attemptTimeoutMs: 5000,
    maxAttempts: 8,
    backoffMs: 1000,
    maxBackoffMs: 30_000,
    renewBeforeDays: 7,
    provisioner: { certLifetimeDays: 90, allowBoards: [], manual: false },
  });
