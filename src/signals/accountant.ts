/**
 * Per-node privacy accountant (DESIGN section 4), zero-concentrated DP (zCDP):
 *
 * - Gaussian mechanism with L2 sensitivity Δ and noise σ is ρ-zCDP with ρ = Δ²/(2σ²)
 *   (Bun & Steinke, "Concentrated Differential Privacy", TCC 2016, Proposition 1.6).
 * - zCDP composes additively: ρ_total = Σ ρ_i (ibid., Lemma 2.3). Within one release every example
 *   belongs to exactly one key, so the per-key releases compose in parallel and one release of all
 *   keys costs one (sum, count) pair: ρ = 1/z² (see gaussian.ts).
 * - ρ-zCDP implies (ε, δ)-DP with ε = ρ + 2·√(ρ·ln(1/δ)) for every δ > 0 (ibid., Proposition 1.3).
 * - Publishing a key only when its noised count reaches k is post-processing, but which keys exist
 *   at all depends on the data; a key created by one example would surface with probability at most
 *   δ_sel = P[N(0,1) ≥ (k − 1.5)/z] per release (Gaussian partition selection, cf. Gopi et al.,
 *   "Differentially Private Set Union", ICML 2020). The accountant adds that to δ: the conversion
 *   above uses δ_conv = δ − Σ δ_sel.
 *
 * The spent state is persisted through an injected hook (the daemon wires it to SQLite), so a reboot
 * cannot reset the budget. When the next release would push ε past the budget, `charge` throws
 * H3lixError PRIVACY_BUDGET_SPENT and the publisher stops.
 */
import { H3lixError } from '../errors.js';
import { normalTail, rhoPerRelease } from './gaussian.js';

/** What the accountant persists. */
export interface PrivacyLedger {
  /** Total zCDP ρ spent. */
  rho: number;
  /** Total δ charged for key selection. */
  deltaSelection: number;
  /** Number of releases charged. */
  releases: number;
}

/** Persistence hook: `load` at first use, `save` after every charge (must be durable before return). */
export interface PrivacyPersistence {
  load(): PrivacyLedger | undefined;
  save(ledger: PrivacyLedger): void;
}

/** In-memory persistence (tests, simulations). */
export function memoryPersistence(initial?: PrivacyLedger): PrivacyPersistence & { saved: PrivacyLedger | undefined } {
  const store = { saved: initial ? { ...initial } : undefined } as PrivacyPersistence & { saved: PrivacyLedger | undefined };
  store.load = () => (store.saved ? { ...store.saved } : undefined);
  store.save = (l) => {
    store.saved = { ...l };
  };
  return store;
}

/** Options for `PrivacyAccountant`. */
export interface PrivacyAccountantOptions {
  /** Total ε budget (required; config `signals.epsilon`, default 10). */
  epsilon: number;
  /** δ of the budget (required; config `signals.delta`, default 1e-5). */
  delta: number;
  /** Where spent budget lives. Default: in memory only (lost on restart: tests only). */
  persistence?: PrivacyPersistence;
}

/** The cost of one release, from the mechanism parameters. */
export interface ReleaseCost {
  rho: number;
  deltaSelection: number;
}

/** Cost of one release with noise multiplier z and publication threshold k. */
export function releaseCost(noiseMultiplier: number, minCount: number): ReleaseCost {
  return { rho: rhoPerRelease(noiseMultiplier), deltaSelection: normalTail((minCount - 1.5) / noiseMultiplier) };
}

/** ε of ρ-zCDP at δ (Bun & Steinke 2016, Prop. 1.3). Infinity when δ ≤ 0. */
export function zcdpToEpsilon(rho: number, delta: number): number {
  if (rho <= 0) return 0;
  if (!(delta > 0)) return Infinity;
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** Tracks spent (ε, δ) for one node and refuses releases past the budget. */
export class PrivacyAccountant {
  private ledger: PrivacyLedger | undefined;

  constructor(private readonly opts: PrivacyAccountantOptions) {}

  private state(): PrivacyLedger {
    this.ledger ??= this.opts.persistence?.load() ?? { rho: 0, deltaSelection: 0, releases: 0 };
    return this.ledger;
  }

  /** ε spent so far (at the configured δ minus the selection δ). */
  spentEpsilon(): number {
    const s = this.state();
    return zcdpToEpsilon(s.rho, this.opts.delta - s.deltaSelection);
  }

  /** A copy of the ledger. */
  snapshot(): PrivacyLedger & { epsilon: number; budgetEpsilon: number; budgetDelta: number } {
    return { ...this.state(), epsilon: this.spentEpsilon(), budgetEpsilon: this.opts.epsilon, budgetDelta: this.opts.delta };
  }

  /** ε after a release of `cost` (without charging). */
  epsilonAfter(cost: ReleaseCost): number {
    const s = this.state();
    return zcdpToEpsilon(s.rho + cost.rho, this.opts.delta - s.deltaSelection - cost.deltaSelection);
  }

  /** Whether a release of `cost` fits in the remaining budget. */
  canAfford(cost: ReleaseCost): boolean {
    return this.epsilonAfter(cost) <= this.opts.epsilon;
  }

  /** How many more releases of `cost` fit. */
  remainingReleases(cost: ReleaseCost): number {
    const s = this.state();
    let n = 0;
    while (n < 1e6 && zcdpToEpsilon(s.rho + (n + 1) * cost.rho, this.opts.delta - s.deltaSelection - (n + 1) * cost.deltaSelection) <= this.opts.epsilon) n++;
    return n;
  }

  /** Charge one release; persists before returning. Throws PRIVACY_BUDGET_SPENT past the budget. */
  charge(cost: ReleaseCost): PrivacyLedger {
    const after = this.epsilonAfter(cost);
    if (!(after <= this.opts.epsilon)) {
      const s0 = this.state();
      if (this.opts.delta - s0.deltaSelection - cost.deltaSelection <= 0) {
        throw new H3lixError('PRIVACY_BUDGET_SPENT', `privacy budget spent: the key-selection δ (${cost.deltaSelection.toExponential(2)} per release) exhausts δ=${this.opts.delta}; raise signals.minCount or lower signals.noiseMultiplier`, {
          detail: { spentEpsilon: this.spentEpsilon(), budget: this.opts.epsilon },
        });
      }
      throw new H3lixError('PRIVACY_BUDGET_SPENT', `privacy budget spent: next release would reach ε=${after.toFixed(3)} > budget ${this.opts.epsilon} (δ=${this.opts.delta})`, {
        detail: { spentEpsilon: this.spentEpsilon(), nextEpsilon: after, budget: this.opts.epsilon },
      });
    }
    const s = this.state();
    const next: PrivacyLedger = { rho: s.rho + cost.rho, deltaSelection: s.deltaSelection + cost.deltaSelection, releases: s.releases + 1 };
    this.opts.persistence?.save(next);
    this.ledger = next;
    return { ...next };
  }
}
