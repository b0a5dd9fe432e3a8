import { CcfField } from '../../ccf/field.js';
import type { H3lixConfig } from '../../config/schema.js';
import { nodeIdFromPublicKey } from '../../crypto/node-id.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { SiteAggregator, isSiteOrigin, siteOrigin } from '../site-aggregate.js';
import { FLEET_BROKER } from './sim-broker.js';
import { SimNode, simKeyPair } from './sim-node.js';

type NodeArgs = Omit<ConstructorParameters<typeof SimNode>[0], 'index' | 'id' | 'siteKeys'>;

/** Broker number of zone `j` at tree level `level` (0 = the site brokers the boards use). */
function brokerNumber(level: number, j: number): number {
  return level === 0 ? j : level * 1_000_000 + j;
}

/** The zone origin standing for zone `j` of level `level`: `site-s<j>` for a site, `site-z<level>-<j>` above. */
function zoneOrigin(level: number, j: number): string {
  return siteOrigin(level === 0 ? `s${j}` : `z${level}-${j}`);
}

/** Tree level of a zone origin (0 for `site-s…`), or -1 for a board. */
export function zoneLevel(origin: string): number {
  if (!isSiteOrigin(origin)) return -1;
  const m = /^site-z(\d+)-/.exec(origin);
  return m ? Number(m[1]) : 0;
}

/** One zone of the tree: its level, index, origin node, aggregator and broker. */
interface Zone {
  level: number;
  j: number;
  node: SimNode;
  aggregator: SiteAggregator;
}

/**
 * The zone tree of a simulated fleet with aggregates (docs/sync.md "Zones of zones"): board i on site
 * i mod S, sites grouped `fanout` to a level-1 broker (site j under level-1 broker j mod c₁), those
 * `fanout` to a level-2 broker, and so on until one fleet broker. Zone j of level ℓ has an origin
 * (`site-s<j>` for ℓ = 0, `site-z<ℓ>-<j>` above) signed with board j's key and fed by a
 * {@link SiteAggregator} on board j: its members are zone j's children (the site's boards for ℓ = 0,
 * the level-(ℓ−1) zone origins on its broker above). The origin publishes on the parent's broker, so
 * it reaches every board under the parent. A board ends up holding its site's boards and, on each
 * level, its zone's siblings: about fanout × levels origins. With `fanout` ≥ S the tree is the
 * two-level one (sites under the fleet broker).
 */
export class SimSites {
  readonly boards: SimNode[] = [];
  readonly zones: Zone[] = [];
  /** Site counts per level, c₀ = S down to the last level under the fleet broker. */
  readonly counts: number[];
  private readonly byGateway = new Map<SimNode, SimNode[]>();
  private readonly homeOf = new Map<SimNode, number>();
  private readonly scopes = new Map<SimNode, string[]>();
  private readonly timers = new Map<Zone, TimerHandle>();

  constructor(
    readonly n: number,
    readonly sites: number,
    private readonly clock: Clock,
    private readonly everyMs: number,
    private readonly random: () => number,
    unsafeNoRobust: boolean,
    makeArgs: () => NodeArgs,
    /** Called with each client's id and broker before the client is added to the broker. */
    register: (id: string, broker: number) => void,
    fanout = Infinity,
  ) {
    if (!(fanout >= 2)) throw new RangeError(`zone fanout must be at least 2, got ${fanout}`);
    if (sites > n) throw new RangeError(`${sites} sites for ${n} boards: each site needs a gateway board`);
    this.counts = [sites];
    while (this.counts[this.counts.length - 1]! > fanout) this.counts.push(Math.ceil(this.counts[this.counts.length - 1]! / fanout));
    const args = makeArgs();
    const siteKeys = new Map<string, Uint8Array>();
    this.counts.forEach((c, level) => {
      for (let j = 0; j < c; j++) siteKeys.set(zoneOrigin(level, j), simKeyPair(args.seed, j).publicKey);
    });
    const onBroker = new Map<number, string[]>();
    const add = (id: string, b: number, make: () => SimNode): SimNode => {
      register(id, b);
      const node = make();
      this.homeOf.set(node, b);
      let l = onBroker.get(b);
      if (!l) onBroker.set(b, (l = []));
      l.push(id);
      return node;
    };
    for (let i = 0; i < n; i++) this.boards.push(add(nodeIdFromPublicKey(simKeyPair(args.seed, i).publicKey), i % sites, () => new SimNode({ ...args, index: i, siteKeys })));
    this.counts.forEach((c, level) => {
      for (let j = 0; j < c; j++) {
        const id = zoneOrigin(level, j);
        // the origin publishes on its parent's broker
        const node = add(id, this.parentOf(brokerNumber(level, j))!, () => new SimNode({ ...args, index: j, id, siteKeys }));
        const members = level === 0 ? (o: string) => !isSiteOrigin(o) : (o: string) => zoneLevel(o) === level - 1;
        this.zones.push({ level, j, node, aggregator: new SiteAggregator({ source: this.boards[j]!.field, target: node.field, clock, members, unsafeNoRobust }) });
        const gw = this.boards[j]!;
        this.byGateway.set(gw, [...(this.byGateway.get(gw) ?? []), node]);
      }
    });
    // a client's scope: what is published on its broker and on every broker above it
    const ancestors = (b: number): number[] => {
      const out: number[] = [];
      for (let x: number | undefined = b; x !== undefined; x = this.parentOf(x)) out.push(x);
      return out;
    };
    const scopeOf = new Map<number, string[]>();
    for (const node of this.all()) {
      const b = this.homeOf.get(node)!;
      let s = scopeOf.get(b);
      if (!s) scopeOf.set(b, (s = ancestors(b).flatMap((x) => onBroker.get(x) ?? [])));
      this.scopes.set(node, s);
    }
  }

  /**
   * Children per aggregation step, [min, max]: boards per site, then per level the child origins of
   * each zone, and last the top level's origins (the boards' fleet value). The robustness bound takes
   * s = max(ccf.maxOriginShare, 1/children) at each step (docs/sync.md "Zones of zones").
   */
  children(): Array<[number, number]> {
    const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
    const perSite = Array.from({ length: this.sites }, (_, j) => Math.floor(this.n / this.sites) + (j < this.n % this.sites ? 1 : 0));
    const out = [range(perSite)];
    for (let level = 1; level < this.counts.length; level++) {
      const c = this.counts[level]!;
      const below = this.counts[level - 1]!;
      out.push(range(Array.from({ length: c }, (_, j) => Math.floor(below / c) + (j < below % c ? 1 : 0))));
    }
    const top = this.counts[this.counts.length - 1]!;
    out.push([top, top]);
    return out;
  }

  /** Levels of zone origins (1: sites under the fleet broker). */
  get levels(): number {
    return this.counts.length;
  }

  /** The broker above broker `b` (undefined for the fleet broker). */
  parentOf(b: number): number | undefined {
    if (b === FLEET_BROKER) return undefined;
    const level = b < 1_000_000 ? 0 : Math.floor(b / 1_000_000);
    const j = b % 1_000_000;
    return level === this.counts.length - 1 ? FLEET_BROKER : brokerNumber(level + 1, j % this.counts[level + 1]!);
  }

  /** Index of the zone under the fleet broker that board `i` belongs to (its site with one level). */
  topZoneOfBoard(i: number): number {
    let j = i % this.sites;
    for (let level = 1; level < this.counts.length; level++) j %= this.counts[level]!;
    return j;
  }

  /** Origins each board holds beyond its scope (0 when the routing is right), and the most any holds. */
  originStats(): { outOfScope: number; maxPerBoard: number; meanPerBoard: number } {
    let outOfScope = 0;
    let max = 0;
    let total = 0;
    for (const b of this.boards) {
      const scope = new Set(this.scope(b));
      const held = b.field.origins();
      for (const o of held) if (!scope.has(o)) outOfScope++;
      max = Math.max(max, held.length);
      total += held.length;
    }
    return { outOfScope, maxPerBoard: max, meanPerBoard: total / this.boards.length };
  }

  /** Every participant (boards, then zone origins). */
  all(): SimNode[] {
    return [...this.boards, ...this.zones.map((z) => z.node)];
  }

  /** Origins `node` must hold. */
  scope(node: SimNode): string[] {
    return this.scopes.get(node)!;
  }

  /** Start the zone origins and their aggregation timers (random phase). */
  start(): void {
    for (const z of this.zones) {
      void z.node.sync.start();
      z.node.connect();
    }
    for (const z of this.zones) {
      const tick = () => {
        z.aggregator.aggregate();
        this.timers.set(z, this.clock.setTimeout(tick, this.everyMs));
      };
      this.timers.set(z, this.clock.setTimeout(tick, this.random() * this.everyMs));
    }
  }

  /**
   * Stop the periodic aggregation timers. The quiet phase then aggregates level by level
   * ({@link aggregateLevel}): each zone once, after its children's final values arrived, which is
   * what the timers do in one period per level but without waiting those periods out.
   */
  stopTimers(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
  }

  /** Aggregate every zone of `level` now. */
  aggregateLevel(level: number): void {
    for (const z of this.zones) if (z.level === level) z.aggregator.aggregate();
  }

  /** Aggregate every level once more, bottom up; true when no zone origin's version moved. */
  reaggregateChangesNothing(): boolean {
    const before = this.zones.map((z) => z.node.field.localVersion());
    for (let level = 0; level < this.levels; level++) this.aggregateLevel(level);
    return this.zones.every((z, i) => z.node.field.localVersion() === before[i]);
  }

  /** The zone origins board `b` is the gateway of (its fleet links go down with it). */
  zoneNodesOfGateway(b: SimNode): SimNode[] {
    return this.byGateway.get(b) ?? [];
  }

  /** True for an origin the fleet value is taken over: the zones directly under the fleet broker. */
  isTop(origin: string): boolean {
    return zoneLevel(origin) === this.counts.length - 1;
  }

  /**
   * Why {@link agreed} is false, for the progress log: the first broker whose clients hold different
   * digests, how many differ, and the origins whose versions differ between two of them
   * (`origin: a/b`, at most 5). Undefined when every broker agrees.
   */
  disagreement(): string | undefined {
    const m = this.firstMismatch();
    if (!m) return undefined;
    const [b, seen, node] = m;
    const clients = this.all().filter((n) => this.homeOf.get(n) === b);
    const distinct = new Set(clients.map((n) => n.field.digest())).size;
    const [va, vb] = [seen.field.versionVector(), node.field.versionVector()];
    const diff = [...new Set([...Object.keys(va), ...Object.keys(vb)])].filter((o) => va[o] !== vb[o]);
    const shown = diff.slice(0, 5).map((o) => `${o}: ${va[o] ?? '-'}/${vb[o] ?? '-'}`);
    return `broker ${b}: ${distinct} digests among ${clients.length} clients; ${seen.id} vs ${node.id} differ in ${diff.length} origins${shown.length ? ` (${shown.join(', ')})` : ' (same versions: values differ)'}`;
  }

  /** One field digest among the clients of each broker (they share one scope). */
  agreed(): boolean {
    return this.firstMismatch() === undefined;
  }

  /** The first broker with two clients on different digests, and those two clients. */
  private firstMismatch(): [number, SimNode, SimNode] | undefined {
    const first = new Map<number, [SimNode, string]>();
    for (const node of this.all()) {
      const b = this.homeOf.get(node)!;
      const x = node.field.digest();
      const seen = first.get(b);
      if (!seen) first.set(b, [node, x]);
      else if (seen[1] !== x) return [b, seen[0], node];
    }
    return undefined;
  }
}

/**
 * The fully replicated field's value against each board's: a reference field holding every board's
 * own contributions, its robust value per key, and the largest coordinate difference of any board's
 * value (`accept` picks the origins a board's value uses: site origins with aggregates).
 */
export function valueCheck(boards: SimNode[], keys: string[], ccf: H3lixConfig['ccf'], clock: Clock, accept?: (origin: string) => boolean): { maxError: number; maxSpread: number; reference: Record<string, number[]>; atFirst: Record<string, number[]> } {
  const ref = new CcfField({ nodeId: 'reference', clock, config: ccf, quantization: 'int8' });
  for (const b of boards) ref.merge(keys.map((k) => b.field.get(b.id, k)).filter((c) => c !== undefined));
  const now = clock.now();
  let maxError = 0;
  let maxSpread = 0;
  const reference: Record<string, number[]> = {};
  const atFirst: Record<string, number[]> = {};
  for (const k of keys) {
    const r = ref.value(k, now);
    if (!r) continue;
    reference[k] = [...r];
    const lo = Float64Array.from(r, () => Infinity);
    const hi = Float64Array.from(r, () => -Infinity);
    for (const b of boards) {
      const v = b.field.value(k, now, accept ? (o) => accept(o) : undefined);
      if (!v || v.length !== r.length) {
        maxError = Infinity;
        continue;
      }
      if (b === boards[0]) atFirst[k] = [...v];
      for (let i = 0; i < r.length; i++) {
        maxError = Math.max(maxError, Math.abs(v[i]! - r[i]!));
        lo[i] = Math.min(lo[i]!, v[i]!);
        hi[i] = Math.max(hi[i]!, v[i]!);
      }
    }
    for (let i = 0; i < r.length; i++) maxSpread = Math.max(maxSpread, hi[i]! - lo[i]!);
  }
  return { maxError, maxSpread, reference, atFirst };
}
