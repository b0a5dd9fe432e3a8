import { H3lixError } from '../errors.js';
import type { BrokerAuthHooks, EmbeddedBroker } from '../sync/embedded-broker.js';
import type { KeyResolver } from '../sync/key-resolver.js';
import type { ClientTls } from '../sync/tls.js';
import type { Feature, FeatureFactory } from './feature.js';

/** Called for every inbound message before the sync feature sees it (demo chaos, fleet filters). */
export type InboundFilter = (topic: string, payload: Buffer, deliver: (topic: string, payload: Buffer) => void) => void;

/** How this node logs in to its broker; extra clients of the node (instance, status) use the same. */
export interface BrokerLogin {
  /** Connect here instead of `broker.url` / the embedded broker. */
  url?: string;
  /**
   * Username and password for the connection with client id `clientId`, re-read before every
   * (re)connect; overrides `broker.username/password`.
   */
  credentials?: (clientId: string) => { username: string; password: string };
  /** Client TLS for an `mqtts://` broker, re-read before every (re)connect; overrides the `broker.tls` files. */
  tls?: () => ClientTls | undefined;
}

/**
 * What a feature contributes to the daemon's core before the core starts (docs/daemon.md "Plugs"):
 * the core has fixed seams (broker authentication, broker login, subscriptions, an inbound stage,
 * sender trust, origins excluded from the field) and knows nothing about what fills them. Fleet mode
 * fills them with certificates and tokens (src/daemon/features/fleet.ts); the demo with a reordering
 * stage. Every member is optional.
 * - `brokerAuth`: aedes authenticate/authorize hooks for the embedded broker.
 * - `broker`: an embedded broker the feature already started (fleet gateway boot: it served
 *   provisioning), adopted instead of one built from `broker.embedded`; the daemon owns it from then
 *   on and stops it, also when start() fails.
 * - `login`: see BrokerLogin.
 * - `subscriptions`: topics beyond the sync topics, subscribed by the daemon's transport.
 * - `inbound`: a stage every inbound message passes before sync (stages chain in feature order).
 * - `keys(self)`: sender key resolution; default open mode (keys from births, self-certifying ids).
 * - `excludeOrigin(origin)`: origins that must not count in the field (`CcfFieldOptions.exclude`).
 */
export interface CorePlug {
  readonly name: string;
  brokerAuth?: BrokerAuthHooks;
  broker?: EmbeddedBroker;
  login?: BrokerLogin;
  subscriptions?: readonly string[];
  inbound?: InboundFilter;
  keys?: (self: { nodeId: string; publicKey: Uint8Array }) => KeyResolver;
  excludeOrigin?: (origin: string) => boolean;
}

/** A feature factory that also plugs into the core (the daemon reads `plug` before the core starts). */
export type PluggedFactory = FeatureFactory & { readonly plug: CorePlug };

/** Attach a core plug to a feature factory. */
export function withPlug(factory: FeatureFactory, plug: CorePlug): PluggedFactory {
  return Object.assign((ctx: Parameters<FeatureFactory>[0]) => factory(ctx), { plug });
}

/** A feature that only plugs into the core and does nothing once started (e.g. the demo's reordering stage). */
export function plugOnly(plug: CorePlug): PluggedFactory {
  const idle: Feature = { name: plug.name, start: () => Promise.resolve(), stop: () => Promise.resolve() };
  return withPlug(() => idle, plug);
}

/** The core's seams after every plug was applied. */
export interface ResolvedPlugs {
  brokerAuth?: BrokerAuthHooks;
  broker?: EmbeddedBroker;
  login: BrokerLogin;
  subscriptions: string[];
  inbound?: InboundFilter;
  keys?: CorePlug['keys'];
  excludeOrigin?: (origin: string) => boolean;
  /** Which plug filled each single seam (for the start log). */
  owners: Record<string, string>;
}

/**
 * Combine the plugs of `features` in order. Subscriptions add up and inbound stages chain (the first
 * feature's stage sees a message first); every other seam takes one plug: a second one is a
 * composition error (`CONFIG_INVALID`, naming both), never a silent override.
 */
export function resolvePlugs(features: readonly FeatureFactory[]): ResolvedPlugs {
  const out: ResolvedPlugs = { login: {}, subscriptions: [], owners: {} };
  const stages: InboundFilter[] = [];
  const claim = (seam: string, name: string): void => {
    const had = out.owners[seam];
    if (had !== undefined) throw new H3lixError('CONFIG_INVALID', `daemon composition: features '${had}' and '${name}' both fill the core seam '${seam}'`);
    out.owners[seam] = name;
  };
  for (const f of features) {
    const p = (f as Partial<PluggedFactory>).plug;
    if (!p) continue;
    const one = <K extends keyof ResolvedPlugs>(seam: string, key: K, value: ResolvedPlugs[K] | undefined): void => {
      if (value === undefined) return;
      claim(seam, p.name);
      out[key] = value;
    };
    one('brokerAuth', 'brokerAuth', p.brokerAuth);
    one('broker', 'broker', p.broker);
    one('keys', 'keys', p.keys);
    one('excludeOrigin', 'excludeOrigin', p.excludeOrigin);
    const login = p.login ?? {};
    for (const k of ['url', 'credentials', 'tls'] as const) {
      if (login[k] === undefined) continue;
      claim(`login.${k}`, p.name);
      Object.assign(out.login, { [k]: login[k] });
    }
    if (p.subscriptions) out.subscriptions.push(...p.subscriptions);
    if (p.inbound) stages.push(p.inbound);
  }
  if (stages.length === 1) out.inbound = stages[0];
  else if (stages.length > 1) out.inbound = chain(stages);
  return out;
}

function chain(stages: InboundFilter[]): InboundFilter {
  return (topic, payload, deliver) => {
    const step = (i: number, t: string, p: Buffer): void => {
      if (i === stages.length) deliver(t, p);
      else stages[i]!(t, p, (t2, p2) => step(i + 1, t2, p2));
    };
    step(0, topic, payload);
  };
}
