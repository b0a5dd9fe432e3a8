/**
 * CCF codec benchmarks (docs/ccf.md): delta size against JSON and raw float32, and the rates of
 * encode+sign and verify+decode+merge, and the field digest after one change (incremental against the
 * old full rehash `digestOf`), each with a baseline measured in the same run.
 * Run: `npx tsx bench/run.ts ccf`
 */
import nacl from 'tweetnacl';
import { CcfField, digestOf } from '../src/ccf/field.js';
import { decodeDeltaBody, encodeDeltaBody } from '../src/ccf/codec/delta-body.js';
import { decodeEnvelope, encodeEnvelope, signedBytes } from '../src/ccf/codec/envelope.js';
import { ReplayGuard } from '../src/ccf/codec/replay.js';
import type { Contribution } from '../src/ccf/types.js';
import { createSigner, generateKeyPair, verify } from '../src/crypto/ed25519.js';
import { ManualClock } from '../src/util/clock.js';
import { rate, type BenchRow } from './row.js';

const config = { clipNorm: 10, trimFraction: 0.1, medianBelowOrigins: 5, halfLifeSeconds: 604800, retentionSeconds: 2592000, maxOriginShare: 0.1 };
const KEYS = 32;
const DIM = 64;

/** Deterministic pseudo-random normal numbers (so runs compare). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function field(nodeId: string): CcfField {
  return new CcfField({ nodeId, clock: new ManualClock(), config, quantization: 'int8' });
}

/** A realistic update: per-key sums of ~count unit-ish embeddings plus noise; returns the raw sums. */
function fill(f: CcfField, rnd: () => number, keys = KEYS): Float32Array[] {
  const raw: Float32Array[] = [];
  for (let k = 0; k < keys; k++) {
    const count = 20 + rnd() * 3;
    const sum = Float32Array.from({ length: DIM }, () => rnd() * 0.3 * count + rnd());
    raw.push(sum);
    f.contributeLocal(`concept-${k}`, sum, count);
  }
  return raw;
}

function asJson(cs: Contribution[]): string {
  return JSON.stringify(cs.map((c) => ({ ...c, sum: Array.from(c.sum) })));
}

/**
 * Rates of several functions measured in alternating ~50 ms slices over `totalMs`, so a load change
 * on a shared machine hits all of them alike and their ratio stays meaningful.
 */
async function interleaved(fns: Array<() => unknown>, totalMs: number): Promise<number[]> {
  const ops = fns.map(() => 0);
  const time = fns.map(() => 0);
  for (const fn of fns) for (let w = 0; w < 50; w++) fn(); // warm-up
  const end = performance.now() + totalMs;
  while (performance.now() < end) {
    for (let f = 0; f < fns.length; f++) {
      const start = performance.now();
      let n = 0;
      while (performance.now() - start < 50) {
        for (let b = 0; b < 10; b++) fns[f]!();
        n += 10;
      }
      ops[f]! += n;
      time[f]! += performance.now() - start;
    }
    await new Promise((r) => setImmediate(r));
  }
  return ops.map((n, f) => n / (time[f]! / 1000));
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const rnd = gaussian(42);
  const origin = field('n7k2q4vbd5x3m6r8a');
  const rawSums = fill(origin, rnd);
  const cs = origin.contributions();
  const body = encodeDeltaBody(cs, { quantization: 'int8' });
  // "the same contributions" before canonical quantization: what a node without this codec would send
  const jsonRaw = Buffer.byteLength(asJson(cs.map((c) => ({ ...c, sum: rawSums[Number(c.key.split('-')[1])]!, count: c.count }))));
  // the stored canonical values (k * 2^e, short decimals) as JSON: a harder baseline
  const jsonCanonical = Buffer.byteLength(asJson(cs));
  const raw = KEYS * DIM * 4;
  rows.push({ metric: `delta body bytes, ${KEYS} keys x ${DIM} dims (int8 + deflate)`, value: body.length, unit: 'bytes', baseline: jsonRaw, baselineName: 'JSON of the float32 contributions', ratio: body.length / jsonRaw, target: 'ratio <= 0.125', ok: body.length / jsonRaw <= 0.125 });
  rows.push({ metric: `delta body bytes vs JSON of the canonical (dequantized) values`, value: body.length, unit: 'bytes', baseline: jsonCanonical, baselineName: 'JSON, canonical values', ratio: body.length / jsonCanonical });
  rows.push({ metric: `delta body bytes vs raw float32 vectors only`, value: body.length, unit: 'bytes', baseline: raw, baselineName: 'raw float32 sums, no metadata', ratio: body.length / raw });

  const pair = generateKeyPair();
  const signer = createSigner(pair);
  const naclPair = nacl.sign.keyPair.fromSeed(pair.seed);
  const fleet = 'bench';
  const from = origin.nodeId;

  // encode + sign: one live delta (1 key x 64 dims), as contributeLocal publishes it
  let seq = 0;
  const live = [cs[0]!];
  const encRate = await rate(() => encodeEnvelope({ kind: 'delta', fleet, from, seq: ++seq, hlc: origin.hlc.now(), body: encodeDeltaBody(live, { quantization: 'int8' }) }, signer), 1500);
  const jsonSignRate = await rate(() => nacl.sign.detached(Buffer.from(asJson(live)), naclPair.secretKey), 1500, 10);
  rows.push({ metric: 'encode+sign, live delta (1 key x 64)', value: encRate, unit: 'deltas/s', baseline: jsonSignRate, baselineName: 'JSON + tweetnacl sign', ratio: encRate / jsonSignRate });

  // verify + decode + merge: N distinct deltas with rising versions, so every merge changes state
  async function ingestRate(keysPerDelta: number, n: number): Promise<{ ours: number; naclVerify: number; bareVerify: number }> {
    const src = field(from);
    const envs: Uint8Array[] = [];
    const r = gaussian(7);
    for (let i = 0; i < n; i++) {
      const before = src.versionVector()[from] ?? 0;
      fill(src, r, keysPerDelta);
      envs.push(encodeEnvelope({ kind: 'delta', fleet, from, seq: i + 1, hlc: src.hlc.now(), body: encodeDeltaBody(src.deltaSince({ [from]: before }), { quantization: 'int8' }) }, signer));
    }
    const resolveKey = () => pair.publicKey;
    let sink: CcfField = field('sink');
    let replay = new ReplayGuard();
    let i = 0;
    const pipeline = () => {
      if (i === envs.length) {
        i = 0;
        sink = field('sink');
        replay = new ReplayGuard();
      }
      const env = decodeEnvelope(envs[i++]!, { fleet, resolveKey, replay, kinds: ['delta'] });
      if (sink.merge(decodeDeltaBody(env.body)).length !== keysPerDelta) throw new Error('bench: merge did not change state');
    };
    const signed = envs.map((e) => {
      const env = decodeEnvelope(e, { fleet, resolveKey });
      return { msg: signedBytes(env), sig: env.sig };
    });
    if (!signed.every((x) => verify(pair.publicKey, x.msg, x.sig))) throw new Error('bench: baseline bytes do not verify');
    let k = 0;
    // ceiling: node:crypto verify alone on the same signed bytes (what the pipeline cannot beat)
    const bare = () => verify(pair.publicKey, signed[k % signed.length]!.msg, signed[k++ % signed.length]!.sig);
    const [ours, bareVerify] = await interleaved([pipeline, bare], 3000);
    // baseline: tweetnacl verifying the same envelopes' signatures (signature check alone)
    let j = 0;
    const naclVerify = await rate(() => nacl.sign.detached.verify(signed[j % signed.length]!.msg, signed[j++ % signed.length]!.sig, pair.publicKey), 800, 5);
    return { ours, naclVerify, bareVerify };
  }
  const one = await ingestRate(1, 2000);
  rows.push({ metric: 'verify+decode+merge, live delta (1 key x 64)', value: one.ours, unit: 'deltas/s', baseline: one.naclVerify, baselineName: 'tweetnacl verify only', ratio: one.ours / one.naclVerify, target: '>= 5000/s', ok: one.ours >= 5000 });
  rows.push({ metric: 'pipeline efficiency, live delta: ours / bare node:crypto verify', value: one.ours, unit: 'deltas/s', baseline: one.bareVerify, baselineName: 'node:crypto Ed25519 verify alone', ratio: one.ours / one.bareVerify });
  const full = await ingestRate(KEYS, 300);
  rows.push({ metric: `verify+decode+merge, full delta (${KEYS} keys x 64)`, value: full.ours, unit: 'deltas/s', baseline: full.naclVerify, baselineName: 'tweetnacl verify only', ratio: full.ours / full.naclVerify });
  rows.push({ metric: `contributions merged/s via full deltas`, value: full.ours * KEYS, unit: 'contrib/s' });
  rows.push(await digestAfterOneChange());
  return rows;
}

/**
 * `CcfField.digest()` right after one change in a field of 1,000 origins x 2 keys (8 dims): the
 * incremental digest (only the changed origin re-hashed) against the old full rehash `digestOf` over
 * all contributions, interleaved in the same run. Target: at least 10x faster.
 */
async function digestAfterOneChange(): Promise<BenchRow> {
  const ORIGINS = 1000;
  const f = field('self');
  const seed: Contribution[] = [];
  for (let o = 0; o < ORIGINS; o++) {
    for (let k = 0; k < 2; k++) {
      seed.push({ origin: `board-${String(o).padStart(5, '0')}`, key: `k${k}`, sum: Float32Array.from({ length: 8 }, (_, i) => o + k + i / 8), count: 3, version: 1 + k, hlc: { wall: 1_000 + o, logical: 0 } });
    }
  }
  f.merge(seed);
  f.digest();
  let v = 2;
  /** One newer contribution of a rotating origin merged, then the digest taken. */
  const change = () => {
    const o = v % ORIGINS;
    f.merge([{ ...seed[2 * o]!, version: ++v, hlc: { wall: 10_000 + v, logical: 0 } }]);
  };
  const incremental = () => {
    change();
    return f.digest();
  };
  const full = () => {
    change();
    return digestOf(f.contributions());
  };
  const [inc, old] = await interleaved([incremental, full], 3000);
  const ratio = inc! / old!;
  return { metric: `field digest after one change, ${ORIGINS} origins x 2 keys`, value: inc!, unit: 'digests/s', baseline: old!, baselineName: 'old full rehash (digestOf over all contributions)', ratio, target: 'ratio >= 10', ok: ratio >= 10 };
}
