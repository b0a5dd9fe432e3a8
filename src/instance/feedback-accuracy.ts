/**
 * Accuracy on feedback: for every observation that arrives with a label, was the prediction the
 * instance made for it BEFORE the label was used (before it reached the accumulator, the history
 * and the conditioner) the same label? Counted since start and over the last `window` labelled
 * observations (a ring buffer: what the page shows is how the instance does now, not on day one).
 * An observation the instance could not predict at all (no class known yet) counts as `unpredicted`,
 * not as correct.
 */

/** One labelled observation's outcome. */
export type FeedbackOutcome = 'correct' | 'wrong' | 'unpredicted';

/** Counts since start and over the window. `accuracy` = windowCorrect / windowTotal, null while empty. */
export interface FeedbackAccuracySnapshot {
  total: number;
  correct: number;
  wrong: number;
  unpredicted: number;
  window: number;
  windowTotal: number;
  windowCorrect: number;
  accuracy: number | null;
}

export class FeedbackAccuracy {
  private readonly ring: Uint8Array; // 1 = correct, 0 = not
  private next = 0;
  private filled = 0;
  private windowCorrect = 0;
  private readonly counts = { correct: 0, wrong: 0, unpredicted: 0 };

  /** `window`: labelled observations the windowed accuracy covers (≥ 1). Default 100. */
  constructor(readonly window = 100) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`feedback window must be an integer ≥ 1, got ${window}`);
    this.ring = new Uint8Array(window);
  }

  /** Record the prediction made before the label was known (`null` = none) against the label. */
  record(predicted: string | null | undefined, label: string): FeedbackOutcome {
    const outcome: FeedbackOutcome = predicted === null || predicted === undefined ? 'unpredicted' : predicted === label ? 'correct' : 'wrong';
    this.counts[outcome]++;
    const hit = outcome === 'correct' ? 1 : 0;
    if (this.filled === this.window) this.windowCorrect -= this.ring[this.next]!;
    else this.filled++;
    this.ring[this.next] = hit;
    this.windowCorrect += hit;
    this.next = (this.next + 1) % this.window;
    return outcome;
  }

  snapshot(): FeedbackAccuracySnapshot {
    const { correct, wrong, unpredicted } = this.counts;
    return {
      total: correct + wrong + unpredicted,
      correct,
      wrong,
      unpredicted,
      window: this.window,
      windowTotal: this.filled,
      windowCorrect: this.windowCorrect,
      accuracy: this.filled ? this.windowCorrect / this.filled : null,
    };
  }
}
