/**
 * Per-origin authenticity (issue 9, src/ccf/codec/origin-proof.ts): bytes the origin signatures add to
 * a delta of 32 keys x 64 dims against the same delta unsigned, measured in the same run, for the two
 * shapes a delta has: a node's own publish (one origin, one batch) and a relay answer where all 32
 * contributions come from 32 different origins (one signature each: the worst case). And the receive
 * rate of signed deltas (decode + per-origin verification) against unsigned ones, with the memo of
 * verified batches off (every copy verified: what a first copy costs), and the rate of a relay answer
 * that arrives again (another answerer relaying the same batches) with the memo against without it.
 * Run: `npm run bench -- origin-sig`
 */
import { createSigner, generateKeyPair } from '../src/crypto/ed25519.js';
import { nodeIdFromPublicKey } from '../src/crypto/node-id.js';
import { canonicalCount, canonicalVector } from '../src/ccf/quantize.js';
import type { Contribution } from '../src/ccf/types.js';
import { decodeSyncDelta, encodeSyncDelta, type SyncDelta } from '../src/sync/delta-wire.js';
import { OriginProofs } from '../src/sync/origin-proofs.js';
import { rate, type BenchRow } from './row.js';

const KEYS = 32;
const DIM = 64;

function origin() {
  const pair = generateKeyPair();
  return { id: nodeIdFromPublicKey(pair.publicKey), pair, signer: createSigner(pair) };
}

function contribution(o: string, k: number, seed: number): Contribution {
  const sum = new Float32Array(DIM);
  let x = seed * 9301 + 49297;
  for (let i = 0; i < DIM; i++) {
    x = (x * 9301 + 49297) % 233280;
    sum[i] = (x / 233280 - 0.5) * 4;
  }
  return { origin: o, key: `concept-${k}`, version: k + 1, hlc: { wall: 1_767_000_000_000 + k, logical: 0 }, count: canonicalCount(12), sum: canonicalVector(sum, 'int8') };
}

function measure(cs: Contribution[], sign: (cs: Contribution[]) => SyncDelta['proofs']): { plain: number; signed: number; bytes: Uint8Array } {
  const cover = Object.fromEntries(cs.map((c) => [c.origin, [0, 100] as const]));
  const plain = encodeSyncDelta({ cover, contributions: cs }, 'int8').length;
  const bytes = encodeSyncDelta({ cover, contributions: cs, proofs: sign(cs) }, 'int8');
  return { plain, signed: bytes.length, bytes };
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const self = origin();
  const others = Array.from({ length: KEYS }, origin);
  const keys = new Map([self, ...others].map((n) => [n.id, n.pair.publicKey]));
  const proofs = (n: ReturnType<typeof origin>, verifiedCapacity?: number) =>
    new OriginProofs({ fleet: 'bench', self: n.id, signer: n.signer, resolveKey: (o) => keys.get(o), required: true, ...(verifiedCapacity !== undefined ? { verifiedCapacity } : {}) });

  const own = measure(Array.from({ length: KEYS }, (_, k) => contribution(self.id, k, k)), (cs) => proofs(self).proofsFor(cs));
  rows.push({ metric: `own publish ${KEYS} keys x ${DIM} dims: signed delta size`, value: own.signed, unit: 'bytes', baseline: own.plain, baselineName: 'unsigned', ratio: (own.signed - own.plain) / own.plain, target: 'overhead ratio <= 0.15', ok: (own.signed - own.plain) / own.plain <= 0.15 });

  // Relay answer: each origin signed its own contribution; a relay receives them one by one, then forwards all 32.
  const relay = proofs(self);
  const relayed = others.map((o, k) => {
    const c = contribution(o.id, k, 100 + k);
    const d = decodeSyncDelta(encodeSyncDelta({ cover: { [o.id]: [0, 100] }, contributions: [c], proofs: proofs(o).proofsFor([c]) }, 'int8'));
    relay.check(d.contributions, d.proofs);
    return d.contributions[0]!;
  });
  const fan = measure(relayed, (cs) => relay.proofsFor(cs));
  rows.push({ metric: `relay answer ${KEYS} origins x 1 key x ${DIM} dims: signed delta size`, value: fan.signed, unit: 'bytes', baseline: fan.plain, baselineName: 'unsigned', ratio: (fan.signed - fan.plain) / fan.plain, target: 'reported (worst case: one signature per contribution)' });

  const receiver = proofs(origin(), 0);
  const plainBytes = encodeSyncDelta({ cover: { [self.id]: [0, 100] }, contributions: decodeSyncDelta(own.bytes).contributions }, 'int8');
  const signedRate = await rate(() => {
    const d = decodeSyncDelta(own.bytes);
    receiver.check(d.contributions, d.proofs);
  }, 800, 10);
  const plainRate = await rate(() => {
    const d = decodeSyncDelta(plainBytes);
    receiver.check(d.contributions, d.proofs);
  }, 800, 10);
  rows.push({ metric: `receive own-publish delta (${KEYS} contributions, 1 origin)`, value: signedRate * KEYS, unit: 'contributions/s', baseline: plainRate * KEYS, baselineName: 'unsigned decode', ratio: signedRate / plainRate, target: 'reported' });
  const fanRate = await rate(() => {
    const d = decodeSyncDelta(fan.bytes);
    receiver.check(d.contributions, d.proofs);
  }, 800, 5);
  rows.push({ metric: `receive relay delta (${KEYS} origins, ${KEYS} signature checks)`, value: fanRate * KEYS, unit: 'contributions/s', baseline: plainRate * KEYS, baselineName: 'unsigned decode', ratio: fanRate / plainRate, target: 'reported' });
  const remembering = proofs(origin());
  const againRate = await rate(() => {
    const d = decodeSyncDelta(fan.bytes);
    remembering.check(d.contributions, d.proofs);
  }, 800, 5);
  rows.push({ metric: `receive the same relay delta again (${KEYS} origins, batches verified before)`, value: againRate * KEYS, unit: 'contributions/s', baseline: fanRate * KEYS, baselineName: 'memo off (verifiedCapacity 0)', ratio: againRate / fanRate, target: 'ratio >= 2', ok: againRate / fanRate >= 2 });
  return rows;
}
