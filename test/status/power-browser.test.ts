/**
 * The wake/sleep plan on the status page, in headless Chromium against a real daemon:
 * - with the companion MCU (the reference firmware's host build on a pty, an `mcu:` energy source):
 *   the last wake reason the MCU reported (cold start), the plan at a healthy battery (stay awake),
 *   and, live without a reload, the plan turning to sleep with its wake time and SOC threshold once
 *   the MCU's battery runs nearly flat;
 * - without an MCU (control): the page says that nothing manages power, and shows no plan.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startFirmware } from '../../firmware-bridge/src/firmware/run.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { systemClock } from '../../src/util/clock.js';
import { McuPowerClient } from '../../firmware-bridge/src/mcu/power-client.js';
import { firmwareSkipReason } from '../firmware-bridge/firmware-helpers.js';
import { until } from '../helpers/until.js';
import { validateConfig } from '../../src/config/load.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { energyFeatureFactory, type DaemonEnergyFeature } from '../../src/daemon/features/energy.js';
import { statusFeatureFactory, type DaemonStatusFeature } from '../../src/daemon/features/status.js';
import type { FeatureHandles } from '../../src/daemon/features.js';
import { get } from './http.js';
import { startStatusDaemon } from './rig.js';

declare const document: { getElementById(id: string): { textContent: string | null; getAttribute(n: string): string | null } | null };

const CHROMIUM = '/usr/bin/chromium';
const skipBrowser = existsSync(CHROMIUM) ? undefined : 'chromium not installed (apt-get install chromium)';

async function browser(t: { teardown(fn: () => unknown): void }): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'h3lix-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--no-first-run'],
    viewport: { width: 390, height: 844 },
  });
  t.teardown(async () => {
    await ctx.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { ctx, page, errors };
}

const textOf = (page: Page, id: string): Promise<string> => page.evaluate((i) => document.getElementById(i)?.textContent ?? '', id);

t.test('without a companion MCU the page says nothing manages power (control)', { skip: skipBrowser }, async (t) => {
  const rig = await startStatusDaemon(join(t.testdir(), 'data'), 'stnomcu');
  t.teardown(() => rig.stop());
  const { page, errors } = await browser(t);
  await page.goto(rig.base + '/');
  await page.waitForFunction(() => document.getElementById('power-card')?.getAttribute('data-managed') === 'no', undefined, { timeout: 10_000 });
  t.match(await textOf(page, 'power-note'), /^no companion MCU \(no energy source\): nothing puts the host to sleep or wakes it$/);
  t.equal(await textOf(page, 'power-plan'), '–', 'no plan shown');
  t.equal(await textOf(page, 'power-last'), '–', 'no wake reason shown');
  t.notMatch((await get(rig.base + '/metrics')).body, /h3lix_power_/, 'control: no power families without an MCU');
  t.same(errors, []);
});

t.test('with the companion MCU: last wake reason, plan awake, then sleep with its wake, live', { skip: skipBrowser ?? firmwareSkipReason('host') }, async (t) => {
  const dir = t.testdir();
  const pty = join(dir, 'ttyMCU');
  const fw = await startFirmware({ target: 'host', pty });
  t.teardown(() => fw.stop());
  // No sun before the daemon learns its forecast: the emulated PV follows the MCU's clock (the host's
  // wall time), so in daytime hours the planner would forecast enough PV never to plan a sleep.
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  const direct = new McuClient({ stream: link.stream, clock: systemClock });
  direct.start();
  try {
    await new McuPowerClient(direct).emulation({ speed: 1, pvScalePerMille: 0 });
  } finally {
    direct.stop();
    await link.close();
  }
  const rig = await mcuDaemon(join(dir, 'data'), pty);
  t.teardown(() => rig.daemon.stop());
  const energy = rig.handles.energy!;
  t.ok(energy.sleep, 'the mcu: source has sleep control, on the handle');
  await until(() => energy.feature.snapshot() !== undefined && energy.sleep!.state().lastWake !== null, 10_000, 'a reading and the wake reason from the MCU');

  const { page, errors } = await browser(t);
  await page.goto(rig.base + '/');
  await page.waitForFunction(() => document.getElementById('power-card')?.getAttribute('data-managed') === 'yes', undefined, { timeout: 10_000 });
  t.equal(await textOf(page, 'power-note'), 'the companion MCU manages host power');
  await page.waitForFunction(() => document.getElementById('power-plan')?.textContent === 'stay awake', undefined, { timeout: 10_000 });
  t.pass('healthy battery: the plan is to stay awake');
  t.match(await textOf(page, 'power-last'), /^cold \(.* ago, slept 0 min\)$/, 'last wake: cold start, as the MCU reported it');
  t.equal(await textOf(page, 'power-wake'), '–', 'no wake planned while awake');
  t.match(await textOf(page, 'power-reason'), /forecast keeps SOC above 12\.0%|SOC reaches the floor in/, 'the planner’s reason');

  // the MCU's battery model runs nearly flat at night: the plan on the page turns to sleep, live
  await new McuPowerClient(rig.mcu()).emulation({ speed: 1, socPerMille: 110, pvScalePerMille: 0 });
  await page.waitForFunction(() => document.getElementById('power-plan')?.textContent === 'sleep', undefined, { timeout: 15_000 });
  t.pass('the plan shows sleep without a reload');
  t.match(await textOf(page, 'power-wake'), /^by .+ \(in .+\) or at SOC 27 %$/, 'wake time at the latest and the SOC threshold (floor 12 % + margin 15 %)');
  t.match(await textOf(page, 'power-reason'), /^SOC 1[01]\.\d% would fall below 12\.0%/);
  t.match(await textOf(page, 'power-sleep'), /^now \(planner round /, 'armed at the next planning round');
  t.equal(energy.sleep!.sleeping, undefined, 'the page only shows the plan: nothing armed by looking');
  const metrics = (await get(rig.base + '/metrics')).body;
  t.match(metrics, /^h3lix_power_sleep_planned 1$/m, '/metrics: the plan says sleep');
  t.match(metrics, /^h3lix_power_wake_timestamp_seconds \d+$/m, '/metrics: the planned wake');
  t.match(metrics, /^h3lix_power_last_wake_info\{reason="cold"\} 1$/m, '/metrics: the last wake reason');
  t.same(errors, []);
  await page.locator('#power-card').screenshot({ path: join(import.meta.dirname, '..', '..', 'docs', 'status-power.png') });
});

/** A daemon with the energy feature on the MCU (its feature kept, to reach the MCU it owns) and the status page. */
async function mcuDaemon(dataDir: string, pty: string) {
  const config = validateConfig({
    node: { dataDir, fleet: 'stmcu', board: 'rpi-4' },
    broker: { embedded: { enabled: true, host: '127.0.0.1', port: 0 }, reconnectMs: 100 },
    energySource: { uri: `mcu:${pty}` },
    energy: { publishIntervalSeconds: 1 },
    instance: { enabled: false },
    status: { enabled: true, port: 0, pushIntervalMs: 200 },
    log: { level: 'silent' },
  });
  const handles: FeatureHandles = {};
  let feature: DaemonEnergyFeature | undefined;
  let status: DaemonStatusFeature | undefined;
  const energyFactory = energyFeatureFactory(handles);
  const daemon = createDaemon({ config, features: [(ctx) => (feature = energyFactory(ctx) as DaemonEnergyFeature), statusFeatureFactory(handles, { onStarted: (f) => (status = f) })], drainTimeoutMs: 300 });
  await daemon.start();
  const mcu = (): ConstructorParameters<typeof McuPowerClient>[0] => {
    const c = (feature as unknown as { source?: { mcu?: () => unknown } }).source?.mcu?.();
    if (!c) throw new Error('no MCU client');
    return c as ConstructorParameters<typeof McuPowerClient>[0];
  };
  return { daemon, handles, base: `http://127.0.0.1:${status!.statusServer!.port}`, mcu };
}
