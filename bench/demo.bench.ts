/**
 * `h3lix demo --nodes 40` (docs/sync.md "`h3lix demo --nodes 40`"). Run: `npx tsx bench/run.ts demo`
 * Three runs each of the demo as shipped (broker on its own thread, daemons over worker threads) and
 * of the baseline in the same run: all 40 daemons and the broker on one event loop (`threads: 0`, the
 * broker in this thread as before). Target: converged within the default 20 s on every run.
 * H3LIX_BENCH_DEMO_RUNS sets the runs per variant (default 3).
 */
import { runDemo, type DemoResult } from '../src/daemon/demo-cluster.js';
import { EmbeddedBroker } from '../src/sync/embedded-broker.js';
import type { BenchRow } from './row.js';

const RUNS = Number(process.env.H3LIX_BENCH_DEMO_RUNS ?? 3);

async function oneLoop(): Promise<DemoResult> {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  try {
    return await runDemo({ nodes: 40, threads: 0, brokerUrl: broker.url });
  } finally {
    await broker.stop();
  }
}

export async function run(): Promise<BenchRow[]> {
  const ours: DemoResult[] = [];
  const base: DemoResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await runDemo({ nodes: 40 }));
    base.push(await oneLoop());
    process.stderr.write(`bench demo: run ${i + 1}/${RUNS}: shipped ${ours[i]!.converged ? `${ours[i]!.convergedAfterMs} ms` : `no (${ours[i]!.complete}/40)`}, one loop ${base[i]!.converged ? `${base[i]!.convergedAfterMs} ms` : `no (${base[i]!.complete}/40)`}\n`);
  }
  const converged = (rs: DemoResult[]) => rs.filter((r) => r.converged).length;
  const slowest = (rs: DemoResult[]) => Math.max(...rs.map((r) => (r.converged ? r.convergedAfterMs! : r.seconds * 1000)));
  const bytes = (rs: DemoResult[]) => Math.round(rs.reduce((a, r) => a + r.bytesSent, 0) / rs.length / 40);
  return [
    { metric: `demo --nodes 40: runs converged within 20 s (of ${RUNS})`, value: converged(ours), baseline: converged(base), baselineName: 'all daemons and the broker on one event loop', unit: 'runs', target: `= ${RUNS}`, ok: converged(ours) === RUNS },
    { metric: 'demo --nodes 40: slowest run (time to converge, or to the 20 s stop)', value: slowest(ours), baseline: slowest(base), baselineName: 'one event loop', ratio: slowest(ours) / slowest(base), unit: 'ms', target: '<= 20000', ok: slowest(ours) < 20_000 },
    { metric: 'demo --nodes 40: bytes sent per node (mean)', value: bytes(ours), baseline: bytes(base), baselineName: 'one event loop', ratio: bytes(ours) / bytes(base), unit: 'B' },
  ];
}
