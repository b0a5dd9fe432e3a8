import t from 'tap';
// serialport is CommonJS: use its own MockBinding instance (the ESM build of @serialport/binding-mock is another singleton).

import { SerialPortMock } from 'serialport';
const MockBinding = SerialPortMock.binding;
import type { EnergyReading } from '../../src/energy/reading.js';
import { ManualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import type { OpenablePort } from '../../firmware-bridge/src/link/link.js';
import { openEnergySource } from '../../firmware-bridge/src/source/open.js';
import type { SourceStatus } from '../../firmware-bridge/src/source/energy-source.js';
import { parseSourceUri } from '../../firmware-bridge/src/source/uri.js';
import { encodeVeDirectBlock } from '../../firmware-bridge/src/vedirect/protocol.js';
import { flush } from './helpers.js';

const createPort = (o: { path: string; baudRate: number; autoOpen: false }) => new SerialPortMock(o) as unknown as OpenablePort;
const BLOCK = encodeVeDirectBlock([['V', '12800'], ['I', '-500'], ['VPV', '0'], ['PPV', '0'], ['CS', '0']]);

t.test('URIs: accepted forms and named errors', async (t) => {
  t.match(parseSourceUri('vedirect:/dev/ttyUSB0'), { protocol: 'vedirect', transport: { kind: 'serial', path: '/dev/ttyUSB0', baudRate: 19200 } });
  t.match(parseSourceUri('mcu:/dev/ttyACM0?interval=500&retries=1'), { protocol: 'mcu', intervalMs: 500, retries: 1, transport: { baudRate: 115200 } });
  t.match(parseSourceUri('modbus-epever:/dev/ttyUSB1?unit=3'), { protocol: 'modbus-epever', unit: 3, transport: { baudRate: 115200 } });
  t.match(parseSourceUri('modbus-renogy:/dev/ttyUSB1'), { transport: { baudRate: 9600 } });
  const byId = '/dev/serial/by-id/usb-VictronEnergy_BV_VE_Direct_cable_VE4ZGH1W-if00-port0';
  t.match(parseSourceUri(`vedirect:${byId}`), { transport: { path: byId } });
  t.match(parseSourceUri('vedirect:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0?baud=9600'), { transport: { path: '/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0', baudRate: 9600 } });
  t.match(parseSourceUri('tcp://10.0.0.5:4001?protocol=vedirect'), { protocol: 'vedirect', transport: { kind: 'tcp', host: '10.0.0.5', port: 4001 } });
  t.match(parseSourceUri('tcp://[::1]:4001?protocol=modbus-epever&unit=2'), { transport: { host: '::1' }, unit: 2 });
  const bad: Array<[string, RegExp]> = [
    ['/dev/ttyUSB0', /no scheme/],
    ['serial:/dev/ttyUSB0', /unknown scheme "serial"/],
    ['vedirect:', /empty device path/],
    ['vedirect:/dev/x?baud=fast', /baud="fast"/],
    ['vedirect:/dev/x?speed=1', /unknown parameter "speed"/],
    ['vedirect:/dev/x?unit=2', /unit= only applies/],
    ['modbus-epever:/dev/x?unit=300', /unit="300" must be an integer 1..247/],
    ['tcp://host?protocol=vedirect', /host and port/],
    ['tcp://host:4001', /needs \?protocol=/],
    ['tcp://host:4001?protocol=nmea', /unknown protocol "nmea"/],
    ['tcp://host:99999?protocol=mcu', /port 99999/],
    ['vedirect://dev/ttyUSB0', /a path/],
  ];
  for (const [uri, msg] of bad) t.throws(() => parseSourceUri(uri), { code: 'SOURCE_URI', message: msg }, uri);
});

t.test('VE.Direct source on a mock port: readings, rejects, reconnect with capped backoff', async (t) => {
  MockBinding.reset();
  t.teardown(() => MockBinding.reset());
  const clock = new ManualClock();
  const source = openEnergySource('vedirect:/dev/ttyMOCK0?reconnect_max=1000', { clock, logger: silentLogger(), createPort });
  const readings: EnergyReading[] = [];
  const statuses: SourceStatus[] = [];
  const rejects: string[] = [];
  source.events.on('reading', (r) => readings.push(r));
  source.events.on('status', (s) => statuses.push(s));
  source.events.on('reject', (r) => rejects.push(r.reason));
  source.start();
  await flush(5);
  // the port does not exist yet: error, retries at 250, 500, 1000, 1000 (capped)
  t.match(statuses, [{ state: 'connecting' }, { state: 'error', retryInMs: 250 }]);
  t.match(statuses[1]!.reason, /does not exist|ENOENT|cannot open/);
  for (const ms of [250, 500, 1000]) {
    clock.advance(ms);
    await flush(5);
  }
  t.same(statuses.filter((s) => s.state === 'error').map((s) => s.retryInMs), [250, 500, 1000, 1000], 'backoff doubles up to the cap');
  MockBinding.createPort('/dev/ttyMOCK0', { echo: false, record: true });
  clock.advance(1000);
  await flush(5);
  t.equal(statuses.at(-1)!.state, 'open');
  const port = (source as unknown as { link: { stream: { port: { emitData(b: Buffer): void } } } }).link.stream.port;
  port.emitData(Buffer.concat([BLOCK.subarray(10), BLOCK, BLOCK]));
  await flush(5);
  t.equal(readings.length, 2);
  t.same(rejects, ['partial-block']);
  t.match(readings[0], { source: 'vedirect:/dev/ttyMOCK0?reconnect_max=1000', batteryVoltage: 12.8, batteryCurrent: -0.5, extra: { CS: 0 } });
  t.equal(source.counters.readings, 2);
  await source.stop();
  t.equal(statuses.at(-1)!.reason, 'stopped');
  t.equal(clock.pendingTimers(), 0, 'no timers left behind');
});

t.test('stale watchdog: an open port that goes quiet is reopened', async (t) => {
  MockBinding.reset();
  t.teardown(() => MockBinding.reset());
  MockBinding.createPort('/dev/ttyMOCK1', { echo: false });
  const clock = new ManualClock();
  const source = openEnergySource('vedirect:/dev/ttyMOCK1?stale=3000', { clock, logger: silentLogger(), createPort });
  const statuses: SourceStatus[] = [];
  source.events.on('status', (s) => statuses.push(s));
  source.start();
  await flush(5);
  clock.advance(3000);
  await flush(5);
  t.match(statuses.map((s) => s.state), ['connecting', 'open', 'error']);
  t.match(statuses[2]!.reason, /no reading for 3000 ms/);
  clock.advance(250);
  await flush(5);
  t.equal(statuses.at(-1)!.state, 'open', `reconnected (${statuses.at(-1)!.reason ?? ''})`);
  t.equal(source.counters.connects, 2);
  await source.stop();
});

t.test('config section energySource and board-profile URIs', async (t) => {
  const { parseConfigText } = await import('../../src/config/load.js');
  const { sourceUriFromProfile } = await import('../../firmware-bridge/src/source/uri.js');
  const minimal = 'node:\n  id: n1\n  fleet: f1\n';
  t.same(parseConfigText(minimal).energySource, { modbusVariant: 'epever' }, 'defaults');
  const withUri = (uri: string) => {
    try {
      return parseConfigText(minimal, { H3LIX_ENERGY_SOURCE__URI: uri });
    } catch (err) {
      return err as Error;
    }
  };
  t.equal(parseConfigText(minimal, { H3LIX_ENERGY_SOURCE__URI: 'vedirect:/dev/ttyUSB0' }).energySource.uri, 'vedirect:/dev/ttyUSB0', 'env override sets the URI');
  const bad = withUri('serial:/dev/ttyUSB0');
  t.ok(bad instanceof Error && /energySource\.uri/.test(bad.message) && /unknown scheme "serial"/.test(bad.message), `bad URI rejected naming the key: ${(bad as Error).message}`);
  t.equal(sourceUriFromProfile({ path: '/dev/ttyUSB0', baud: 19200, protocol: 'vedirect' }), 'vedirect:/dev/ttyUSB0');
  t.equal(sourceUriFromProfile({ path: '/dev/ttyUSB0', baud: 115200, protocol: 'modbus' }), 'modbus-epever:/dev/ttyUSB0');
  t.equal(sourceUriFromProfile({ path: '/dev/ttyAMA0', baud: 9600, protocol: 'modbus' }, 'epever'), 'modbus-epever:/dev/ttyAMA0?baud=9600');
  t.equal(sourceUriFromProfile({ path: '/dev/ttyUSB1', baud: 9600, protocol: 'modbus' }, 'renogy'), 'modbus-renogy:/dev/ttyUSB1');
  t.throws(() => sourceUriFromProfile({ path: '/dev/x', baud: 1, protocol: 'nmea' }), { code: 'SOURCE_URI' });
});

t.test('a session that throws on start is reported, not a crash', async (t) => {
  const { ReconnectingSource } = await import('../../firmware-bridge/src/source/energy-source.js');
  const { PassThrough } = await import('node:stream');
  const clock = new ManualClock();
  let opens = 0;
  const source = new ReconnectingSource({
    uri: 'test:x',
    clock,
    logger: silentLogger(),
    link: { label: 'x', open: async () => (opens++, { stream: new PassThrough(), close: async () => undefined }) },
    session: () => {
      throw new Error('boom');
    },
  });
  const statuses: SourceStatus[] = [];
  source.events.on('status', (s) => statuses.push(s));
  source.start();
  await flush(5);
  t.match(statuses.at(-1), { state: 'error', reason: /session failed to start: boom/, retryInMs: 250 });
  clock.advance(250);
  await flush(5);
  t.equal(opens, 2, 'retried');
  await source.stop();
});
