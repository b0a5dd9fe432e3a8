/**
 * The field as the learning stack reads it, behind the plausibility gate (plausibility.ts): values are
 * the robust per-key means over the origins the gate accepts; writes go to the field unchanged. The
 * predicate is rebuilt when the field changes, and at most every `maxAgeMs` for the local data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CcfField } from '../../ccf/field.js';
import { H3lixError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { PROTOTYPES_FILE } from '../model/manifest.js';
import type { PlausibilityGate } from './plausibility.js';


/** Read `<modelDir>/prototypes.json`; undefined when absent. DATA_INVALID when malformed. */
export function readModelPrototypes(modelDir: string): Map<string, number[]> | undefined {
  let text: string;
  try {
    text = readFileSync(join(modelDir, PROTOTYPES_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const raw = JSON.parse(text) as { classes?: unknown; vectors?: unknown };
  if (!Array.isArray(raw.classes) || !Array.isArray(raw.vectors) || raw.classes.length !== raw.vectors.length) throw new H3lixError('DATA_INVALID', `${join(modelDir, PROTOTYPES_FILE)}: expected {classes: [...], vectors: [[...]...]} of equal length`);
  const out = new Map<string, number[]>();
  raw.classes.forEach((c, i) => {
    const v = (raw.vectors as unknown[])[i];
    if (typeof c !== 'string' || !Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new H3lixError('DATA_INVALID', `${join(modelDir, PROTOTYPES_FILE)}: entry ${i} is not a class name with a finite vector`);
    out.set(c, v as number[]);
  });
  return out;
}

/** Options for `gatedField`. */
export interface GatedFieldOptions {
  field: CcfField;
  gate: PlausibilityGate;
  local: () => ReadonlyMap<string, { sum: ArrayLike<number>; count: number }>;
  /** The field's per-origin clip (config ccf.clipNorm). */
  clipNorm: number;
  self: string;
  clock: Clock;
  /** Rebuild the predicate at least this often, ms. Default 1000. */
  maxAgeMs?: number;
}

/** A read-through view of the field whose `value` honours the gate. */
export function gatedField(o: GatedFieldOptions): Pick<CcfField, 'keys' | 'value' | 'contributeLocal' | 'onChange'> {
  let cached: { at: number; accept: (origin: string, key: string, mean: Float64Array) => boolean } | undefined;
  o.field.onChange(() => (cached = undefined));
  const accept = (): ((origin: string, key: string, mean: Float64Array) => boolean) => {
    const now = o.clock.monotonic();
    if (!cached || now - cached.at > (o.maxAgeMs ?? 1000)) cached = { at: now, accept: o.gate.predicate(o.field, o.local(), o.clipNorm, o.self).accept };
    return cached.accept;
  };
  return {
    keys: () => o.field.keys(),
    value: (key, nowMs) => o.field.value(key, nowMs, accept()),
    contributeLocal: (key, sum, count) => o.field.contributeLocal(key, sum, count),
    onChange: (fn) => o.field.onChange(fn),
  };
}
