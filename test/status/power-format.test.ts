/** The power summary (companion MCU plan) and the `h3lix status` lines for power and learning, at unit level. */
import t from 'tap';
import type { SleepControlState } from '../../src/energy/sleep-control.js';
import { learningLines, powerLines } from '../../src/status/format.js';
import { planSummary, powerSummary } from '../../src/status/power.js';
import type { StatusSummary } from '../../src/status/summary.js';

const NOW = Date.UTC(2026, 11, 1, 20, 0, 0);
const base = (extra: Partial<StatusSummary>): StatusSummary => ({
  v: 1, node: 'n1', fleet: 'f', board: 'rpi-4', time: NOW, from: 'daemon', mqtt: 'connected', energy: null,
  field: { contributions: 0, keyCount: 0, originCount: 0, digest: 'ab', keys: [] }, peers: [], privacy: null, outbox: { messages: 0, bytes: 0 }, sync: null, learning: null, power: null, ...extra,
});
const state = (o: Partial<SleepControlState> = {}): SleepControlState => ({ enabled: true, linked: true, lastWake: { reason: 'soc', sleptSeconds: 3600, at: NOW - 120_000 }, lastDecision: null, preview: null, nextPlanAt: NOW + 600_000, armed: null, ...o });

t.test('power summary: no MCU, MCU awake with a floor time, MCU sleeping with its wake; link down, disabled, armed', async (t) => {
  t.match(powerSummary(undefined, undefined, NOW), { managed: false, plan: null, note: /no companion MCU \(no energy source\)/ });
  t.match(powerSummary(undefined, 'vedirect:/dev/ttyUSB0', NOW).note, /energy source vedirect:\/dev\/ttyUSB0 only reports readings/);
  const awake = powerSummary(state({ preview: { sleep: false, reason: 'SOC reaches the floor in 5.5 h', hoursToFloor: 5.5 } }), 'mcu:/dev/ttyACM0', NOW);
  t.match(awake, { managed: true, note: 'the companion MCU manages host power', plan: { sleep: false, floorAt: NOW + 5.5 * 3_600_000, wakeAt: null } });
  t.equal(planSummary(NOW, { sleep: false, reason: 'x', hoursToFloor: Infinity }).floorAt, null, 'no floor within the horizon');
  const asleep = powerSummary(state({ preview: { sleep: true, reason: 'SOC 11.0% would fall below 12.0%', wakeAt: NOW + 9 * 3_600_000 + 20_000, wakeSoc: 0.27, hoursToFloor: 0 } }), 'mcu:x', NOW);
  t.match(asleep.plan, { sleep: true, wakeAt: NOW + 9 * 3_600_000, wakeSoc: 0.27 }, 'times rounded to the minute');
  t.match(powerSummary(state({ linked: false }), 'mcu:x', NOW).note, /link is down/);
  t.match(powerSummary(state({ enabled: false }), 'mcu:x', NOW).note, /planned sleep is off/);
  t.match(powerSummary(state({ armed: 'low' }), 'mcu:x', NOW), { note: 'sleep armed on the companion MCU: low', nextPlanAt: NOW + 600_000 });

  const lines = powerLines(base({ power: asleep })).join('\n');
  t.match(lines, /^power {5}the companion MCU manages host power$/m);
  t.match(lines, /^ {2}plan {4}sleep now: SOC 11\.0% would fall below 12\.0%; wake by 2026-12-02 05:00Z \(in 9 h\) or at SOC 27 %$/m);
  t.match(lines, /^ {2}wake {4}last woken: soc after 3600 s asleep \(2 min ago\)$/m);
  t.match(powerLines(base({ power: awake })).join('\n'), /awake: SOC reaches the floor in 5\.5 h; next sleep around 2026-12-02 01:30Z \(in 6 h\)/);
  t.same(powerLines(base({ power: powerSummary(undefined, undefined, NOW) })), ['power     no companion MCU (no energy source): nothing puts the host to sleep or wakes it']);
  t.match(powerLines(base({ power: powerSummary(state({ lastWake: null }), 'mcu:x', NOW) })).join('\n'), /plan {4}none yet[\s\S]*has not reported a wake reason/);
  t.same(powerLines(base({ from: 'data-dir' })), ['power     (only the running daemon knows)']);
});

t.test('learning line: off, no feedback yet, accuracy', async (t) => {
  t.match(learningLines(base({})).join(''), /learning {2}off/);
  t.match(learningLines(base({ from: 'data-dir' })).join(''), /only the running daemon knows/);
  const l = { received: 3, predicted: 3, feedback: 0, rejected: 0, accuracy: { total: 0, correct: 0, wrong: 0, unpredicted: 0, window: 100, windowTotal: 0, windowCorrect: 0, accuracy: null } };
  t.match(learningLines(base({ learning: l })).join(''), /no labelled observation yet/);
  t.match(learningLines(base({ learning: { ...l, accuracy: { ...l.accuracy, total: 10, correct: 8, wrong: 2, windowTotal: 10, windowCorrect: 8, accuracy: 0.8 } } })).join(''), /accuracy on feedback 80 % over the last 10 \(8 correct\); since start 8\/10 correct, 2 wrong, 0 unpredicted/);
});
