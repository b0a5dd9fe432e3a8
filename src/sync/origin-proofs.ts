import { verify, type Signer } from '../crypto/ed25519.js';
import { contributionHash, originSignedBytes, type OriginProof } from '../ccf/codec/origin-proof.js';
import type { Contribution } from '../ccf/types.js';
import { VerifiedSignatures } from './verified-signatures.js';

/** One signed batch of an origin: its signature and every member's item hash. */
interface Batch {
  origin: string;
  sig: Uint8Array;
  hashes: Uint8Array[];
}

interface Held {
  version: number;
  hash: Uint8Array;
  batch: Batch;
}

/** Outcome of {@link OriginProofs.check}. */
export interface OriginCheck {
  accepted: Contribution[];
  /** Dropped contributions by reason (`unsigned`, `bad-signature`, `unknown-origin`). */
  dropped: Map<string, Contribution[]>;
}

/**
 * Options for {@link OriginProofs}.
 * - `fleet`: signed into every batch. Required.
 * - `self`, `signer`: this node's id and key; its own contributions are signed on demand. Required.
 * - `resolveKey(origin)`: the origin's public key (in fleet mode: from a valid, unrevoked
 *   certificate), or undefined. Required.
 * - `required`: drop unsigned contributions (fleet mode). Default false (open mode: unsigned ones
 *   pass, a signature that is present must verify).
 * - `verifiedCapacity`: batch signatures remembered as verified, so a batch relayed again is not
 *   verified again (verified-signatures.ts). Default 4096; 0 verifies every copy.
 */
export interface OriginProofsOptions {
  fleet: string;
  self: string;
  signer: Signer;
  resolveKey: (origin: string) => Uint8Array | undefined;
  required?: boolean;
  verifiedCapacity?: number;
}

/**
 * Keeps, for every contribution this node holds, the origin batch signature it arrived with, so the
 * node can relay it verifiably (origin-proof.ts). Own contributions are signed when first sent.
 * Records live in memory: after a restart a relay forwards other origins' contributions unsigned
 * until it receives them again (their origins and other relays still hold proofs).
 */
export class OriginProofs {
  private readonly held = new Map<string, Held>();
  /**
   * Signature checks done (`verified`), failed, answered from the memo of earlier checks (`cached`),
   * and batches signed, for the bench and telemetry.
   */
  readonly stats = { verified: 0, failed: 0, cached: 0, signed: 0 };
  private readonly memo: VerifiedSignatures;

  constructor(private readonly o: OriginProofsOptions) {
    this.memo = new VerifiedSignatures(o.verifiedCapacity !== undefined ? { capacity: o.verifiedCapacity } : {});
  }

  /** Proofs for `cs` (the contribution list of one delta message), signing own unsigned ones. */
  proofsFor(cs: readonly Contribution[]): OriginProof[] {
    const groups = new Map<Batch, number[]>();
    const fresh: number[] = [];
    cs.forEach((c, i) => {
      const h = this.held.get(slot(c));
      if (h && h.version === c.version) {
        const list = groups.get(h.batch);
        if (list) list.push(i);
        else groups.set(h.batch, [i]);
      } else if (c.origin === this.o.self) fresh.push(i);
    });
    if (fresh.length) {
      const hashes = fresh.map((i) => contributionHash(cs[i]!));
      const batch: Batch = { origin: this.o.self, sig: this.o.signer.sign(originSignedBytes(this.o.fleet, this.o.self, hashes)), hashes };
      this.stats.signed++;
      fresh.forEach((i, n) => this.held.set(slot(cs[i]!), { version: cs[i]!.version, hash: hashes[n]!, batch }));
      groups.set(batch, fresh);
    }
    const out: OriginProof[] = [];
    for (const [batch, members] of groups) {
      const sent = new Set(members.map((i) => Buffer.from(this.held.get(slot(cs[i]!))!.hash).toString('hex')));
      out.push({ origin: batch.origin, sig: batch.sig, others: batch.hashes.filter((h) => !sent.has(Buffer.from(h).toString('hex'))), members });
    }
    return out;
  }

  /** Wire bytes {@link proofsFor} would add for `cs` (without signing), for message planning. */
  estimateBytes(cs: readonly Contribution[]): number {
    const batches = new Map<Batch | undefined, number>();
    for (const c of cs) {
      const h = this.held.get(slot(c));
      const b = h && h.version === c.version ? h.batch : c.origin === this.o.self ? undefined : null;
      if (b === null) continue;
      batches.set(b, (batches.get(b) ?? 0) + 1);
    }
    let n = batches.size ? 8 : 0;
    for (const [b, members] of batches) n += 96 + members * 3 + (b ? (b.hashes.length - members) * 16 : 0);
    return n;
  }

  /** Verify a received delta's contributions against their origins' signatures. */
  check(cs: readonly Contribution[], proofs: readonly OriginProof[] | undefined): OriginCheck {
    const dropped = new Map<string, Contribution[]>();
    const drop = (why: string, c: Contribution) => {
      const l = dropped.get(why);
      if (l) l.push(c);
      else dropped.set(why, [c]);
    };
    const covered = new Set<number>();
    const accepted: Contribution[] = [];
    const pending: Array<{ c: Contribution; hash: Uint8Array; batch: Batch }> = [];
    for (const p of proofs ?? []) {
      for (const i of p.members) covered.add(i);
      const members = p.members.map((i) => cs[i]!);
      if (members.some((c) => c.origin !== p.origin)) {
        members.forEach((c) => drop('bad-signature', c));
        continue;
      }
      const key = this.o.resolveKey(p.origin);
      if (!key) {
        // Fleet mode: an origin without a valid certificate does not count. Open mode: no key known
        // yet (its birth not seen) is the same as unsigned, which open mode accepts.
        if (this.o.required) members.forEach((c) => drop('unknown-origin', c));
        else accepted.push(...members);
        continue;
      }
      const hashes = members.map(contributionHash);
      const all = [...hashes, ...p.others];
      const r = this.memo.check(key, originSignedBytes(this.o.fleet, p.origin, all), p.sig, verify);
      if (!r.ok) {
        this.stats.failed++;
        members.forEach((c) => drop('bad-signature', c));
        continue;
      }
      if (r.cached) this.stats.cached++;
      else this.stats.verified++;
      const batch: Batch = { origin: p.origin, sig: p.sig, hashes: all };
      members.forEach((c, n) => pending.push({ c, hash: hashes[n]!, batch }));
    }
    cs.forEach((c, i) => {
      if (covered.has(i)) return;
      if (this.o.required) drop('unsigned', c);
      else accepted.push(c);
    });
    for (const p of pending) {
      accepted.push(p.c);
      const cur = this.held.get(slot(p.c));
      if (!cur || cur.version <= p.c.version) this.held.set(slot(p.c), { version: p.c.version, hash: p.hash, batch: p.batch });
    }
    return { accepted, dropped };
  }

  /** Forget records of contributions the field no longer holds (compaction). */
  retain(isHeld: (origin: string, key: string, version: number) => boolean): void {
    for (const [k, h] of this.held) {
      const [origin, key] = k.split('\0') as [string, string];
      if (!isHeld(origin, key, h.version)) this.held.delete(k);
    }
  }

  get size(): number {
    return this.held.size;
  }
}

const slot = (c: Contribution) => `${c.origin}\0${c.key}`;
