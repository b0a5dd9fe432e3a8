import type { H3lixConfig } from '../../config/schema.js';
import { ReplayGuard } from '../../ccf/codec/replay.js';
import { CcfField } from '../../ccf/field.js';
import { SeqStore } from '../../store/seq-store.js';
import { CcfSync } from '../../sync/ccf-sync.js';
import { OpenKeyResolver, type KeyResolver } from '../../sync/key-resolver.js';
import { isSiteOrigin, SiteAggregator, SiteKeyResolver, siteOrigin } from '../../sync/site-aggregate.js';
import type { TransportEvents } from '../../sync/transport.js';
import { TypedEvents } from '../../util/events.js';
import type { TimerHandle } from '../../util/clock.js';
import { moduleLogger } from '../../util/logger.js';
import { withPlug, type PluggedFactory } from '../core-plug.js';
import type { DaemonContext, Feature } from '../feature.js';
import type { FeatureHandles } from './handles.js';

/** `site.keys` as pinned site-origin keys; a gateway pins its own site (and zones) to its own key. */
function pinnedKeys(config: H3lixConfig, self: Uint8Array): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (const [site, b64] of Object.entries(config.site.keys)) m.set(siteOrigin(site), new Uint8Array(Buffer.from(b64, 'base64')));
  if (config.site.gateway) m.set(siteOrigin(config.site.name!), self);
  for (const zone of config.site.zones) if (zone.gateway) m.set(siteOrigin(zone.name), self);
  return m;
}

/** The node segment of a sync topic (`…/ccf/<kind>/<node>`, `…/state/<node>`). */
function topicNode(topic: string): string {
  return topic.slice(topic.lastIndexOf('/') + 1);
}

/**
 * One level of this board's chain (the site, then each zone above it): its origin, the origins it
 * aggregates (`members`), and the origins it syncs with (`peers`: the other members of the zone above,
 * or at the top level every site origin not listed in the chain's zones).
 */
interface Level {
  origin: string;
  gateway: boolean;
  members: (origin: string) => boolean;
  peers: (origin: string) => boolean;
}

/** The chain of a board: site, zones (docs/sync.md "Zones of zones"); `top` accepts the top level's origins. */
export function siteChain(site: H3lixConfig['site']): { levels: Level[]; top: (origin: string) => boolean } {
  const zones = site.zones;
  const lower = new Set(zones.flatMap((z) => z.members.map(siteOrigin)));
  const top = (o: string) => isSiteOrigin(o) && !lower.has(o);
  const names = [site.name!, ...zones.map((z) => z.name)];
  const levels = names.map((name, i): Level => {
    const below = i === 0 ? undefined : new Set(zones[i - 1]!.members.map(siteOrigin));
    const above = i < zones.length ? new Set(zones[i]!.members.map(siteOrigin)) : undefined;
    return {
      origin: siteOrigin(name),
      gateway: i === 0 ? site.gateway : zones[i - 1]!.gateway,
      members: below ? (o) => below.has(o) : (o) => !isSiteOrigin(o),
      peers: above ? (o) => above.has(o) : top,
    };
  });
  return { levels, top };
}

/**
 * A gateway's origin for one level: its own field (restored from what the board field holds of it,
 * so a restarted gateway continues its versions), a SiteAggregator over the board field, and a second
 * CcfSync signed with the board's key that takes only its peers' messages.
 */
async function startLevel(ctx: DaemonContext, config: H3lixConfig, level: Level): Promise<{ sync: CcfSync; aggregate: () => number; held: () => string[]; stop: () => Promise<void> }> {
  const { origin } = level;
  const target = new CcfField({ nodeId: origin, clock: ctx.clock, config: config.ccf, quantization: config.sync.quantization, logger: moduleLogger(ctx.logger, 'site-ccf') });
  const own = ctx.field.contributions().filter((c) => c.origin === origin);
  target.restore(own, own.reduce((m, c) => Math.max(m, c.version), 0));
  const inbound = new TypedEvents<TransportEvents>();
  const offs = [
    ctx.inbound.on('message', (t, p) => (level.peers(topicNode(t)) || topicNode(t) === origin ? inbound.emit('message', t, p) : undefined)),
    ctx.inbound.on('status', (st, r) => inbound.emit('status', st, r)),
  ];
  const noBoards: KeyResolver = { resolve: () => undefined };
  const sync = new CcfSync({
    nodeId: origin,
    fleet: ctx.fleet,
    field: target,
    signer: ctx.signer,
    clock: ctx.clock,
    outbox: ctx.outbox,
    kick: () => ctx.pump.kick(),
    seq: new SeqStore({ store: ctx.store, sender: origin }),
    replay: new ReplayGuard(),
    keys: new SiteKeyResolver(noBoards, pinnedKeys(config, ctx.identity.signing.publicKey)),
    transport: { events: inbound },
    debounceMs: config.sync.debounceMs,
    digestIntervalMs: config.sync.digestIntervalMs,
    maxMessageBytes: config.sync.maxMessageBytes,
    quantization: config.sync.quantization,
    jitterMs: config.sync.antiEntropyJitterMs,
    answerBudgetBytesPerMinute: config.sync.answerBudgetBytesPerMinute,
    logger: moduleLogger(ctx.logger, 'site-sync'),
  });
  const aggregator = new SiteAggregator({ source: ctx.field, target, clock: ctx.clock, members: level.members, quantization: config.sync.quantization });
  await sync.start();
  return {
    sync,
    aggregate: () => aggregator.aggregate(),
    held: () => target.origins(),
    stop: async () => {
      for (const off of offs) off();
      await sync.stop();
    },
  };
}

/**
 * Site aggregates in the daemon (docs/sync.md "Site aggregates", `site:` config). The core plug pins
 * the site origins' keys (`site.keys`; a `site-*` sender is never learned from presence). Every board
 * exposes the fleet value (robust value over the site origins) in `handles.site`. On the gateway
 * (`site.gateway`), a SiteAggregator over the board field (its site's boards: the bridge keeps other
 * sites' boards off the site broker) contributes every `site.aggregateEveryMs` to the site origin's
 * field, synced by a second CcfSync signed with the board's key, sent through the daemon's outbox to
 * the site broker; the bridge's `out` lines carry exactly those topics to the fleet broker.
 */
export function siteFeature(config: H3lixConfig, handles: FeatureHandles): PluggedFactory {
  const factory = (ctx: DaemonContext): Feature => {
    const log = moduleLogger(ctx.logger, 'site');
    const origin = siteOrigin(config.site.name!);
    const chain = siteChain(config.site);
    const stops: Array<() => Promise<void>> = [];
    let timer: TimerHandle | undefined;
    let stopped = false;
    return {
      name: 'site',
      start: async () => {
        const value = (key: string, accept: (o: string) => boolean) => ctx.field.value(key, ctx.clock.now(), accept);
        handles.site = {
          origin,
          siteOrigins: () => ctx.field.origins().filter(isSiteOrigin),
          fleetValue: (key) => value(key, chain.top),
          siteValue: (key) => value(key, (o) => !isSiteOrigin(o)),
        };
        const running: Array<{ origin: string } & Omit<Awaited<ReturnType<typeof startLevel>>, 'stop'>> = [];
        try {
          for (const level of chain.levels.filter((l) => l.gateway)) {
            const r = await startLevel(ctx, config, level);
            stops.push(r.stop);
            running.push({ origin: level.origin, sync: r.sync, aggregate: r.aggregate, held: r.held });
          }
        } catch (err) {
          // the daemon stops only features that started: stop the levels already running
          for (const stop of stops.splice(0)) await stop().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'stopping a started site level failed'));
          throw err;
        }
        if (!running.length) return;
        // one run aggregates every level this board publishes, bottom-up; a zone sees its site's new value
        // once the site broker echoed it into the board field (the next run)
        const run = (): number => {
          let n = 0;
          for (const r of running) {
            const k = r.aggregate();
            if (k) log.debug({ origin: r.origin, keys: k }, 'site value published');
            n += k;
          }
          return n;
        };
        const tick = (): void => {
          if (stopped) return;
          try {
            run();
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'site aggregation failed');
          }
          timer = ctx.clock.setTimeout(tick, config.site.aggregateEveryMs);
        };
        timer = ctx.clock.setTimeout(tick, config.site.aggregateEveryMs);
        const site = running.find((r) => r.origin === origin);
        handles.site.gateway = { sync: (site ?? running[0]!).sync, aggregate: run, origins: running.map((r) => ({ origin: r.origin, sync: r.sync, held: r.held })) };
        log.info({ origins: running.map((r) => r.origin), everyMs: config.site.aggregateEveryMs }, 'site gateway started');
      },
      stop: async () => {
        stopped = true;
        if (timer !== undefined) ctx.clock.clearTimeout(timer);
        for (const stop of stops.splice(0)) await stop();
        handles.site = undefined;
      },
    };
  };
  return withPlug(factory, {
    name: 'site',
    // Open mode for boards (self-certifying ids); site origins only with their pinned key.
    keys: (self) => new SiteKeyResolver(new OpenKeyResolver({ self: { node: self.nodeId, publicKey: self.publicKey } }), pinnedKeys(config, self.publicKey)),
  });
}
