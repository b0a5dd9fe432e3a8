import t from 'tap';
import { systemClock } from '../../src/util/clock.js';
import { McuClient } from '../../firmware-bridge/src/mcu/client.js';
import { CobsFramer } from '../../firmware-bridge/src/mcu/framing.js';
import { encodeFwState, type McuFwState } from '../../firmware-bridge/src/mcu/fw-messages.js';
import { encodeInfo } from '../../firmware-bridge/src/mcu/messages.js';
import { decodePacket, encodeFrame, MsgType } from '../../firmware-bridge/src/mcu/protocol.js';
import { updateFirmware } from '../../firmware-bridge/src/firmware/update.js';
import { BOARD, fleetKey, otherKey } from './fw-update-helpers.js';
import { duplexPair } from './helpers.js';
import { buildImage } from '../../firmware-bridge/src/firmware/image.js';
import { createSigner } from '../../src/crypto/ed25519.js';

// The updater's control flow against a scripted MCU in memory (no QEMU): an MCU that loses progress
// between two chunks (it reset and kept less) is followed back, one that stops taking chunks is a fault.
function fakeMcu(script: { glitchAt?: number; stall?: boolean }) {
  const [host, dev] = duplexPair();
  const st: McuFwState = { state: 'idle', runningSlot: 0, runningVersion: '1.1.0', next: 0, size: 0 };
  let glitched = false;
  const framer = new CobsFramer();
  dev.pipe(framer);
  const answer = (type: number, seq: number, payload: Buffer = Buffer.alloc(0)) => dev.write(encodeFrame(type, seq, payload));
  framer.on('data', (bytes: Buffer) => {
    const p = decodePacket(bytes);
    const state = () => answer(MsgType.FW_STATE, p.seq, encodeFwState(st));
    if (p.type === MsgType.GET_INFO) answer(MsgType.INFO, p.seq, encodeInfo({ firmware: st.runningVersion, sensor: 'INA219', sampleIntervalMs: 1000, uptimeSeconds: 1, name: BOARD }));
    else if (p.type === MsgType.PING) answer(MsgType.PONG, p.seq, p.payload);
    else if (p.type === MsgType.GET_STATUS) answer(MsgType.STATUS, p.seq, Buffer.alloc(20));
    else if (p.type === MsgType.FW_GET_STATE) state();
    else if (p.type === MsgType.FW_BEGIN) {
      Object.assign(st, { state: 'receiving', size: p.payload.readUInt32LE(0), next: 0 });
      state();
    } else if (p.type === MsgType.FW_CHUNK) {
      const off = p.payload.readUInt32LE(0);
      if (script.glitchAt !== undefined && !glitched && off >= script.glitchAt) {
        glitched = true;
        st.next = 4096; // reset: what the flash kept
      } else if (!script.stall && off === st.next) st.next += p.payload.length - 4;
      state();
    } else if (p.type === MsgType.FW_FINISH) {
      st.state = 'complete';
      state();
    } else if (p.type === MsgType.FW_RESET) {
      answer(MsgType.ACK, p.seq, Buffer.from([p.type]));
      Object.assign(st, { state: 'trial', runningSlot: 1, runningVersion: '1.2.0' });
    } else if (p.type === MsgType.FW_CONFIRM) {
      st.state = 'idle';
      answer(MsgType.ACK, p.seq, Buffer.from([p.type]));
    }
  });
  const client = new McuClient({ stream: host, clock: systemClock, timeoutMs: 200, retries: 1 });
  client.start();
  return { connect: () => Promise.resolve({ client, close: () => Promise.resolve() }), stop: () => client.stop() };
}

const image = buildImage({ payload: Buffer.alloc(9000, 7), board: BOARD, version: [1, 2, 0], loadAddress: 0x10000, signer: createSigner(fleetKey) });

t.test('an MCU that reports less than it was sent (it reset between chunks): the updater goes back and completes', async (t) => {
  const mcu = fakeMcu({ glitchAt: 6000 });
  t.teardown(mcu.stop);
  const r = await updateFirmware({ image, fleetPublicKey: fleetKey.publicKey, connect: mcu.connect, clock: systemClock });
  t.match(r, { from: '1.1.0', to: '1.2.0', slot: 1 });
  t.ok(r.bytesSent > image.bytes.length, `sent ${r.bytesSent} bytes for ${image.bytes.length}: the lost part again`);
});

t.test('an MCU that stops taking chunks: FIRMWARE_UPDATE after three tries without progress', async (t) => {
  const mcu = fakeMcu({ stall: true });
  t.teardown(mcu.stop);
  const r = await updateFirmware({ image, fleetPublicKey: fleetKey.publicKey, connect: mcu.connect, clock: systemClock }).catch((e: Error) => e);
  t.match(r, { code: 'FIRMWARE_UPDATE', message: /does not take the chunk at 0/ });
});

t.test('the updater refuses chunk sizes outside 1..60 and images from other fleets before connecting', async (t) => {
  let connected = 0;
  const connect = () => {
    connected++;
    return Promise.reject(new Error('must not connect'));
  };
  t.match(await updateFirmware({ image, fleetPublicKey: fleetKey.publicKey, connect, clock: systemClock, chunkBytes: 61 }).catch((e: Error) => e), { code: 'DATA_INVALID' });
  const foreign = buildImage({ payload: Buffer.alloc(100, 1), board: BOARD, version: [1, 2, 0], loadAddress: 0x10000, signer: createSigner(otherKey) });
  t.match(await updateFirmware({ image: foreign, fleetPublicKey: fleetKey.publicKey, connect, clock: systemClock }).catch((e: Error) => e), { code: 'FIRMWARE_SIGNATURE' });
  t.equal(connected, 0);
});
