/**
 * Non-IID fleet split for the collective-learning evaluation (DESIGN section 5):
 * - a bootstrap split that no node holds (stands for public pre-training data; the encoder is fit on
 *   it and on nothing else),
 * - per node a training set of only K classes, arriving over R rounds,
 * - per node a held-out test set drawn from every class (round-robin: with fewer test rows of a class
 *   than nodes, some nodes have none of that class).
 * Deterministic for a seed.
 */
import { H3lixError } from '../../errors.js';
import { createRng, shuffleInPlace } from '../../util/prng.js';

/** Options for `splitFleet`. */
export interface FleetSplitOptions {
  nodes: number;
  /** Classes each node sees locally (K). */
  classesPerNode: number;
  rounds: number;
  seed: number;
  /** Fraction of each class kept for the bootstrap (encoder) split. Default 0.2. */
  bootstrapFraction?: number;
  /** Fraction of each class held out for testing. Default 0.25. */
  testFraction?: number;
  /** Classes withheld from the bootstrap split too (the encoder never sees them). Default `defaultNovelClasses`. */
  novelClasses?: number;
}

/** One simulated node's share. Row indices into the dataset. */
export interface NodeShare {
  id: string;
  classes: string[];
  /** trainByRound[r] = rows arriving in round r. */
  trainByRound: number[][];
  test: number[];
}

export interface FleetSplit {
  classes: string[];
  /** Classes absent from the bootstrap split. */
  novel: string[];
  bootstrap: number[];
  nodes: NodeShare[];
}

/**
 * The headline setting (docs/evaluation.md): about 30 % of the classes, at least 2, are novel, and at
 * least one class is left for the encoder's pre-training.
 */
export function defaultNovelClasses(classes: number): number {
  return Math.max(1, Math.min(Math.max(2, Math.round(0.3 * classes)), classes - 1));
}

/** Split rows with labels `y` over a simulated fleet. Throws DATA_INVALID when it cannot. */
export function splitFleet(y: readonly string[], opts: FleetSplitOptions): FleetSplit {
  const rng = createRng(opts.seed);
  const classes = [...new Set(y)].sort();
  const C = classes.length;
  const K = opts.classesPerNode;
  if (C < 2) throw new H3lixError('DATA_INVALID', `need at least 2 classes, got ${C}`);
  if (K >= C) throw new H3lixError('DATA_INVALID', `--classes-per-node ${K} must be below the number of classes (${C}), or no class is unseen`);
  if (opts.nodes * K < C) throw new H3lixError('DATA_INVALID', `${opts.nodes} nodes × ${K} classes cannot cover all ${C} classes`);
  const byClass = new Map<string, number[]>(classes.map((c) => [c, []]));
  y.forEach((label, i) => byClass.get(label)!.push(i));
  const order = shuffleInPlace([...classes], rng);
  const nodes: NodeShare[] = Array.from({ length: opts.nodes }, (_, i) => ({
    id: `node-${String(i).padStart(2, '0')}`,
    classes: Array.from({ length: K }, (_, j) => order[(i * K + j) % C]!).sort(),
    trainByRound: Array.from({ length: opts.rounds }, () => []),
    test: [],
  }));
  const nNovel = opts.novelClasses ?? defaultNovelClasses(C);
  if (nNovel < 0 || nNovel > C - 1) throw new H3lixError('DATA_INVALID', `--novel-classes ${nNovel}: the encoder needs at least 1 of the ${C} classes`);
  const novel = order.slice(C - nNovel).sort();
  const bootstrap: number[] = [];
  const bf = opts.bootstrapFraction ?? 0.2;
  const tf = opts.testFraction ?? 0.25;
  for (const c of classes) {
    const rows = shuffleInPlace(byClass.get(c)!, rng);
    const nBoot = novel.includes(c) ? 0 : Math.round(bf * rows.length);
    const nTest = Math.round(tf * rows.length);
    const holders = nodes.filter((n) => n.classes.includes(c));
    if (rows.length - nBoot - nTest < holders.length) {
      throw new H3lixError('DATA_INVALID', `class "${c}" has ${rows.length} rows: too few to give each of its ${holders.length} holders a training row beside the bootstrap (${nBoot}) and test (${nTest}) rows`);
    }
    if (nTest < 1) throw new H3lixError('DATA_INVALID', `class "${c}" has ${rows.length} rows: too few to hold out a test example`);
    bootstrap.push(...rows.slice(0, nBoot));
    rows.slice(nBoot, nBoot + nTest).forEach((r, i) => nodes[i % opts.nodes]!.test.push(r));
    rows.slice(nBoot + nTest).forEach((r, i) => {
      const h = holders[i % holders.length]!;
      const k = Math.floor(i / holders.length) % opts.rounds;
      h.trainByRound[k]!.push(r);
    });
  }
  return { classes, novel, bootstrap, nodes };
}
