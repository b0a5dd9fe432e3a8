import type { Clock } from '../../util/clock.js';

/** A connected client of {@link SimBroker}. */
export interface SimClient {
  readonly id: string;
  /** MQTT topic filters (`+` and `#` wildcards). */
  readonly filters: readonly string[];
  deliver(topic: string, payload: Uint8Array): void;
}

/** Per-client byte and message counts, MQTT PUBLISH packets as framed on the wire. */
export interface SimTraffic {
  sentBytes: number;
  sentMessages: number;
  receivedBytes: number;
  receivedMessages: number;
}

/**
 * Options of {@link SimBroker}.
 * - `clock`: the simulation clock. Required.
 * - `random`: loss and latency source. Required (seeded by the simulator).
 * - `latencyMs`: [min, max] one-way delivery delay, uniform. Default [20, 80].
 * - `loss`: probability that one delivery is lost (after QoS 1 gave up: an overloaded broker, a
 *   dropped session). Default 0.
 */
export interface SimBrokerOptions {
  clock: Clock;
  random: () => number;
  latencyMs?: readonly [number, number];
  loss?: number;
  /** Site of a client (a site broker bridged to the fleet broker). Default: one site. */
  siteOf?: (id: string) => number;
  /** Extra delay of a delivery that crosses a bridge (site broker → fleet broker → site broker). Default 30. */
  bridgeLatencyMs?: number;
  /** Publishes on matching topics are dropped at the broker (an ACL that denies them; tests' controls). */
  dropTopic?: RegExp;
  /**
   * Site aggregates (docs/sync.md "Site aggregates"): the broker a client is connected to, a site
   * number, or {@link FLEET_BROKER} for the fleet broker (the gateways' site origins). A publish on a
   * site broker stays on that site (no `out` bridge topics); a publish on the fleet broker reaches the
   * fleet broker's clients and, across every site's `in` bridge, every site's clients. Replaces
   * `siteOf` routing when given.
   */
  brokerOf?: (id: string) => number;
  /**
   * With `brokerOf`: the broker a broker is bridged under (zones of zones, docs/sync.md), undefined
   * for the fleet broker. A publish on broker b reaches b's clients and every broker below b, one
   * bridge hop (`bridgeLatencyMs`) per level. Default: every broker but the fleet broker is under
   * the fleet broker.
   */
  parentOf?: (broker: number) => number | undefined;
  /**
   * With `brokerOf`, TEST-ONLY control: every bridge carries everything both ways (the whole-tree
   * `topic h3lix/v1/<fleet>/# both` lines instead of the aggregate ones), so a publish on any broker
   * reaches every broker. Default false.
   */
  bridgeBoth?: boolean;
}

/** `brokerOf` value of a client of the fleet broker. */
export const FLEET_BROKER = -1;

/** Bytes of an MQTT 3.1.1 PUBLISH at QoS 1: fixed header, topic, packet id, payload. */
export function publishPacketBytes(topic: string, payloadBytes: number): number {
  const remaining = 2 + Buffer.byteLength(topic) + 2 + payloadBytes;
  const lenBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
  return 1 + lenBytes + remaining;
}

/** MQTT topic-filter match (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * An in-memory MQTT broker for fleet simulations: QoS 1 fan-out to every connected subscriber with a
 * random delay and loss, retained messages replayed on connect, clients that go offline (a
 * partition) miss what is published meanwhile (clean sessions, as the daemon's). It counts every
 * PUBLISH packet each client sends and receives, so bytes are measured on the traffic the real sync
 * code produced, not computed from sizes.
 */
export class SimBroker {
  private readonly o: SimBrokerOptions;
  private readonly clients = new Map<string, SimClient>();
  private readonly online = new Set<string>();
  private readonly byFilter = new Map<string, Set<string>>();
  private readonly retained = new Map<string, Uint8Array>();
  /** Site-aggregate routing: broker -> filter -> client ids, and broker -> retained topic -> payload. */
  private readonly byBroker = new Map<number, Map<string, Set<string>>>();
  private readonly retainedOn = new Map<number, Map<string, Uint8Array>>();
  /** Routed: broker -> [broker at or below it, bridge hops down to it]. */
  private readonly below = new Map<number, Array<readonly [number, number]>>();
  readonly traffic = new Map<string, SimTraffic>();
  /** Deliveries dropped by `loss`. */
  lost = 0;
  /** Copies that crossed a bridge link (one per publish and receiving site, as Mosquitto bridges forward). */
  readonly bridge = { messages: 0, bytes: 0 };

  constructor(o: SimBrokerOptions) {
    this.o = o;
  }

  private stats(id: string): SimTraffic {
    let s = this.traffic.get(id);
    if (!s) this.traffic.set(id, (s = { sentBytes: 0, sentMessages: 0, receivedBytes: 0, receivedMessages: 0 }));
    return s;
  }

  /** Register a client (offline until `connect`). */
  add(client: SimClient): void {
    this.clients.set(client.id, client);
    this.stats(client.id);
    for (const f of client.filters) {
      let set = this.byFilter.get(f);
      if (!set) this.byFilter.set(f, (set = new Set()));
      set.add(client.id);
    }
    if (this.o.brokerOf) {
      this.below.clear();
      const b = this.o.brokerOf(client.id);
      let m = this.byBroker.get(b);
      if (!m) this.byBroker.set(b, (m = new Map()));
      for (const f of client.filters) {
        let set = m.get(f);
        if (!set) m.set(f, (set = new Set()));
        set.add(client.id);
      }
    }
  }

  isOnline(id: string): boolean {
    return this.online.has(id);
  }

  /** Connect: the client then receives the retained messages matching its filters. */
  connect(id: string): void {
    const c = this.clients.get(id);
    if (!c || this.online.has(id)) return;
    this.online.add(id);
    if (this.o.brokerOf) {
      let hops = 0;
      for (let b: number | undefined = this.o.brokerOf(id); b !== undefined; b = this.parentOf(b), hops++) {
        for (const [topic, payload] of this.retainedOn.get(b) ?? []) if (c.filters.some((f) => topicMatches(f, topic))) this.schedule([id], topic, payload, hops * (this.o.bridgeLatencyMs ?? 30));
      }
      return;
    }
    for (const [topic, payload] of this.retained) {
      if (c.filters.some((f) => topicMatches(f, topic))) this.schedule([id], topic, payload);
    }
  }

  /** Online subscribers of `topic` on broker `b` (site-aggregate routing). */
  private subscribersOn(b: number, topic: string): string[] {
    const out: string[] = [];
    for (const [f, ids] of this.byBroker.get(b) ?? []) {
      if (!topicMatches(f, topic)) continue;
      for (const id of ids) if (this.online.has(id)) out.push(id);
    }
    return out;
  }

  private parentOf(b: number): number | undefined {
    return this.o.parentOf ? this.o.parentOf(b) : b === FLEET_BROKER ? undefined : FLEET_BROKER;
  }

  /** Brokers at or below `home` with the bridge hops down to each (cached until a client is added). */
  private brokersBelow(home: number): Array<readonly [number, number]> {
    let l = this.below.get(home);
    if (l) return l;
    l = [];
    for (const b of this.byBroker.keys()) {
      if (this.o.bridgeBoth) {
        l.push([b, b === home ? 0 : 1]);
        continue;
      }
      let hops = 0;
      for (let x: number | undefined = b; x !== undefined; x = this.parentOf(x), hops++) {
        if (x !== home) continue;
        l.push([b, hops]);
        break;
      }
    }
    this.below.set(home, l);
    return l;
  }

  private publishRouted(from: string, topic: string, payload: Uint8Array, retain: boolean): void {
    const home = this.o.brokerOf!(from);
    if (retain) {
      let m = this.retainedOn.get(home);
      if (!m) this.retainedOn.set(home, (m = new Map()));
      m.set(topic, payload);
    }
    // nothing is bridged up (no `out` topics but the zone origin, which publishes on its parent)
    const byHops = new Map<number, string[]>();
    for (const [b, hops] of this.brokersBelow(home)) {
      const to = this.subscribersOn(b, topic);
      if (!to.length) continue;
      if (hops > 0) {
        this.bridge.messages++;
        this.bridge.bytes += publishPacketBytes(topic, payload.length);
      }
      let l = byHops.get(hops);
      if (!l) byHops.set(hops, (l = []));
      for (const id of to) l.push(id);
    }
    for (const [hops, to] of byHops) this.schedule(to, topic, payload, hops * (this.o.bridgeLatencyMs ?? 30));
  }

  disconnect(id: string): void {
    this.online.delete(id);
  }

  /** Publish from a connected client; false when it is offline (the caller keeps the message). */
  publish(from: string, topic: string, payload: Uint8Array, retain: boolean): boolean {
    if (!this.online.has(from)) return false;
    const s = this.stats(from);
    s.sentBytes += publishPacketBytes(topic, payload.length);
    s.sentMessages++;
    if (this.o.dropTopic?.test(topic)) return true;
    if (this.o.brokerOf) {
      this.publishRouted(from, topic, payload, retain);
      return true;
    }
    if (retain) this.retained.set(topic, payload);
    const to = new Set<string>();
    for (const [f, ids] of this.byFilter) {
      if (!topicMatches(f, topic)) continue;
      for (const id of ids) if (this.online.has(id)) to.add(id);
    }
    const siteOf = this.o.siteOf;
    if (!siteOf) this.schedule([...to], topic, payload);
    else {
      const home = siteOf(from);
      const local: string[] = [];
      const remote: string[] = [];
      const sites = new Set<number>();
      for (const id of to) {
        const site = siteOf(id);
        if (site === home) local.push(id);
        else {
          remote.push(id);
          sites.add(site);
        }
      }
      this.bridge.messages += sites.size;
      this.bridge.bytes += sites.size * publishPacketBytes(topic, payload.length);
      this.schedule(local, topic, payload);
      this.schedule(remote, topic, payload, this.o.bridgeLatencyMs ?? 30);
    }
    return true;
  }

  private schedule(to: string[], topic: string, payload: Uint8Array, extraMs = 0): void {
    if (!to.length) return;
    const [lo, hi] = this.o.latencyMs ?? [20, 80];
    const delay = Math.round(extraMs + lo + this.o.random() * (hi - lo));
    const loss = this.o.loss ?? 0;
    const keep = loss > 0 ? to.filter(() => (this.o.random() < loss ? (this.lost++, false) : true)) : to;
    if (!keep.length) return;
    this.o.clock.setTimeout(() => {
      const bytes = publishPacketBytes(topic, payload.length);
      for (const id of keep) {
        if (!this.online.has(id)) continue; // went offline in flight
        const s = this.stats(id);
        s.receivedBytes += bytes;
        s.receivedMessages++;
        this.clients.get(id)!.deliver(topic, payload);
      }
    }, delay);
  }
}
