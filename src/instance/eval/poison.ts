/**
 * Poisoning attacks for `h3lix eval --poison F --attack A` (docs/evaluation.md): what an attacking
 * node does to the contributions it releases. The attacker holds a valid identity (it is a
 * provisioned fleet member), so its envelopes verify; the field's robust value is what must hold.
 *   sign-flip:  publishes −sum (its class means mirrored through the origin),
 *   scale:      publishes 10 × sum with the true count (a mean ten times too long),
 *   label-swap: publishes each of its classes' statistics under another of its classes' keys,
 *   sybil:      sign-flips, and speaks through `SYBIL_IDENTITIES` extra identities that the fleet
 *               also accepts (the worst case of a leaked claim), each a separate origin.
 */
import type { ReleasedSignal } from '../../signals/accumulator.js';

/**
 * `none`: the same nodes are set apart (not scored) but behave honestly: the clean control.
 * `silent`: they publish nothing: what the fleet would know without them (the control for what a
 * defence that excludes them can at best keep).
 */
export type Attack = 'none' | 'silent' | 'sign-flip' | 'scale' | 'label-swap' | 'sybil';
export const ATTACKS: readonly Attack[] = ['sign-flip', 'scale', 'label-swap', 'sybil'];
export const SYBIL_IDENTITIES = 4;

/** Which nodes attack: the last ⌈fraction · n⌉ of them (at least one when fraction > 0). */
export function attackerIndices(nodes: number, fraction: number): number[] {
  const m = fraction > 0 ? Math.min(nodes - 1, Math.max(1, Math.round(fraction * nodes))) : 0;
  return Array.from({ length: m }, (_, i) => nodes - m + i);
}

/** The attacker's version of an honest release. */
export function poisonRelease(attack: Attack, published: readonly ReleasedSignal[]): ReleasedSignal[] {
  if (attack === 'none') return [...published];
  if (attack === 'silent') return [];
  if (attack === 'label-swap') {
    const keys = published.map((s) => s.key);
    return published.map((s, i) => ({ key: keys[(i + 1) % keys.length]!, sum: s.sum, count: s.count }));
  }
  const f = attack === 'scale' ? 10 : -1;
  return published.map((s) => ({ key: s.key, sum: Float32Array.from(s.sum, (v) => v * f), count: s.count }));
}
