import { z } from 'zod';

/**
 * `update:` runtime and model updates delivered by the signed fleet command `update` (docs/bundle.md,
 * "Updates by fleet command"). Needs fleet mode: only the fleet key can order an update, and the
 * bundle must be signed by the same key. Off by default.
 */
export const updateSection = z
  .object({
    /** Accept `update` / `update-status` fleet commands. Default false. */
    enabled: z.boolean().default(false),
    /** The A/B install root the bundle is installed into. Default `/opt/h3lix`. */
    root: z.string().min(1).default('/opt/h3lix'),
    /**
     * The installer's argv prefix; `bundle install …` is appended. Default: the running bundle's own
     * launcher, `<root>/current/bin/h3lix`.
     */
    installer: z.array(z.string().min(1)).min(1).optional(),
    /**
     * How the installer runs: outside the daemon's service, since the health check restarts the daemon.
     * `systemd-run` (a transient unit), `detached` (a new session, for boards without systemd), or
     * `auto` (systemd-run when the daemon runs under systemd and systemd-run exists). Default `auto`.
     */
    launcher: z.enum(['auto', 'systemd-run', 'detached']).default('auto'),
    /** The health check's first step, run by the installer after the switch. Default `systemctl restart h3lix.service`. */
    healthCmd: z.string().min(1).default('systemctl restart h3lix.service'),
    /** Seconds the restarted daemon has to report broker connected + field loaded. Default 90. */
    healthTimeoutSeconds: z.number().int().min(1).max(3600).default(90),
    /** Largest bundle accepted from a path or URL, bytes. Default 300 MiB. */
    maxBytes: z.number().int().min(1024).default(300 * 1024 * 1024),
    /** Give up a download after this long, seconds. Default 600. */
    downloadTimeoutSeconds: z.number().int().min(1).max(86_400).default(600),
  })
  .strict()
  .prefault({});

export type UpdateConfig = z.output<typeof updateSection>;
