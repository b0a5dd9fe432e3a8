import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { H3lixError } from '../../errors.js';
import { simulateFleet, type FleetSimOptions, type FleetSimResult } from '../../sync/sim/sim-fleet.js';
import { logLogSvg } from '../../sync/sim/svg.js';
import { ExitCode } from '../exit-codes.js';
import { UsageError, parsePositiveInt, parsePositiveNumber, writeLine, type CliContext } from '../context.js';

interface FleetOpts {
  nodes: number[];
  sites: number | 'sqrt';
  siteSize?: number;
  aggregate: boolean;
  aggregateEvery: number;
  zoneFanout?: number;
  contributions: number;
  loss: number;
  partition: number;
  partitionMin: number;
  steadyMin: number;
  updateEvery: number;
  seed: number;
  baseline: boolean;
  baselineMax: number;
  plot: string;
  json?: boolean;
}

function parseNodes(value: string): number[] {
  const list = value.split(',').map((v) => v.trim());
  const out = list.map((v) => Number(v));
  if (!list.length || out.some((n, i) => !/^\d+$/.test(list[i]!) || n < 2 || n > 10_000)) throw new UsageError(`--nodes must be a number or a comma-separated list of numbers, each 2..10000, got "${value}"`);
  return [...new Set(out)].sort((a, b) => a - b);
}

function parseSites(value: string): number | 'sqrt' {
  if (value.trim() === 'sqrt') return 'sqrt';
  return parsePositiveInt('--sites', 1, 1000)(value);
}

/** Sites for a fleet of `n`: a number, `sqrt` (round √n), or ceil(n / --site-size). */
function sitesFor(n: number, opts: FleetOpts): number {
  const s = sitesOf(n, opts);
  if (opts.aggregate && s > n) throw new UsageError(`--aggregate: ${s} sites for ${n} nodes; a site needs at least one board (its gateway)`);
  return s;
}

function sitesOf(n: number, opts: FleetOpts): number {
  if (opts.zoneFanout !== undefined && !opts.aggregate) throw new UsageError('--zone-fanout needs --aggregate (zones of zones are a tree of site aggregates)');
  if (opts.zoneFanout !== undefined && opts.siteSize === undefined && opts.sites === 1) return Math.max(2, Math.ceil(n / opts.zoneFanout));
  if (opts.siteSize !== undefined) return Math.max(opts.aggregate ? 2 : 1, Math.ceil(n / opts.siteSize));
  if (opts.sites === 'sqrt') return Math.max(2, Math.round(Math.sqrt(n)));
  if (opts.aggregate && opts.sites < 2) throw new UsageError('--aggregate needs --sites of at least 2 (or sqrt, or --site-size)');
  return opts.sites;
}

/** Slope of log(y) against log(x) between the smallest and largest x (the growth exponent). */
function exponent(points: Array<readonly [number, number]>): number | null {
  if (points.length < 2) return null;
  const [a, b] = [points[0]!, points[points.length - 1]!];
  if (!(a[1] > 0 && b[1] > 0) || a[0] === b[0]) return null;
  return Number((Math.log(b[1] / a[1]) / Math.log(b[0] / a[0])).toFixed(3));
}

const round = (r: FleetSimResult) => ({
  ...r,
  bytesPerNodePerHour: Math.round(r.bytesPerNodePerHour),
  receivedBytesPerNodePerHour: Math.round(r.receivedBytesPerNodePerHour),
  totalBytesPerHour: Math.round(r.totalBytesPerHour),
  sentByKindPerNodePerHour: Object.fromEntries(Object.entries(r.sentByKindPerNodePerHour).map(([k, v]) => [k, Math.round(v)])),
  digestBytes: Math.round(r.digestBytes),
  healBytesPerNode: Math.round(r.healBytesPerNode),
  memoryPerNodeBytes: Math.round(r.memoryPerNodeBytes),
  bridgeBytesPerHour: Math.round(r.bridgeBytesPerHour),
  siteOriginSentBytesPerHour: Math.round(r.siteOriginSentBytesPerHour),
  valueError: Number(r.valueError.toFixed(4)),
  values: undefined,
});

/** `h3lix simulate fleet`: the real sync code over a simulated broker, at one or several fleet sizes. */
export function registerSimulateFleet(simulate: Command, ctx: CliContext): void {
  simulate
    .command('fleet')
    .description('simulate a fleet syncing its field: the real field, codec, signatures and anti-entropy over a simulated broker with latency, loss, sites and a partition (virtual clock); reports bytes per node, heal rounds and memory, against the pre-issue-10 protocol in the same run')
    .option('--nodes <list>', 'fleet size, or a comma-separated list for a sweep (2..10000 each)', parseNodes, [20])
    .option('--sites <n>', 'site brokers bridged to one fleet broker (node i on site i mod S); sqrt: round(√N) per fleet size', parseSites, 1)
    .option('--site-size <m>', 'boards per site instead of --sites (sites = ceil(N / m))', parsePositiveInt('--site-size', 1, 10_000))
    .option('--aggregate', 'site aggregates: each gateway publishes one site origin on the fleet broker; boards receive their own site and the site origins only (docs/sync.md "Site aggregates")', false)
    .option('--zone-fanout <k>', 'with --aggregate: zones of zones, k sites to a zone broker, k zones to the next, up to one fleet broker (sites = ceil(N / k) unless --sites or --site-size); a board holds about k origins per level (docs/sync.md "Zones of zones")', parsePositiveInt('--zone-fanout', 2, 1000))
    .option('--aggregate-every <s>', 'seconds between a gateway\'s aggregation runs', parsePositiveNumber('--aggregate-every', 1, 86_400), 60)
    .option('--contributions <n>', 'keys each board contributes', parsePositiveInt('--contributions', 1, 64), 6)
    .option('--loss <p>', 'probability that one delivery is lost', parsePositiveNumber('--loss', 0, 0.5), 0)
    .option('--partition <fraction>', 'fraction of nodes cut off in the partition phase (0: none)', parsePositiveNumber('--partition', 0, 0.9), 0.1)
    .option('--partition-min <m>', 'minutes the partition lasts (virtual)', parsePositiveNumber('--partition-min', 0.1, 10_080), 5)
    .option('--steady-min <m>', 'steady-state measurement window, minutes (virtual)', parsePositiveNumber('--steady-min', 0.5, 1440), 10)
    .option('--update-every <s>', 'each node updates one of its keys this often in steady state, seconds', parsePositiveNumber('--update-every', 1, 86_400), 60)
    .option('--seed <n>', 'random seed (keys, latency, loss, partition)', parsePositiveInt('--seed', 0, 2 ** 31), 1)
    .option('--no-baseline', 'skip the baseline runs of the pre-issue-10 protocol (whole-vector digests)')
    .option('--baseline-max <n>', 'run the baseline only up to this fleet size (it costs O(N^3) work to simulate)', parsePositiveInt('--baseline-max', 2, 10_000), 100)
    .option('--plot <path>', 'write an SVG plot of bytes per node against fleet size here', './fleet-sim.svg')
    .option('--json', 'print the result as one JSON object (last stdout line)')
    .action((opts: FleetOpts) => {
      const started = performance.now();
      const common: Omit<FleetSimOptions, 'nodes' | 'sites'> = {
        aggregate: opts.aggregate, aggregateEverySec: opts.aggregateEvery, ...(opts.zoneFanout !== undefined ? { zoneFanout: opts.zoneFanout } : {}), contributions: opts.contributions, loss: opts.loss, partition: opts.partition, partitionMin: opts.partitionMin, steadyMin: opts.steadyMin, updateEverySec: opts.updateEvery, seed: opts.seed,
        onProgress: (line) => writeLine(ctx.stderr, `simulate fleet:${line}`),
      };
      // The single-node floor: one board alone sends its own deltas and digests, nothing else.
      for (const n of opts.nodes) sitesFor(n, opts); // usage errors before any run
      const floor = simulateFleet({ ...common, aggregate: false, nodes: 1, partition: 0 });
      const runs: FleetSimResult[] = [];
      const baseline: FleetSimResult[] = [];
      for (const n of opts.nodes) {
        const sites = sitesFor(n, opts);
        writeLine(ctx.stderr, `simulate fleet: ${n} nodes${sites > 1 ? `, ${sites} sites` : ''}${opts.aggregate ? ', site aggregates' : ''}${opts.zoneFanout ? `, zones of ${opts.zoneFanout}` : ''} (summary digests)`);
        runs.push(simulateFleet({ ...common, nodes: n, sites }));
        if (opts.zoneFanout !== undefined && runs[runs.length - 1]!.levels === 1) writeLine(ctx.stderr, `simulate fleet: ${n} nodes: ${sites} sites ≤ --zone-fanout ${opts.zoneFanout}, so no zone level was built (sites directly under the fleet broker)`);
        // each run's numbers as soon as it ends, so a long sweep stopped early keeps them
        writeLine(ctx.stderr, `simulate fleet: run ${JSON.stringify(round(runs[runs.length - 1]!))}`);
        if (opts.baseline && n <= opts.baselineMax) {
          writeLine(ctx.stderr, `simulate fleet: ${n} nodes (baseline: whole-vector digests, fully replicated)`);
          baseline.push(simulateFleet({ ...common, aggregate: false, nodes: n, sites, legacy: true }));
        }
      }
      const series = (rs: FleetSimResult[], f: (r: FleetSimResult) => number) => rs.map((r) => [r.nodes, f(r)] as const);
      try {
        writeFileSync(
          opts.plot,
          logLogSvg('h3lix simulate fleet: bytes per node per hour (steady state)', 'nodes', 'bytes per node per hour', [
            { name: 'sent (summary)', color: '#1f77b4', points: series(runs, (r) => r.bytesPerNodePerHour) },
            { name: 'received (summary)', color: '#2ca02c', points: series(runs, (r) => r.receivedBytesPerNodePerHour) },
            { name: 'sent (baseline)', color: '#d62728', dashed: true, points: series(baseline, (r) => r.bytesPerNodePerHour) },
            { name: 'received (baseline)', color: '#ff7f0e', dashed: true, points: series(baseline, (r) => r.receivedBytesPerNodePerHour) },
            { name: 'single-node floor', color: '#7f7f7f', dashed: true, points: opts.nodes.map((n) => [n, floor.bytesPerNodePerHour] as const) },
          ]),
        );
      } catch (err) {
        throw new H3lixError('STORE_IO', `cannot write plot ${opts.plot}: ${(err as Error).message}`, { cause: err });
      }
      const last = runs[runs.length - 1]!;
      const rows: string[][] = [['protocol', 'nodes', 'sites', 'levels', 'sent B/node/h', 'recv B/node/h', 'digest B', 'heal rounds', 'heal B/node', 'heap B/node', 'converged', 'value err', 'wall s']];
      for (const r of [...runs, ...baseline].sort((a, b) => a.nodes - b.nodes || a.protocol.localeCompare(b.protocol))) {
        rows.push([r.aggregate ? `${r.protocol}+sites` : r.protocol, String(r.nodes), String(r.sites), String(r.levels), r.bytesPerNodePerHour.toFixed(0), r.receivedBytesPerNodePerHour.toFixed(0), r.digestBytes.toFixed(0), String(r.healRounds ?? '-'), r.healBytesPerNode.toFixed(0), r.memoryPerNodeBytes.toFixed(0), String(r.converged), r.valueError.toFixed(3), r.wallSec.toFixed(1)]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
      writeLine(ctx.stdout, `single-node floor: ${floor.bytesPerNodePerHour.toFixed(0)} B/h sent (own deltas and digests)`);
      for (const row of rows) writeLine(ctx.stdout, row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
      const out = {
        nodes: last.nodes,
        sites: last.sites,
        aggregate: opts.aggregate,
        levels: last.levels,
        zoneFanout: opts.zoneFanout ?? null,
        valueError: Number(Math.max(...runs.map((r) => r.valueError)).toFixed(4)),
        loss: opts.loss,
        converged: runs.every((r) => r.converged),
        bytesPerNodePerHour: Math.round(last.bytesPerNodePerHour),
        receivedBytesPerNodePerHour: Math.round(last.receivedBytesPerNodePerHour),
        floorBytesPerNodePerHour: Math.round(floor.bytesPerNodePerHour),
        floorRatio: Number((last.bytesPerNodePerHour / floor.bytesPerNodePerHour).toFixed(3)),
        healRounds: last.healRounds,
        healBytesPerNode: Math.round(last.healBytesPerNode),
        memoryPerNodeBytes: Math.round(last.memoryPerNodeBytes),
        growthExponent: exponent(series(runs, (r) => r.totalBytesPerHour)),
        sentGrowthExponent: exponent(series(runs, (r) => r.bytesPerNodePerHour * r.nodes)),
        baselineGrowthExponent: exponent(series(baseline, (r) => r.totalBytesPerHour)),
        runs: runs.map(round),
        baseline: baseline.map(round),
        plot: opts.plot,
      };
      writeLine(ctx.stderr, `simulate fleet: done in ${((performance.now() - started) / 1000).toFixed(1)} s, plot ${opts.plot}`);
      if (opts.json) writeLine(ctx.stdout, JSON.stringify(out));
      ctx.setExitCode(out.converged ? ExitCode.OK : ExitCode.FAILED);
    });
}
