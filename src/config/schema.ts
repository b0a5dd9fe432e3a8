import { z } from 'zod';
import { nodeSection } from './sections/node.js';
import { brokerSection } from './sections/broker.js';
import { logSection } from './sections/log.js';
import { ccfSection } from './sections/ccf.js';
import { syncSection } from './sections/sync.js';
import { energySection } from './sections/energy.js';
import { energySourceSection } from './sections/energy-source.js';
import { signalsSection } from './sections/signals.js';
import { instanceSection } from './sections/instance.js';
import { fleetSection } from './sections/fleet.js';
import { statusSection } from './sections/status.js';
import { homeassistantSection } from './sections/homeassistant.js';
import { updateSection } from './sections/update.js';
import { siteSection } from './sections/site.js';

/**
 * The one configuration schema. `H3lixConfig` is derived from it, so the types cannot drift from
 * what is validated. Each section lives in `sections/<name>.ts` next to its documentation.
 */
export const configSchema = z
  .object({
    /** Config file format version, for migrations. */
    version: z.literal(1).default(1),
    node: nodeSection,
    broker: brokerSection,
    log: logSection,
    ccf: ccfSection,
    sync: syncSection,
    energy: energySection,
    energySource: energySourceSection,
    signals: signalsSection,
    instance: instanceSection,
    fleet: fleetSection,
    status: statusSection,
    homeassistant: homeassistantSection,
    update: updateSection,
    site: siteSection,
  })
  .strict()
  .superRefine((c, ctx) => {
    // Only the fleet key may order an update: the `update` command exists in fleet mode only.
    if (c.update.enabled && !c.fleet.enabled) ctx.addIssue({ code: 'custom', path: ['update', 'enabled'], message: 'needs fleet.enabled: updates are ordered by fleet-signed commands' });
    // Site origins have no fleet certificates yet (docs/fleet.md): fleet mode would refuse them.
    if (c.site.enabled && c.fleet.enabled) ctx.addIssue({ code: 'custom', path: ['site', 'enabled'], message: 'site.enabled with fleet.enabled is not supported yet: site origins have no fleet certificates' });
    if (c.site.enabled && c.site.name === undefined) ctx.addIssue({ code: 'custom', path: ['site', 'name'], message: 'needed when site.enabled' });
    const names = [c.site.name, ...c.site.zones.map((x) => x.name)];
    c.site.zones.forEach((zone, i) => {
      const child = names[i];
      if (child !== undefined && !zone.members.includes(child)) ctx.addIssue({ code: 'custom', path: ['site', 'zones', i, 'members'], message: `must include ${JSON.stringify(child)} (the ${i === 0 ? 'site' : 'zone'} below this zone)` });
      if (names.indexOf(zone.name) !== i + 1) ctx.addIssue({ code: 'custom', path: ['site', 'zones', i, 'name'], message: `${JSON.stringify(zone.name)} is used twice in the site's chain` });
      // a zone's members are one level: the level below and its siblings, never another level of the chain
      for (const m of zone.members) {
        if (m !== child && names.includes(m)) ctx.addIssue({ code: 'custom', path: ['site', 'zones', i, 'members'], message: `${JSON.stringify(m)} is another level of the site's chain (only ${JSON.stringify(child)} may be listed)` });
        const other = c.site.zones.findIndex((x, j) => j !== i && x.members.includes(m));
        if (other > i) ctx.addIssue({ code: 'custom', path: ['site', 'zones', i, 'members'], message: `${JSON.stringify(m)} is also a member of site.zones.${other}: a child has one parent` });
      }
    });
    // every origin a zone is computed from, and every zone of the chain, needs its pinned key (else it is refused)
    if (c.site.enabled && c.site.zones.length) {
      const own = new Set([...(c.site.gateway ? [c.site.name] : []), ...c.site.zones.filter((x) => x.gateway).map((x) => x.name)]);
      const needed = new Set([...c.site.zones.flatMap((x) => x.members), ...c.site.zones.map((x) => x.name)]);
      const missing = [...needed].filter((n) => n !== undefined && !own.has(n) && !(n in c.site.keys));
      if (missing.length) ctx.addIssue({ code: 'custom', path: ['site', 'keys'], message: `no pinned key for ${missing.map((n) => JSON.stringify(n)).join(', ')} (named in site.zones; their origins would be refused)` });
    }
  });

export type H3lixConfig = z.output<typeof configSchema>;
export type H3lixConfigInput = z.input<typeof configSchema>;
