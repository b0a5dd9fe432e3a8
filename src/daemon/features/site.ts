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

/** `site.keys` as pinned site-origin keys; a gateway pins its own site to its own key. */
function pinnedKeys(config: H3lixConfig, self: Uint8Array): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  for (const [site, b64] of Object.entries(config.site.keys)) m.set(siteOrigin(site), new Uint8Array(Buffer.from(b64, 'base64')));
  if (config.site.gateway) m.set(siteOrigin(config.site.name!), self);
  return m;
}

/** The node segment of a sync topic (`…/ccf/<kind>/<node>`, `…/state/<node>`). */
function topicNode(topic: string): string {
  return topic.slice(topic.lastIndexOf('/') + 1);
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
    let stopSync: (() => Promise<void>) | undefined;
    let timer: TimerHandle | undefined;
    let stopped = false;
    return {
      name: 'site',
      start: async () => {
        const value = (key: string, accept: (o: string) => boolean) => ctx.field.value(key, ctx.clock.now(), accept);
        handles.site = {
          origin,
          siteOrigins: () => ctx.field.origins().filter(isSiteOrigin),
          fleetValue: (key) => value(key, isSiteOrigin),
          siteValue: (key) => value(key, (o) => !isSiteOrigin(o)),
        };
        if (!config.site.gateway) return;
        // The site origin's field, restored from what the board field already holds of it (the site
        // broker echoed it back), so that a restarted gateway continues its versions.
        const target = new CcfField({ nodeId: origin, clock: ctx.clock, config: config.ccf, quantization: config.sync.quantization, logger: moduleLogger(ctx.logger, 'site-ccf') });
        const own = ctx.field.contributions().filter((c) => c.origin === origin);
        target.restore(own, own.reduce((m, c) => Math.max(m, c.version), 0));
        const inbound = new TypedEvents<TransportEvents>();
        const offs = [
          ctx.inbound.on('message', (t, p) => (isSiteOrigin(topicNode(t)) ? inbound.emit('message', t, p) : undefined)),
          ctx.inbound.on('status', (s, r) => inbound.emit('status', s, r)),
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
        const aggregator = new SiteAggregator({ source: ctx.field, target, clock: ctx.clock, quantization: config.sync.quantization });
        await sync.start();
        stopSync = async () => {
          for (const off of offs) off();
          await sync.stop();
        };
        const run = (): number => {
          const n = aggregator.aggregate();
          if (n) log.debug({ origin, keys: n }, 'site value published');
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
        handles.site.gateway = { sync, aggregate: run };
        log.info({ origin, everyMs: config.site.aggregateEveryMs }, 'site gateway started');
      },
      stop: async () => {
        stopped = true;
        if (timer !== undefined) ctx.clock.clearTimeout(timer);
        await stopSync?.();
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
