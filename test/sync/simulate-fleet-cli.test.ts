import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cli } from '../helpers/cli.js';

t.test('h3lix simulate fleet: a small sweep prints the table, the JSON summary and writes the plot', async (t) => {
  const plot = join(t.testdir(), 'fleet.svg');
  const r = await cli(['simulate', 'fleet', '--nodes', '4,8', '--steady-min', '1', '--partition-min', '1', '--plot', plot, '--json']);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr.slice(-400));
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  for (const k of ['nodes', 'bytesPerNodePerHour', 'healRounds', 'healBytesPerNode', 'memoryPerNodeBytes', 'converged', 'floorRatio', 'growthExponent']) t.ok(k in out, `--json has ${k}`);
  t.equal(out.nodes, 8);
  t.equal(out.converged, true);
  t.equal((out.runs as unknown[]).length, 2);
  t.equal((out.baseline as unknown[]).length, 2, 'the baseline ran at both sizes');
  t.match(r.stdout, /single-node floor: \d+ B\/h/);
  t.match(r.stdout, /legacy\s+8/);
  t.match(readFileSync(plot, 'utf8'), /<svg[\s\S]*sent \(summary\)[\s\S]*single-node floor/);
  t.match(r.stderr, /simulate fleet: 8 nodes \(summary digests\)/, 'progress on stderr');
});

t.test('h3lix simulate fleet --aggregate --sites sqrt: site aggregates, value error in the JSON', async (t) => {
  const plot = join(t.testdir(), 'sites.svg');
  const r = await cli(['simulate', 'fleet', '--nodes', '9,16', '--sites', 'sqrt', '--aggregate', '--contributions', '2', '--steady-min', '1', '--partition-min', '1', '--no-baseline', '--plot', plot, '--json']);
  t.equal(r.code, 0, r.code === 0 ? 'exit 0' : r.stderr.slice(-400));
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sites: number; aggregate: boolean; converged: boolean; valueError: number; runs: Array<{ sites: number; aggregate: boolean }> };
  t.equal(out.aggregate, true);
  t.same(out.runs.map((x) => x.sites), [3, 4], 'sqrt: 3 sites for 9 boards, 4 for 16');
  t.ok(out.runs.every((x) => x.aggregate));
  t.equal(out.converged, true);
  // 3-4 sites of 3-4 boards: medians of medians, a coarser estimate than the 16-board trimmed mean
  t.ok(out.valueError < 1, `value error ${out.valueError} (finite, reported)`);
  t.match(r.stdout, /summary\+sites\s+16\s+4/);
  t.match(r.stderr, /16 nodes, 4 sites, site aggregates/);
});

t.test('h3lix simulate fleet: bad arguments name what was wrong', async (t) => {
  for (const [args, re] of [
    [['--nodes', '1'], /--nodes must be .* 2\.\.10000, got "1"/],
    [['--nodes', '10,abc'], /--nodes must be .*got "10,abc"/],
    [['--nodes', '20000'], /2\.\.10000/],
    [['--loss', '0.9'], /--loss/],
    [['--partition', '-1'], /--partition/],
    [['--aggregate'], /--aggregate needs --sites of at least 2/],
    [['--sites', 'many'], /--sites must be an integer/],
    [['--site-size', '0'], /--site-size/],
  ] as const) {
    const r = await cli(['simulate', 'fleet', ...args]);
    t.equal(r.code, 64, `${args.join(' ')} exits 64`);
    t.match(r.stderr, re, `${args.join(' ')}: ${r.stderr.trim().split('\n')[0]}`);
  }
});
