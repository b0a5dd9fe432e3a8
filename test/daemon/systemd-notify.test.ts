import t from 'tap';
import { hasCommand } from '../helpers/has-command.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdFeatures } from '../../src/daemon/features/systemd.js';
import type { DaemonContext } from '../../src/daemon/feature.js';
import { createSdNotifier, watchdogIntervalMs } from '../../src/util/sd-notify.js';
import { ManualClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { until } from '../helpers/until.js';

const has = hasCommand;

// A fake service manager: an AF_UNIX datagram socket like systemd's notify socket. It prints each
// datagram on one line and closes the fds systemd-notify's BARRIER=1 passes (that is the barrier's answer).
const LISTENER = `
import socket, sys, os, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, typ, payload in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds = array.array("i"); fds.frombytes(payload[: len(payload) - (len(payload) % 4)])
            for fd in fds: os.close(fd)
    print(data.decode().replace("\\n", "|"), flush=True)
`;

const missing = [!has('systemd-notify') && 'systemd-notify (systemd)', !has('python3') && 'python3 (the fake notify socket)'].filter(Boolean);

t.test('READY=1, WATCHDOG=1 and STOPPING=1 reach a notify socket through systemd-notify', { skip: missing.length ? `missing: ${missing.join(', ')}` : false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h3lix-notify-'));
  const socketPath = join(dir, 'notify.sock');
  const listener = spawn('python3', ['-c', LISTENER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void listener.kill());
  const lines: string[] = [];
  listener.stdout.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
  await until(() => lines.includes('listening') && existsSync(socketPath), 10_000, 'the fake notify socket');

  const clock = new ManualClock();
  const ctx = { logger: silentLogger(), clock, nodeId: 'n-test' } as unknown as DaemonContext;
  const env = { PATH: process.env.PATH, NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) };
  const [factory] = systemdFeatures({ env });
  t.ok(factory, 'the feature is on when NOTIFY_SOCKET is set');
  const feature = await factory!(ctx);
  await feature.start();
  await until(() => lines.some((l) => l.includes('READY=1')), 10_000, 'READY=1');
  t.match(lines.find((l) => l.includes('READY=1')), new RegExp(`MAINPID=${process.pid}`), 'names the daemon as the main PID');
  t.notOk(lines.some((l) => l.includes('WATCHDOG=1')), 'no watchdog ping before WatchdogSec/2');
  clock.advance(15_000);
  await until(() => lines.some((l) => l.includes('WATCHDOG=1')), 10_000, 'WATCHDOG=1');
  clock.advance(15_000);
  await until(() => lines.filter((l) => l.includes('WATCHDOG=1')).length === 2, 10_000, 'a second WATCHDOG=1');
  await feature.stop();
  await until(() => lines.some((l) => l.includes('STOPPING=1')), 10_000, 'STOPPING=1');
  clock.advance(60_000);
  t.equal(lines.filter((l) => l.includes('WATCHDOG=1')).length, 2, 'no pings after stop');
});

t.test('not under systemd: no feature; a dead socket is reported, not thrown', { skip: missing.length ? `missing: ${missing.join(', ')}` : false }, async (t) => {
  t.same(systemdFeatures({ env: {} }), [], 'no NOTIFY_SOCKET, no feature');
  t.equal(createSdNotifier({ env: {} }), undefined);
  const errors: string[] = [];
  const n = createSdNotifier({ env: { PATH: process.env.PATH, NOTIFY_SOCKET: join(tmpdir(), 'h3lix-no-such.sock') }, onError: (r) => errors.push(r) })!;
  t.equal(await n.notify(['READY=1']), false);
  t.match(errors[0], /READY=1/);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000' }), 10_000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }, 2), undefined, 'pings meant for another PID are not ours');
  t.equal(watchdogIntervalMs({}), undefined);
});
