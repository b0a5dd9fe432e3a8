import { CcfField } from '../../ccf/field.js';
import type { H3lixConfig } from '../../config/schema.js';
import { nodeIdFromPublicKey } from '../../crypto/node-id.js';
import type { Clock } from '../../util/clock.js';
import { SiteAggregator, isSiteOrigin, siteOrigin } from '../site-aggregate.js';
import { FLEET_BROKER } from './sim-broker.js';
import { SimNode, simKeyPair } from './sim-node.js';

type NodeArgs = Omit<ConstructorParameters<typeof SimNode>[0], 'index' | 'id' | 'siteKeys'>;

/**
 * The site-aggregate topology of a simulated fleet: board i on site i mod S, board s is site s's
 * gateway, and each site has a site origin `site-s<s>` on the fleet broker, signed with its gateway's
 * key and fed by a {@link SiteAggregator} over the gateway's board field every `everyMs`.
 */
export class SimSites {
  readonly boards: SimNode[] = [];
  readonly siteNodes: SimNode[] = [];
  readonly aggregators: SiteAggregator[] = [];
  /** Board ids of each site, and the origins each participant must end up holding. */
  private readonly siteBoardIds: string[][] = [];
  private readonly scopes = new Map<SimNode, string[]>();
  readonly brokerOfIndex: (i: number) => number;

  constructor(
    readonly n: number,
    readonly sites: number,
    private readonly clock: Clock,
    private readonly everyMs: number,
    private readonly random: () => number,
    unsafeNoRobust: boolean,
    makeArgs: () => NodeArgs,
    register: (id: string, broker: number) => void,
  ) {
    this.brokerOfIndex = (i) => i % sites;
    const args = makeArgs();
    const siteKeys = new Map<string, Uint8Array>();
    for (let s = 0; s < sites; s++) siteKeys.set(siteOrigin(`s${s}`), simKeyPair(args.seed, s).publicKey);
    for (let s = 0; s < sites; s++) this.siteBoardIds.push([]);
    for (let i = 0; i < n; i++) {
      const id = nodeIdFromPublicKey(simKeyPair(args.seed, i).publicKey);
      register(id, i % sites);
      const b = new SimNode({ ...args, index: i, siteKeys });
      this.boards.push(b);
      this.siteBoardIds[i % sites]!.push(b.id);
    }
    for (let s = 0; s < sites; s++) {
      const id = siteOrigin(`s${s}`);
      register(id, FLEET_BROKER);
      const node = new SimNode({ ...args, index: s, id, siteKeys });
      this.siteNodes.push(node);
      this.aggregators.push(new SiteAggregator({ source: this.boards[s]!.field, target: node.field, clock, members: (o) => !isSiteOrigin(o), unsafeNoRobust }));
    }
    const siteIds = this.siteNodes.map((x) => x.id);
    this.boards.forEach((b, i) => this.scopes.set(b, [...this.siteBoardIds[i % sites]!, ...siteIds]));
    for (const x of this.siteNodes) this.scopes.set(x, siteIds);
  }

  /** Every participant (boards, then site origins). */
  all(): SimNode[] {
    return [...this.boards, ...this.siteNodes];
  }

  /** Origins `node` must hold. */
  scope(node: SimNode): string[] {
    return this.scopes.get(node)!;
  }

  /** Start the site origins and their aggregation timers (random phase). */
  start(): void {
    for (const x of this.siteNodes) {
      void x.sync.start();
      x.connect();
    }
    this.aggregators.forEach((a) => {
      const tick = () => {
        a.aggregate();
        this.clock.setTimeout(tick, this.everyMs);
      };
      this.clock.setTimeout(tick, this.random() * this.everyMs);
    });
  }

  /** The site origin standing for board `b`'s site when `b` is a gateway, else undefined. */
  siteNodeOfGateway(b: SimNode): SimNode | undefined {
    const i = this.boards.indexOf(b);
    return i >= 0 && i < this.sites ? this.siteNodes[i] : undefined;
  }

  /** One field digest per site among its boards, one among the site origins. */
  agreed(): boolean {
    for (let s = 0; s < this.sites; s++) {
      const d = new Set<string>();
      for (let i = s; i < this.n; i += this.sites) d.add(this.boards[i]!.field.digest());
      if (d.size !== 1) return false;
    }
    return new Set(this.siteNodes.map((x) => x.field.digest())).size === 1;
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
