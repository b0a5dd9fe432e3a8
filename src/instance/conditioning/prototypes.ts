/**
 * Conditioning math (DESIGN section 5): class prototypes = the node's local (un-noised, private)
 * per-class mean blended with the field value for that class, and scoring of an embedding against
 * them. A class the node never saw locally gets the field value alone, so the node predicts it as
 * soon as the field holds it.
 */
import { clipL2 } from '../../signals/clip.js';

/** One class prototype. */
export interface Prototype {
  key: string;
  vector: Float64Array;
  /** Where it came from: local only, field only, or the blend of both. */
  source: 'local' | 'field' | 'blend';
}

/** Local per-class clipped statistics (what `SignalAccumulator.local()` returns). */
export interface LocalStats {
  sum: ArrayLike<number>;
  count: number;
}

/** How a prediction compares an embedding with prototypes. */
export type ScoreKind = 'distance' | 'cosine';

/**
 * Build prototypes. For class c: local mean m_c = sum/count (when count > 0), field value f_c;
 * prototype = (1 − blend)·m_c + blend·f_c when both exist, otherwise whichever exists.
 * `blend` = 0 ignores the field (local-only baseline), 1 uses the field wherever it has the class.
 */
export function buildPrototypes(
  local: ReadonlyMap<string, LocalStats>,
  field: ReadonlyMap<string, ArrayLike<number>>,
  blend: number,
): Prototype[] {
  const keys = new Set<string>();
  for (const [k, s] of local) if (s.count > 0) keys.add(k);
  if (blend > 0) for (const k of field.keys()) keys.add(k);
  const out: Prototype[] = [];
  for (const key of [...keys].sort()) {
    const s = local.get(key);
    const f = blend > 0 ? field.get(key) : undefined;
    const m = s && s.count > 0 ? Float64Array.from(s.sum as ArrayLike<number>, (v) => v / s.count) : undefined;
    if (m && f && f.length === m.length) {
      const v = new Float64Array(m.length);
      for (let i = 0; i < v.length; i++) v[i] = (1 - blend) * m[i]! + blend * f[i]!;
      out.push({ key, vector: v, source: 'blend' });
    } else if (m) {
      out.push({ key, vector: m, source: 'local' });
    } else if (f) {
      out.push({ key, vector: Float64Array.from(f), source: 'field' });
    }
  }
  return out;
}

/** A prediction: best label and a softmax score per label (sums to 1). */
export interface Prediction {
  label: string | undefined;
  scores: Record<string, number>;
}

/**
 * Score `embedding` (clipped to `clipNorm` first, the same space the prototypes were built in)
 * against `prototypes`. distance: logit = −‖e − p‖²; cosine: logit = cos(e, p) / 0.1.
 * Prototypes of another dimension are skipped.
 */
export function scoreEmbedding(embedding: ArrayLike<number>, prototypes: readonly Prototype[], kind: ScoreKind, clipNorm?: number): Prediction {
  const e = clipNorm === undefined ? Float64Array.from(embedding as ArrayLike<number>) : clipL2(embedding, clipNorm);
  let en = 0;
  for (let i = 0; i < e.length; i++) en += e[i]! * e[i]!;
  en = Math.sqrt(en);
  const logits: Array<[string, number]> = [];
  for (const p of prototypes) {
    if (p.vector.length !== e.length) continue;
    let dot = 0;
    let dist = 0;
    let pn = 0;
    for (let i = 0; i < e.length; i++) {
      const a = e[i]!;
      const b = p.vector[i]!;
      dot += a * b;
      pn += b * b;
      dist += (a - b) * (a - b);
    }
    const logit = kind === 'distance' ? -dist : en > 0 && pn > 0 ? dot / (en * Math.sqrt(pn)) / 0.1 : 0;
    logits.push([p.key, logit]);
  }
  if (logits.length === 0) return { label: undefined, scores: {} };
  let best = logits[0]!;
  for (const l of logits) if (l[1] > best[1]) best = l;
  let z = 0;
  for (const [, l] of logits) z += Math.exp(l - best[1]);
  const scores: Record<string, number> = {};
  for (const [k, l] of logits) scores[k] = Math.exp(l - best[1]) / z;
  return { label: best[0], scores };
}

/**
 * The `context` model input (DESIGN 5): the mean of the field vectors of the active key set
 * (keys missing from the field are skipped; zeros when none is present).
 */
export function contextVector(field: ReadonlyMap<string, ArrayLike<number>>, activeKeys: Iterable<string>, dim: number): Float32Array {
  const out = new Float32Array(dim);
  let n = 0;
  for (const k of activeKeys) {
    const v = field.get(k);
    if (!v || v.length !== dim) continue;
    for (let i = 0; i < dim; i++) out[i] = out[i]! + v[i]!;
    n++;
  }
  if (n > 0) for (let i = 0; i < dim; i++) out[i] = out[i]! / n;
  return out;
}
