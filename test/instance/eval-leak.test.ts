/**
 * DESIGN 4: "no raw input and no model weight ever leaves the board". Runs the fleet simulation on
 * the demo sensor data, captures every signed delta envelope the nodes publish, and scans the bytes
 * (and the inflated delta bodies) for float32/float64 encodings (both byte orders) and decimal
 * strings of every raw input value and every encoder parameter.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parseTrainingCsv } from '../../src/instance/data/csv.js';
import { runFleetEval } from '../../src/instance/eval/simulate.js';
import type { TrainedEncoder } from '../../src/instance/model/mlp.js';
import { defaultConfig } from '../../src/config/load.js';
import { decodeCbor, isDecodedMap } from '../../src/ccf/codec/cbor.js';

const csv = join(import.meta.dirname, '..', '..', 'models', 'datasets', 'sensor-vibration.csv');

/** Byte patterns of a value: float32 LE/BE (as uint32 read LE) and float64 LE/BE (as uint64 read LE). */
function patterns(v: number): { p4: number[]; p8: bigint[] } {
  const p4: number[] = [];
  const p8: bigint[] = [];
  const b = Buffer.alloc(8);
  for (const x of new Set([v, Math.fround(v)])) {
    b.writeFloatLE(x);
    p4.push(b.readUInt32LE(0));
    b.writeFloatBE(x);
    p4.push(b.readUInt32LE(0));
    b.writeDoubleLE(x);
    p8.push(b.readBigUInt64LE(0));
    b.writeDoubleBE(x);
    p8.push(b.readBigUInt64LE(0));
  }
  return { p4, p8 };
}

/** Decimal renderings long enough not to match by chance. */
function decimals(v: number): string[] {
  const f = Math.fround(v);
  return [...new Set([String(v), String(f), v.toPrecision(6), f.toPrecision(7), v.toFixed(4)])].filter((s) => s.replace(/[-.0]/g, '').length >= 4);
}

class Scanner {
  private readonly p4 = new Set<number>();
  private readonly p8 = new Set<bigint>();
  private readonly text: string[] = [];
  constructor(values: Iterable<number>) {
    for (const v of values) {
      if (!Number.isFinite(v) || Number.isInteger(v)) continue; // integers (0, 1, counts) are not secrets
      const { p4, p8 } = patterns(v);
      for (const p of p4) this.p4.add(p);
      for (const p of p8) this.p8.add(p);
      this.text.push(...decimals(v));
    }
  }
  /** Indices of matches in `hay` (byte patterns) and decimal strings found in its printable runs. */
  scan(hay: Uint8Array): string[] {
    const hits: string[] = [];
    const b = Buffer.from(hay);
    for (let i = 0; i + 4 <= b.length; i++) {
      if (this.p4.has(b.readUInt32LE(i))) hits.push(`f32@${i}`);
      if (i + 8 <= b.length && this.p8.has(b.readBigUInt64LE(i))) hits.push(`f64@${i}`);
    }
    const printable = Buffer.from(hay).toString('latin1').match(/[\x20-\x7e]{3,}/g)?.join('\u0000') ?? '';
    for (const s of this.text) if (printable.includes(s)) hits.push(`text:${s}`);
    return hits;
  }
}

function encoderValues(enc: TrainedEncoder): number[] {
  const out: number[] = [...enc.mean, ...enc.std];
  for (const l of enc.layers) out.push(...l.weights, ...l.bias);
  return out;
}

t.test('no published envelope contains a raw input value or a model weight', async (t) => {
  const ds = parseTrainingCsv(readFileSync(csv, 'utf8'), 'label', 'sensor');
  const envelopes: Uint8Array[] = [];
  let enc: TrainedEncoder | undefined;
  const cfg = defaultConfig();
  const r = runFleetEval({
    X: ds.X,
    y: ds.y,
    datasetName: 'sensor',
    nodes: 8,
    classesPerNode: 2,
    rounds: 3,
    seed: 11,
    signals: cfg.signals,
    ccf: cfg.ccf,
    clipNorm: 'auto',
    skipClassifiers: true,
    onEnvelope: (_from, bytes) => envelopes.push(bytes),
    onEncoder: (e) => (enc = e),
  });
  t.ok(envelopes.length >= 8, `${envelopes.length} envelopes captured`);
  t.ok(r.ccf.unseenAccuracy > 0.5, 'and the signals were useful');
  // The haystacks: every envelope with its high-entropy parts blanked (the 64-byte Ed25519 signature,
  // the deflate-raw stream), plus the inflated delta body those parts carried. Random bytes would match
  // some 4-byte float pattern by chance (about 1 in 50 runs); the plaintext is where a leak would be.
  const hay: Uint8Array[] = [];
  for (const e of envelopes) {
    const m = decodeCbor(e);
    if (!isDecodedMap(m) || !(m.body instanceof Uint8Array) || !(m.sig instanceof Uint8Array)) throw new Error('not an envelope');
    const sync = decodeCbor(m.body); // the sync's {cover, delta} body
    if (!isDecodedMap(sync) || !(sync.delta instanceof Uint8Array)) throw new Error('not a sync delta body');
    const body = sync.delta;
    const plain = body[0] === 1 ? inflateRawSync(body.subarray(1)) : body.subarray(1);
    const outer = Buffer.from(e);
    const at = outer.indexOf(Buffer.from(body));
    if (at < 0 || outer.subarray(outer.length - 64).compare(Buffer.from(m.sig)) !== 0) throw new Error('layout not as expected');
    outer.fill(0, at + 1, at + body.length);
    outer.fill(0, outer.length - 64);
    hay.push(outer, plain);
  }
  const inputs = new Scanner(ds.X.flat());
  const weights = new Scanner(encoderValues(enc!));
  const inputHits = hay.flatMap((h) => inputs.scan(h));
  const weightHits = hay.flatMap((h) => weights.scan(h));
  t.same(inputHits, [], `no raw input among ${ds.X.length * ds.X[0]!.length} values found in ${hay.length} byte strings`);
  t.same(weightHits, [], `no encoder parameter found`);

  // the scanner itself can fail: plant one raw value (float32 LE) and one weight (decimal)
  const planted = Buffer.concat([Buffer.from(hay[0]!), Buffer.alloc(4), Buffer.from('x' + String(encoderValues(enc!).find((v) => !Number.isInteger(v))))]);
  const rawValue = ds.X[5]!.find((v) => !Number.isInteger(v))!;
  planted.writeFloatLE(rawValue, hay[0]!.length);
  t.ok(inputs.scan(planted).length > 0, 'a planted raw input is detected');
  t.ok(weights.scan(planted).some((h) => h.startsWith('text:')), 'a planted weight string is detected');
});
