import { WireError } from '../errors.js';

/** Largest vector dimension accepted anywhere (DESIGN 3, lead decision). */
export const MAX_DIM = 4096;
/** Longest origin / key / fleet string, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 128;
/** Largest envelope body before chunking is required (DESIGN 7: keep a message under 128 KB). */
export const MAX_BODY_BYTES = 131072;
/** Room for the envelope's own fields (v, kind, fleet, from, seq, hlc, sig) around the body. */
export const ENVELOPE_OVERHEAD_BYTES = 1024;

/**
 * Why `name` is not a valid origin / key / fleet / sender string, or undefined when it is valid.
 * Rule: 1-128 chars, no MQTT topic specials ('/', '+', '#') and no NUL, so a name is always one
 * topic segment [MQTT-4.7.1].
 */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `expected a string, got ${typeof name}`;
  if (name.length < 1 || name.length > MAX_NAME_LENGTH) return `length ${name.length} is outside 1..${MAX_NAME_LENGTH}`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2f || c === 0x2b || c === 0x23 || c === 0) return `contains forbidden character ${JSON.stringify(name[i])}`;
  }
  return undefined;
}

/** Throw WIRE_TYPE when `name` breaks the name rule; `what` names the field in the message. */
export function checkName(name: unknown, what: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new WireError('WIRE_TYPE', `${what}: ${problem}`);
  return name as string;
}

/** True for a JS safe integer >= min. */
export function isSafeIntAtLeast(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}
