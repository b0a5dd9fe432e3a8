/** Accuracy bookkeeping for the fleet evaluation. */
import { scoreEmbedding, type Prototype, type ScoreKind } from '../conditioning/prototypes.js';
import type { Prediction } from '../conditioning/prototypes.js';

/** Accuracy on all test classes and on the classes a node never saw locally. */
export interface Accuracy {
  accuracy: number;
  unseenAccuracy: number;
  seenAccuracy: number;
  /** Accuracy on the novel classes (withheld from the encoder too); undefined when there are none. */
  novelAccuracy?: number;
  /** Test examples behind each number. */
  n: number;
  nUnseen: number;
}

/** Running counts, summed over nodes (micro-average). */
export class AccuracyCounter {
  private all = 0;
  private ok = 0;
  private unseen = 0;
  private unseenOk = 0;
  private novel = 0;
  private novelOk = 0;

  add(correct: boolean, unseen: boolean, novel = false): void {
    this.all++;
    if (novel) {
      this.novel++;
      if (correct) this.novelOk++;
    }
    if (correct) this.ok++;
    if (unseen) {
      this.unseen++;
      if (correct) this.unseenOk++;
    }
  }

  result(): Accuracy {
    const seen = this.all - this.unseen;
    return {
      accuracy: this.all ? this.ok / this.all : 0,
      unseenAccuracy: this.unseen ? this.unseenOk / this.unseen : 0,
      seenAccuracy: seen ? (this.ok - this.unseenOk) / seen : 0,
      ...(this.novel ? { novelAccuracy: this.novelOk / this.novel } : {}),
      n: this.all,
      nUnseen: this.unseen,
    };
  }
}

/** Score test embeddings of one node into `counter`. */
export function scoreNode(
  counter: AccuracyCounter,
  test: ReadonlyArray<{ embedding: ArrayLike<number>; label: string }>,
  localClasses: ReadonlySet<string>,
  predict: (e: ArrayLike<number>) => Prediction,
  novelClasses: ReadonlySet<string> = new Set(),
): void {
  for (const t of test) counter.add(predict(t.embedding).label === t.label, !localClasses.has(t.label), novelClasses.has(t.label));
}

/** A predictor from fixed prototypes. */
export function prototypePredictor(prototypes: readonly Prototype[], kind: ScoreKind, clipNorm: number): (e: ArrayLike<number>) => Prediction {
  return (e) => scoreEmbedding(e, prototypes, kind, clipNorm);
}

/** Round to 4 decimals for reports. */
export function r4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
