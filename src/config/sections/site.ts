import { z } from 'zod';

const SITE = /^[A-Za-z0-9_-]{1,59}$/;

/** One zone above the site (zones of zones, docs/sync.md "Zones of zones"). */
const zoneEntry = z
  .object({
    /** The zone's name; its origin is `site-<name>` (one namespace with the sites). */
    name: z.string().regex(SITE, '1-59 of [A-Za-z0-9_-]'),
    /** The zone's children: sites for the first zone, zones of the level below above it. */
    members: z.array(z.string().regex(SITE, '1-59 of [A-Za-z0-9_-]')).min(1),
    /** This board computes and publishes the zone origin (one board per zone). Default false. */
    gateway: z.boolean().default(false),
  })
  .strict();

/**
 * `site:` site aggregates (docs/sync.md "Site aggregates"). Off by default. A site's gateway
 * (`gateway: true`) publishes the site origin `site-<name>` (its boards' robust value) signed with its
 * own key, through the site broker's `out` bridge lines (`h3lix fleet bridge --aggregate`); every board
 * of the site accepts a site origin only with the key pinned in `keys`, never one learned from presence.
 */
export const siteSection = z
  .object({
    /** Take part in site aggregates. Default false. */
    enabled: z.boolean().default(false),
    /** This board's site (1-59 of [A-Za-z0-9_-]); its origin is `site-<name>`. Required when enabled. */
    name: z.string().regex(SITE, '1-59 of [A-Za-z0-9_-]').optional(),
    /** This board is its site's gateway: it computes and publishes the site origin. Default false. */
    gateway: z.boolean().default(false),
    /**
     * The pinned key of each site origin: site name -> its gateway's Ed25519 public key (base64, 32
     * bytes; `h3lix status` prints a node's key). The gateway pins its own site to its own key.
     */
    keys: z.record(z.string().regex(SITE, 'site names are 1-59 of [A-Za-z0-9_-]'), z.base64().refine((k) => Buffer.from(k, 'base64').length === 32, 'an Ed25519 public key is 32 bytes')).default({}),
    /**
     * Zones of zones: the zones above this board's site, nearest first. Each names its members (the
     * first zone's include `name`, each next zone's the zone before it). A board then holds its site's
     * boards, each level's sibling origins and the top level's; its fleet value is over the top level.
     * Default none (sites directly under the fleet broker).
     */
    zones: z.array(zoneEntry).max(8).default([]),
    /** The gateway recomputes its site value this often, ms. Default 60000. */
    aggregateEveryMs: z.number().int().min(1000).max(86_400_000).default(60_000),
  })
  .strict()
  .prefault({});

export type SiteConfig = z.output<typeof siteSection>;
