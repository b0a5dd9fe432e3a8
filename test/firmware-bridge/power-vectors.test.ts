import t from 'tap';
import { join } from 'node:path';
import { serialLink } from '../../firmware-bridge/src/link/link.js';
import { cobsDecode } from '../../firmware-bridge/src/mcu/cobs.js';
import { decodeShutdownNotice, decodeStatus, encodeEmuSet, encodePowerOff } from '../../firmware-bridge/src/mcu/power-messages.js';
import { encodeFrame, encodePacket, MsgType } from '../../firmware-bridge/src/mcu/protocol.js';
import { startFirmware } from '../../firmware-bridge/src/firmware/run.js';
import { firmwareSkipReason } from './firmware-helpers.js';
import { until } from './helpers.js';

// The power-protocol byte vectors of firmware-bridge/README.md "Power protocol", asserted byte for byte
// against the TypeScript encoder and against the real firmware (host build).
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const V = {
  powerOff9: { packet: '01 30 09 00 01 10 0e 00 00 3c 00 0f 00 00 00 00 00 88 88', wire: '04 01 30 09 04 01 10 0e 01 02 3c 02 0f 01 01 01 01 03 88 88 00' },
  powerOff10: { packet: '01 30 0a 00 03 90 01 00 00 1e 00 0a 00 80 51 01 00 f0 c1', wire: '04 01 30 0a 04 03 90 01 01 02 1e 02 0a 04 80 51 01 03 f0 c1 00' },
  shutdownAck11: { packet: '01 31 0b 00 dc 1b', wire: '04 01 31 0b 03 dc 1b 00' },
  ack11: { packet: '01 02 0b 00 31 80 b6', wire: '04 01 02 0b 04 31 80 b6 00' },
  setTime12: { packet: '01 23 0c 00 40 74 1d 6a 19 ed', wire: '04 01 23 0c 07 40 74 1d 6a 19 ed 00' },
  ack12: { packet: '01 02 0c 00 23 37 55', wire: '04 01 02 0c 04 23 37 55 00' },
  ack9: { packet: '01 02 09 00 30 fe f7', wire: '04 01 02 09 04 30 fe f7 00' },
  nackBusy10: { packet: '01 03 0a 00 30 04 88 d8', wire: '04 01 03 0a 05 30 04 88 d8 00' },
  status13: { packet: '01 25 0d 00 40 74 1d 6a 01 00 58 02 0a 00 10 0e 00 00 02 00 00 00 00 00 1d 4e', wire: '04 01 25 0d 06 40 74 1d 6a 01 04 58 02 0a 03 10 0e 01 02 02 01 01 01 01 03 1d 4e 00' },
  notice: { packet: '01 35 00 00 01 1e 00 32 6e', wire: '03 01 35 01 03 01 1e 03 32 6e 00' },
};

t.test('TypeScript encoder matches the README vectors', async (t) => {
  const po9 = encodePowerOff({ until: { kind: 'duration', seconds: 3600 }, graceSeconds: 60, haltSeconds: 15, maxOffSeconds: 0 });
  t.same(encodePacket(MsgType.POWER_OFF, 9, po9), hex(V.powerOff9.packet));
  t.same(encodeFrame(MsgType.POWER_OFF, 9, po9), hex(V.powerOff9.wire));
  const po10 = encodePowerOff({ until: { kind: 'soc', perMille: 400 }, graceSeconds: 30, haltSeconds: 10, maxOffSeconds: 86_400 });
  t.same(encodeFrame(MsgType.POWER_OFF, 10, po10), hex(V.powerOff10.wire));
  t.same(encodeFrame(MsgType.SHUTDOWN_ACK, 11), hex(V.shutdownAck11.wire));
  const st = decodeStatus(hex(V.status13.packet).subarray(4, -2));
  t.same(st, { wallSeconds: 1780315200, wakeReason: 'timer', powerState: 'on', watchdogTimeoutSeconds: 600, watchdogOffSeconds: 10, lastSleepSeconds: 3600, powerOns: 2, rejectedFrames: 0, ackTimeouts: 0 });
  t.same(decodeShutdownNotice(hex(V.notice.packet).subarray(4, -2)), { reason: 'low-battery', graceSeconds: 30 });
  t.throws(() => decodeStatus(Buffer.alloc(19)), { code: 'FRAME_MALFORMED' });
});

const skip = firmwareSkipReason('host');
t.test('the host firmware answers the README vectors byte for byte', { skip }, async (t) => {
  const pty = join(t.testdir(), 'tty');
  const fw = await startFirmware({ target: 'host', pty });
  t.teardown(() => fw.stop());
  const link = await serialLink({ path: pty, baudRate: 115200 }).open();
  t.teardown(() => link.close());
  const frames: Buffer[] = [];
  let buf = Buffer.alloc(0);
  link.stream.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (let i = buf.indexOf(0); i >= 0; i = buf.indexOf(0)) {
      const f = buf.subarray(0, i + 1);
      buf = buf.subarray(i + 1);
      if (cobsDecode(f.subarray(0, -1))[1] !== MsgType.READING) frames.push(Buffer.from(f)); // streamed READINGs aside
    }
  });
  const exchange = async (wire: string): Promise<string> => {
    const n = frames.length;
    link.stream.write(hex(wire));
    await until(() => frames.length > n, 3000, `an answer to ${wire}`);
    return [...frames[n]!].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  };
  t.equal(await exchange(V.setTime12.wire), V.ack12.wire, 'SET_TIME → ACK');
  t.equal(await exchange(V.powerOff9.wire), V.ack9.wire, 'POWER_OFF → ACK');
  t.equal(await exchange(V.powerOff10.wire), V.nackBusy10.wire, 'a second POWER_OFF while one is armed → NACK busy');
  t.equal(await exchange(V.shutdownAck11.wire), V.ack11.wire, 'SHUTDOWN_ACK → ACK');
  const emu = encodeFrame(MsgType.EMU_SET, 20, encodeEmuSet({ speed: 100 })); // while halting: the 15 s halt in 150 ms
  t.equal(await exchange([...emu].map((b) => b.toString(16).padStart(2, '0')).join(' ')), [...encodeFrame(MsgType.ACK, 20, Buffer.from([MsgType.EMU_SET]))].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  await until(() => fw.log.includes('h3lix-mcu: host power off'), 5000, 'the cut 15 (simulated) s after the acknowledgement');
});
