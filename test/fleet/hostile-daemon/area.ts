import type { Test } from 'tap';
import { buildRunDaemon } from '../../../src/cli/commands/run.js';
import { createLogger } from '../../../src/util/logger.js';
import { until } from '../../helpers/until.js';
import type { Defence } from '../../../src/sync/defences.js';
import { startRig, type Rig, type RigOptions } from './rig.js';

/** What one attack observed. `accepted`: it reached its goal (the field, a session, credentials...). */
export interface Outcome {
  accepted: boolean;
  /** How the refusal showed (counter or code); required when refused. */
  refusedBy?: string;
}

/**
 * One hostile case. `defence`: the test switch that turns its defence off; the same attack must then be
 * ACCEPTED (negative control, one daemon per defence). `twin`: for a pure parse failure no switch can
 * turn off; its well-formed twin through the same path must be accepted instead (positive control).
 * `skip`: a counted skip with its reason (a missing program).
 */
export interface HostileCase {
  name: string;
  /** Several switches: a case two layers refuse (each alone suffices); its control turns both off. */
  defence?: Defence | Defence[];
  twin?: (r: Rig) => Promise<boolean>;
  skip?: string | false;
  attack(r: Rig): Promise<Outcome>;
}

/**
 * A refusal, confirmed (`refusedBy` set) only when `confirmed` holds. An unconfirmed refusal fails the
 * defended run, and it never counts as acceptance in a control: every case returns
 * `{ accepted: true }` only on positive evidence (a CONNACK 0, a routed PUBLISH, a grant, a field entry...).
 */
export const refused = (by: string, confirmed: boolean): Outcome => (confirmed ? { accepted: false, refusedBy: by } : { accepted: false });

/**
 * Runs `cases` against one defended gateway (every case refused, then the daemon is up, its field holds
 * only the legitimate contributions and its store restores the same field on restart), then one
 * gateway per defence with only that switch off (every case of it accepted). Prints the counts as
 * `HOSTILE <area>: ...` for the docs.
 */
export function runArea(t: Test, area: string, cases: HostileCase[], opts: RigOptions = {}): void {
  const live = cases.filter((c) => !c.skip);
  t.test(`${area}: every attack on a real gateway daemon is refused; the daemon and its field are intact`, async (t) => {
    const r = await startRig(t, '', opts);
    // A legitimate contribution first: shows the observation sees what reaches the field.
    r.b.daemon.context.field.contributeLocal('honest', Float32Array.of(1, 2, 3, 4), 1);
    await until(() => r.gw.daemon.context.field.get(r.bId, 'honest') !== undefined, 10_000, "b's honest contribution at the gateway");
    const before = new Map(r.gw.daemon.context.field.contributions().map((c) => [`${c.origin}/${c.key}`, c.version]));
    let accepted = 0;
    for (const c of cases) {
      if (c.skip) {
        t.test(c.name, { skip: c.skip }, () => undefined);
        continue;
      }
      const o = await c.attack(r);
      if (o.accepted) accepted++;
      t.notOk(o.accepted, `${c.name}: refused`);
      t.ok(o.refusedBy, `${c.name}: refusal observed (${o.refusedBy ?? 'none'})`);
      if (c.twin) t.ok(await c.twin(r), `${c.name}: its well-formed twin IS accepted through the same path (positive control)`);
    }
    await intact(t, r, before);
    t.equal(accepted, 0, `${live.length} cases, 0 accepted`);
    const switched = live.filter((c) => c.defence).length;
    const layered = live.filter((c) => Array.isArray(c.defence)).length;
    const twins = live.filter((c) => c.twin).length;
    t.comment(`HOSTILE ${area}: cases=${cases.length} run=${live.length} skipped=${cases.length - live.length} accepted=${accepted} switch-controls=${switched} (two-switch=${layered}) twin-controls=${twins}`);
  });
  const key = (c: HostileCase) => (c.defence === undefined ? undefined : [c.defence].flat().join(','));
  const groups = [...new Set(live.map(key).filter((d): d is string => d !== undefined))];
  for (const d of groups) {
    t.test(`${area}: negative control, ${d} off: the same attacks are accepted`, async (t) => {
      const r = await startRig(t, d, opts);
      for (const c of live.filter((x) => key(x) === d)) {
        const o = await c.attack(r);
        t.ok(o.accepted, `${c.name}: ACCEPTED with ${d} off (the ${d} defence is what refuses it)`);
      }
    });
  }
}

/** Daemon up, field only holding what was there or legitimate (b's twins), store restores the field. */
async function intact(t: Test, r: Rig, before: Map<string, number>): Promise<void> {
  const ctx = r.gw.daemon.context;
  await until(() => ctx.transport.connected, 5000, 'the gateway connected').catch(() => undefined);
  t.ok(ctx.transport.connected, 'the gateway daemon is up and connected to its own broker');
  t.equal(await r.tryConnect(r.bLogin('after')), 'accepted', 'a legitimate client still connects');
  const foreign = ctx.field.contributions().filter((c) => before.get(`${c.origin}/${c.key}`) !== c.version && !(c.origin === r.bId && c.key.startsWith('legit-')));
  t.same(
    foreign.map((c) => `${c.origin}/${c.key}@${c.version}`),
    [],
    'the field holds only the contributions it had before the attacks, plus the legitimate ones b signed (keys legit-*)',
  );
  t.same(ctx.field.origins().filter((o) => o !== r.gwId && o !== r.bId), [], 'no origin but the two boards');
  const digest = ctx.field.digest();
  await r.gw.daemon.stop('hostile run done');
  const again = await buildRunDaemon({ config: r.gwConfig, logger: createLogger('silent'), jitterMs: 50, drainTimeoutMs: 300 });
  await again.daemon.start();
  t.teardown(() => again.daemon.stop('test end'));
  t.equal(again.daemon.context.field.digest(), digest, 'restarted from its data dir, the gateway restores the same field (store intact)');
}
