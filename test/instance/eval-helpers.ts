/** Shared by the eval tests: run `h3lix eval --json` in-process and parse the last line; the claim predicate. */
import type { Test } from 'tap';
import type { FleetEvalResult } from '../../src/instance/eval/types.js';
import { cli } from '../helpers/cli.js';

export type EvalJson = FleetEvalResult & {
  poisoning?: { dropPoints: number; excessDropPoints: number; attackers: string[] };
  daemons?: { diffPoints: number; predictions: number; testRows: number; ccf: FleetEvalResult['ccf'] };
};

export async function evalJson(t: Test, args: string[]): Promise<EvalJson> {
  const r = await cli(['eval', ...args, '--json']);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as EvalJson;
}

/** The claim on novel classes, as one predicate so that its negative control runs the same check. */
export function claim(r: FleetEvalResult): { plus20: boolean; nearCentral: (points: number) => boolean } {
  return {
    plus20: (r.ccf.novelAccuracy ?? 0) - (r.bestNoNetwork.novelAccuracy ?? 0) >= 0.2,
    nearCentral: (points) => r.ccf.accuracy >= r.central!.accuracy - points / 100,
  };
}

