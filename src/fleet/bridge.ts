import { H3lixError } from '../errors.js';
import { SITE_ORIGIN_PREFIX } from '../sync/site-aggregate.js';

/** What {@link mosquittoBridgeConf} needs. */
export interface BridgeOptions {
  fleet: string;
  /** The site's name: the bridge connection's name and the remote client id `h3lix-bridge-<site>`. */
  site: string;
  /** The fleet (parent) broker. */
  remoteHost: string;
  remotePort: number;
  /** Login on the parent broker (its ACL must grant this user readwrite on `h3lix/v1/<fleet>/#`). */
  remoteUsername?: string;
  remotePassword?: string;
  /**
   * Mutual TLS to the fleet broker's `fleet acl --tls` listener: the fleet CA and the bridge's client
   * certificate (CN `h3lix-bridge-<site>`, bridge-identity.ts) and key, as paths on the site broker.
   * The listener takes the CN as the username, so no remote_username/remote_password is written.
   */
  tls?: { cafile: string; certfile: string; keyfile: string };
  /**
   * Site-aggregate mode (docs/sync.md "Site aggregates"): bridge the fleet broker's CCF and presence
   * tree IN only, and OUT exactly the site origin `site-<site>`'s topics, instead of the whole fleet
   * tree both ways. The site's boards' own traffic then stays on the site broker.
   */
  aggregate?: boolean;
  /**
   * With `aggregate`, zones of zones (docs/sync.md "Zones of zones"): the zone origins whose gateway
   * board is on this broker's side, carried OUT as well (`site-<zone>`), up to the broker where they
   * are published to the zone's parent.
   */
  zoneOrigins?: string[];
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A site whose origin `site-<site>` is a topic segment of at most 64 characters. */
const AGGREGATE_SITE = /^[A-Za-z0-9_-]{1,59}$/;

/**
 * The `topic` lines of a bridge: the whole fleet tree both ways, or with `aggregate` the CCF/presence
 * tree in and the site origin's topics out (local and remote prefix `h3lix/v1/<fleet>/`).
 */
function topicLines(fleet: string, site: string, aggregate: boolean, zones: readonly string[]): string[] {
  if (!aggregate) return [`topic h3lix/v1/${fleet}/# both 1`];
  const prefix = `h3lix/v1/${fleet}/ h3lix/v1/${fleet}/`;
  const out = [...new Set([site, ...zones])].flatMap((name) => [`topic ccf/+/${SITE_ORIGIN_PREFIX}${name} out 1 ${prefix}`, `topic state/${SITE_ORIGIN_PREFIX}${name} out 1 ${prefix}`]);
  return [`topic ccf/+/+ in 1 ${prefix}`, `topic state/+ in 1 ${prefix}`, ...out];
}

/**
 * Mosquitto bridge lines for a site broker (docs/sync.md, "Site brokers bridged to a fleet broker"):
 * every topic of the fleet, both ways, QoS 1, with a persistent session so that what a site publishes
 * while the uplink is down is delivered when it comes back, and `try_private` so that two Mosquittos do
 * not loop messages back. The daemons need nothing new: each talks to its site broker as before;
 * retained births and digests cross the bridge like any other message.
 */
export function mosquittoBridgeConf(o: BridgeOptions): string[] {
  if (!NAME.test(o.site)) throw new H3lixError('CLI_USAGE', `--site ${JSON.stringify(o.site)}: letters, digits, _ and - only (1-64)`);
  if (!NAME.test(o.fleet)) throw new H3lixError('CLI_USAGE', `fleet ${JSON.stringify(o.fleet)}: letters, digits, _ and - only`);
  if (!Number.isInteger(o.remotePort) || o.remotePort < 1 || o.remotePort > 65_535) throw new H3lixError('CLI_USAGE', `--remote port ${o.remotePort}: expected 1-65535`);
  if ((o.remoteUsername === undefined) !== (o.remotePassword === undefined)) throw new H3lixError('CLI_USAGE', 'give both the remote username and its password, or neither');
  if (o.tls && o.remoteUsername !== undefined) throw new H3lixError('CLI_USAGE', 'a TLS bridge logs in with its certificate: give no remote username');
  if (o.aggregate && !AGGREGATE_SITE.test(o.site)) throw new H3lixError('CLI_USAGE', `--site ${JSON.stringify(o.site)}: with --aggregate at most 59 of [A-Za-z0-9_-] (the site origin is ${SITE_ORIGIN_PREFIX}<site>)`);
  const zones = o.zoneOrigins ?? [];
  if (zones.length && !o.aggregate) throw new H3lixError('CLI_USAGE', '--zone-origin needs --aggregate');
  for (const z of zones) if (!AGGREGATE_SITE.test(z)) throw new H3lixError('CLI_USAGE', `--zone-origin ${JSON.stringify(z)}: at most 59 of [A-Za-z0-9_-] (the zone origin is ${SITE_ORIGIN_PREFIX}<zone>)`);
  return [
    `# h3lix site bridge: site ${o.site} -> fleet broker ${o.remoteHost}:${o.remotePort} (h3lix fleet bridge)`,
    `connection h3lix-${o.site}`,
    `address ${o.remoteHost}:${o.remotePort}`,
    `remote_clientid h3lix-bridge-${o.site}`,
    ...(o.remoteUsername !== undefined ? [`remote_username ${o.remoteUsername}`, `remote_password ${o.remotePassword}`] : []),
    // mosquitto.conf(5) bridge_cafile/bridge_certfile/bridge_keyfile; bridge_insecure stays false, so the
    // fleet broker's certificate must name the host in `address` (`fleet acl --tls <names>`).
    ...(o.tls ? [`bridge_cafile ${o.tls.cafile}`, `bridge_certfile ${o.tls.certfile}`, `bridge_keyfile ${o.tls.keyfile}`] : []),
    ...topicLines(o.fleet, o.site, o.aggregate === true, zones),
    'bridge_protocol_version mqttv311',
    'try_private true',
    'cleansession false',
    'notifications false',
    'restart_timeout 2 60',
    'keepalive_interval 30',
    '',
  ];
}

/**
 * The parent broker's ACL lines for a site bridge's user (Mosquitto acl_file syntax). `readwrite` on the
 * whole fleet tree is what `topic h3lix/v1/<fleet>/# both` needs: the bridge subscribes to `#` on the
 * fleet broker and republishes whatever its site's boards publish (deltas, digests, wants, births,
 * command replies, provisioning requests), and it carries every fleet topic down (revocations,
 * certificates, commands). Narrower lists would silently stop a topic class at the site boundary.
 */
export function bridgeAclLines(fleet: string, username: string): string[] {
  return [`user ${username}`, `topic readwrite h3lix/v1/${fleet}/#`, ''];
}

/**
 * The parent broker's ACL lines for a site-aggregate bridge's user: read on the CCF and presence tree
 * (what the `in` lines subscribe to), write on exactly the site origin's topics (what the `out` lines
 * republish). A recorded bridge user (`--fleet-dir`) keeps {@link bridgeAclLines}, which covers these.
 */
export function aggregateBridgeAclLines(fleet: string, site: string, username: string, zoneOrigins: readonly string[] = []): string[] {
  const root = `h3lix/v1/${fleet}/`;
  const writes = [...new Set([site, ...zoneOrigins])].flatMap((name) => [`topic write ${root}ccf/+/${SITE_ORIGIN_PREFIX}${name}`, `topic write ${root}state/${SITE_ORIGIN_PREFIX}${name}`]);
  return [`user ${username}`, `topic read ${root}ccf/+/+`, `topic read ${root}state/+`, ...writes, ''];
}
