import type { EnergyMode } from './modes.js';

/** What a task's `run` receives. */
export interface TaskRunContext {
  /** Energy mode when the run started. */
  mode: EnergyMode;
  /** True when this run was forced by its deadline (budget/mode gate bypassed). */
  forcedByDeadline: boolean;
  /**
   * Report the CPU time this run used, ms (e.g. measured in the inference worker). When not reported,
   * the scheduler uses the process CPU time (`process.cpuUsage`) consumed between start and end.
   */
  reportCpuMs(ms: number): void;
}

/** A task registered with the `EnergyScheduler`. */
export interface TaskSpec {
  /** Unique name (e.g. 'sync', 'signals', 'consolidate', 'train-head', 'model-swap'). */
  name: string;
  run(ctx: TaskRunContext): Promise<void>;
  /** Cadence on monotonic time, ms. Give this, `cron`, or neither (a gate-only task used through `runNow`/`canRun`). */
  intervalMs?: number;
  /** Wall-clock cadence, a 5-field cron expression (matched by node-cron). */
  cron?: string;
  /** Cadence class whose per-mode multiplier scales `intervalMs` (e.g. 'sync', 'learning'). Default none (×1). */
  cadence?: string;
  /** Least mode the task runs in. Default 'survival' (every mode). */
  minMode?: EnergyMode;
  /** Explicit allowed modes; overrides `minMode`. Default: modes at or above `minMode`. */
  allowedModes?: readonly EnergyMode[];
  /** Deferrable tasks also need the energy budget to cover their cost. Default true. */
  deferrable?: boolean;
  /**
   * An occurrence not run within this many ms of its due time is past its deadline: it then runs if
   * the mode is at least `conserve`, otherwise it is reported missed. Default none (it just waits).
   */
  deadlineMs?: number;
  /** Initial cost estimate, J; learned from runs afterwards. Default 0. */
  costEstimateJ?: number;
  /** Hold the update lock while running (model swaps, training). Default false. */
  updateLock?: boolean;
  /** Whether there is work to do; false skips the occurrence as 'idle'. Default: always ready. */
  ready?(): boolean;
  /** Delay before the first occurrence, ms. Default one (scaled) interval. */
  firstDelayMs?: number;
}

/** Why an occurrence did not run (yet). */
export type SkipReason = 'mode' | 'budget' | 'locked' | 'idle' | 'running' | 'missed';

/** Per-task counters (`EnergyScheduler.stats()`). */
export interface TaskStats {
  name: string;
  runs: number;
  failures: number;
  /** Occurrences skipped or deferred, counted once per occurrence and reason. */
  skipped: Record<SkipReason, number>;
  /** Runs forced by a deadline. */
  deadlineRuns: number;
  /** Occurrences that arrived while an older one was still pending (merged into it). */
  coalesced: number;
  /** Energy spent, J (CPU time × (busyWatts − idleWatts)). */
  energyJ: number;
  /** Current learned cost estimate, J. */
  costEstimateJ: number;
  /** Wall time of the last run start, ms. */
  lastRunAt?: number;
}

export function emptyStats(name: string, costEstimateJ: number): TaskStats {
  return {
    name,
    runs: 0,
    failures: 0,
    skipped: { mode: 0, budget: 0, locked: 0, idle: 0, running: 0, missed: 0 },
    deadlineRuns: 0,
    coalesced: 0,
    energyJ: 0,
    costEstimateJ,
  };
}
