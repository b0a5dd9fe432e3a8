/**
 * firmware-bridge throughput: how far the parsers are from being the bottleneck of a serial line.
 * `npx tsx bench/run.ts firmware-bridge`.
 */
import { DelimiterParser } from 'serialport';
import type { BenchRow } from './row.js';
import { VeDirectTextParser, type VeDirectFrame } from '../firmware-bridge/src/vedirect/framing.js';
import { decodeVeDirect, encodeVeDirectBlock } from '../firmware-bridge/src/vedirect/protocol.js';
import { veDirectFields } from '../firmware-bridge/src/emulator/render.js';
import { SolarDay } from '../firmware-bridge/src/emulator/solar-model.js';
import { CobsFramer } from '../firmware-bridge/src/mcu/framing.js';
import { decodePacket, encodeFrame, MsgType } from '../firmware-bridge/src/mcu/protocol.js';
import { decodeReading, encodeReading } from '../firmware-bridge/src/mcu/messages.js';

/** VE.Direct: 19200 baud 8N1 = 10 bits per byte. */
const VEDIRECT_LINE_BYTES = 19200 / 10;
/** Companion MCU: 115200 baud 8N1. */
const MCU_LINE_BYTES = 115200 / 10;

function timeIt(ms: number, fn: () => number): number {
  const start = performance.now();
  let units = 0;
  while (performance.now() - start < ms) units += fn();
  return units / ((performance.now() - start) / 1000);
}

function veDirectStream(): Buffer {
  const model = new SolarDay({ seed: 1 });
  const parts: Buffer[] = [];
  for (let i = 0; i < 400; i++) {
    if (i % 5 === 0) parts.push(Buffer.from(':7D5ED0099\n'));
    parts.push(encodeVeDirectBlock(veDirectFields(model.step(60))));
  }
  return Buffer.concat(parts);
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  // VE.Direct: framing + checksum + mapping to EnergyReading, fed in 64-byte reads (a typical tty read).
  const ve = veDirectStream();
  let veFrames = 0;
  let veRuns = 0;
  const veRate = timeIt(3000, () => {
    veRuns++;
    const parser = new VeDirectTextParser();
    parser.on('data', (f: VeDirectFrame) => {
      if (decodeVeDirect(f, { source: 'bench', time: 0 })) veFrames++;
    });
    for (let i = 0; i < ve.length; i += 64) parser.write(ve.subarray(i, i + 64));
    return ve.length;
  });
  if (veFrames !== veRuns * 400) throw new Error(`VE.Direct bench decoded ${veFrames} of ${veRuns * 400} blocks`);
  rows.push({ metric: 'VE.Direct TEXT parse+decode', value: veRate, unit: 'bytes/s', baseline: VEDIRECT_LINE_BYTES, baselineName: '19200-baud line rate', ratio: veRate / VEDIRECT_LINE_BYTES, target: 'ratio >= 100', ok: veRate / VEDIRECT_LINE_BYTES >= 100 });

  // Companion MCU: COBS de-framing + CRC-16 + READING decode.
  const frame = encodeFrame(MsgType.READING, 0, encodeReading({ batteryMilliVolts: 12800, batteryMilliAmps: -1500, pvMilliVolts: 18000, pvMilliWatts: 20000, loadMilliWatts: 4000, socPerMille: 800 }));
  const mcuStream = Buffer.concat(Array.from({ length: 2000 }, () => frame));
  let decoded = 0;
  let mcuRuns = 0;
  const mcuRate = timeIt(3000, () => {
    mcuRuns++;
    const framer = new CobsFramer();
    framer.on('data', (b: Buffer) => {
      decodeReading(decodePacket(b).payload);
      decoded++;
    });
    for (let i = 0; i < mcuStream.length; i += 64) framer.write(mcuStream.subarray(i, i + 64));
    return 2000;
  });
  if (decoded !== mcuRuns * 2000) throw new Error(`MCU bench decoded ${decoded} of ${mcuRuns * 2000} frames`);
  const lineFrames = MCU_LINE_BYTES / frame.length;
  rows.push({ metric: 'MCU frame decode (COBS+CRC+READING)', value: mcuRate, unit: 'frames/s', baseline: lineFrames, baselineName: `115200-baud line rate (${frame.length}-byte frames)`, ratio: mcuRate / lineFrames, target: 'ratio >= 100', ok: mcuRate / lineFrames >= 100 });

  // Same-run reference: serialport's own DelimiterParser splitting the same bytes (no decoding).
  const splitRate = timeIt(2000, () => {
    const p = new DelimiterParser({ delimiter: Buffer.from([0]) });
    p.on('data', () => undefined);
    for (let i = 0; i < mcuStream.length; i += 64) p.write(mcuStream.subarray(i, i + 64));
    return 2000;
  });
  rows.push({ metric: 'MCU frame decode vs split-only', value: mcuRate, unit: 'frames/s', baseline: splitRate, baselineName: '@serialport/parser-delimiter split only', ratio: mcuRate / splitRate, target: 'informational (ours also decodes)' });
  return rows;
}
