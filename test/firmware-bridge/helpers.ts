import { Duplex, PassThrough } from 'node:stream';

/** Two connected in-memory duplex ends: what one writes, the other reads. */
export function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ writable: aToB, readable: bToA }), Duplex.from({ writable: bToA, readable: aToB })];
}

/** Let stream callbacks (nextTick, microtasks, setImmediate) run. */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export { until } from '../helpers/until.js';
