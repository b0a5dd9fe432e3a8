import t from 'tap';
import { VeDirectTextParser, type VeDirectFrame, type VeDirectReject } from '../../firmware-bridge/src/vedirect/framing.js';
import { decodeVeDirect, encodeVeDirectBlock } from '../../firmware-bridge/src/vedirect/protocol.js';

const MPPT: Array<[string, string]> = [
  ['PID', '0xA053'],
  ['FW', '159'],
  ['SER#', 'HQ2132QY2KR'],
  ['V', '12800'],
  ['I', '1500'],
  ['VPV', '18350'],
  ['PPV', '21'],
  ['CS', '3'],
  ['MPPT', '2'],
  ['ERR', '0'],
  ['LOAD', 'ON'],
  ['IL', '300'],
  ['H19', '10'],
];

function feed(chunks: Buffer[], split = 0): { frames: VeDirectFrame[]; rejects: VeDirectReject[]; parser: VeDirectTextParser } {
  const parser = new VeDirectTextParser();
  const frames: VeDirectFrame[] = [];
  const rejects: VeDirectReject[] = [];
  parser.on('data', (f: VeDirectFrame) => frames.push(f));
  parser.on('reject', (r: VeDirectReject) => rejects.push(r));
  const all = Buffer.concat(chunks);
  if (split > 0) for (let i = 0; i < all.length; i += split) parser.write(all.subarray(i, i + split));
  else parser.write(all);
  return { frames, rejects, parser };
}

/** A block whose checksum byte is exactly `target`, found by varying the SER# value. */
function blockWithChecksum(target: number): Buffer {
  for (let c = 0; c < 5 * 63; c++) {
    // five serial-number characters in '0'..'o' whose sum runs over 256 consecutive values
    const chars = [0, 1, 2, 3, 4].map((k) => String.fromCharCode(0x30 + Math.min(63, Math.max(0, c - 64 * k))));
    const fields = MPPT.map(([l, v]): [string, string] => (l === 'SER#' ? [l, `HQ${chars.join('')}`] : [l, v]));
    const block = encodeVeDirectBlock(fields);
    if (block[block.length - 1] === target) return block;
  }
  throw new Error(`no block with checksum ${target}`);
}

t.test('valid blocks: fields committed, checksum byte verified, mapped to SI units', async (t) => {
  const block = encodeVeDirectBlock(MPPT);
  const sum = [...block].reduce((a, b) => (a + b) & 0xff, 0);
  t.equal(sum, 0, 'encoder makes the block sum 0 mod 256');
  for (const split of [0, 1, 7]) {
    const { frames, rejects } = feed([block, block, block], split);
    t.equal(frames.length, 3, `3 blocks (split ${split})`);
    t.same(rejects, []);
    t.same(frames[0]!.fields, MPPT);
  }
  const out = decodeVeDirect({ fields: MPPT, bytes: 0 }, { source: 'vedirect:/dev/x', time: 1000 });
  t.ok(out && 'reading' in out);
  const r = (out as { reading: import('../../src/energy/reading.js').EnergyReading }).reading;
  t.equal(r.batteryVoltage, 12.8);
  t.equal(r.batteryCurrent, 1.5);
  t.equal(r.pvVoltage, 18.35);
  t.equal(r.pvPower, 21);
  t.equal(r.loadPower, 3.84);
  t.equal(r.soc, undefined, 'an MPPT reports no SOC');
  t.same(r.extra, { PID: '0xA053', FW: '159', 'SER#': 'HQ2132QY2KR', CS: 3, MPPT: 2, ERR: 0, LOAD: 'ON', H19: 10 });
});

t.test('BMV fields: SOC per mille, negative current = discharging; history block yields nothing', async (t) => {
  const out = decodeVeDirect({ fields: [['V', '24100'], ['I', '-2340'], ['P', '-56'], ['SOC', '876']], bytes: 0 }, { source: 's', time: 1 });
  t.ok(out && 'reading' in out);
  if (out && 'reading' in out) {
    t.equal(out.reading.soc, 0.876);
    t.equal(out.reading.batteryCurrent, -2.34);
    t.equal(out.reading.extra?.P, -56);
  }
  t.equal(decodeVeDirect({ fields: [['H1', '-3000'], ['H2', '-100']], bytes: 0 }, { source: 's', time: 1 }), undefined);
  const bad = decodeVeDirect({ fields: [['V', '---'], ['I', '0']], bytes: 0 }, { source: 's', time: 1 });
  t.match(bad, { reject: /field V/ });
  t.match(decodeVeDirect({ fields: [['V', '12000']], bytes: 0 }, { source: 's', time: 1 }), { reject: /field I/ });
  t.match(decodeVeDirect({ fields: [['V', '12000'], ['I', '0'], ['SOC', '1200']], bytes: 0 }, { source: 's', time: 1 }), { reject: /SOC/ });
});

for (const [name, byte] of [['\\r', 0x0d], ['\\n', 0x0a], ['\\t', 0x09], [':', 0x3a]] as const) {
  t.test(`checksum byte equal to ${name} is taken as the checksum`, async (t) => {
    const block = blockWithChecksum(byte);
    t.equal(block[block.length - 1], byte);
    const hex = Buffer.from(':A0102000543\n');
    // the checksum block, then a HEX frame straight after it, then a normal block
    const { frames, rejects } = feed([block, hex, encodeVeDirectBlock(MPPT), block], 1);
    t.same(rejects, [], 'nothing rejected');
    t.equal(frames.length, 3);
    t.equal(frames[0]!.fields.length, MPPT.length);
    t.equal(frames[1]!.fields.find(([l]) => l === 'SER#')?.[1], 'HQ2132QY2KR');
  });
}

t.test('corrupted blocks are rejected and nothing of them is committed', async (t) => {
  const good = encodeVeDirectBlock(MPPT);
  for (let pos = 0; pos < good.length; pos += 5) {
    const bad = Buffer.from(good);
    bad[pos] = (bad[pos]! + 1) & 0xff;
    const { frames, rejects } = feed([good, bad, good]);
    const leaked = frames.some((f) => f.fields.some(([l, v]) => !MPPT.some(([l2, v2]) => l2 === l && v2 === v)));
    t.notOk(leaked, `corruption at ${pos}: no corrupted field committed`);
    t.ok(frames.length <= 2 && rejects.length >= 1, `corruption at ${pos}: block rejected (${rejects.map((r) => r.reason).join(',')})`);
  }
  const bad = Buffer.from(good);
  bad[20] = bad[20]! ^ 0x01;
  const { frames, rejects, parser } = feed([good, bad, good]);
  t.equal(frames.length, 2);
  t.equal(rejects.length, 1);
  t.equal(rejects[0]!.reason, 'checksum');
  t.equal(parser.rejects.checksum, 1);
});

t.test('interleaved HEX frames are skipped inside and between blocks', async (t) => {
  const block = encodeVeDirectBlock(MPPT);
  const hex = Buffer.from(':7F0ED0071\n');
  const mid = Buffer.concat([block.subarray(0, 30), hex, block.subarray(30, 60), hex, hex, block.subarray(60)]);
  const { frames, rejects, parser } = feed([hex, block, mid, hex, block], 3);
  t.same(rejects, []);
  t.equal(frames.length, 3);
  t.same(frames[1]!.fields, MPPT);
  t.equal(parser.hexFrames, 5);
});

t.test('garbage and a partial block at start-up are discarded with a counted reason', async (t) => {
  const block = encodeVeDirectBlock(MPPT);
  const partial = block.subarray(57); // starts mid-field
  const { frames, rejects, parser } = feed([Buffer.from([0xff, 0x00, 0x41, 0x42]), partial, block, block]);
  t.equal(frames.length, 2, 'both whole blocks after the partial one');
  t.equal(rejects.length, 1);
  t.equal(rejects[0]!.reason, 'partial-block');
  t.equal(parser.rejects['partial-block'], 1);
  // starting exactly at a field boundary in the middle of a block: the checksum cannot pass
  const fieldStart = block.indexOf('\r\nVPV');
  const r2 = feed([block.subarray(fieldStart), block]);
  t.equal(r2.frames.length, 1);
  t.equal(r2.rejects[0]!.reason, 'partial-block');
});

t.test('port opened inside the Checksum field of a block: the next, whole block is read (issue 13 item 6)', async (t) => {
  const block = encodeVeDirectBlock(MPPT);
  // the stray tail ("sum\t" + checksum byte) has no LF, so it used to be summed into the next block
  for (const tail of [5, 2, 1]) {
    const r = feed([block.subarray(block.length - tail), block, block]);
    t.equal(r.frames.length, 2, `tail of ${tail} bytes: both whole blocks committed`);
    t.same(r.frames[0]?.fields, MPPT);
    t.same(r.rejects, []);
  }
  // the same with a checksum byte that is itself a LF or CR: the block still starts at the next "\r\n"
  for (const byte of [0x0a, 0x0d]) {
    const b = blockWithChecksum(byte);
    const r = feed([b.subarray(b.length - 3), b, b], 7);
    t.equal(r.frames.length, 2, `checksum byte 0x${byte.toString(16)}: both whole blocks committed`);
  }
  // still refused: a tail whose following bytes start mid-block at a field boundary
  const fieldStart = block.indexOf('\r\nVPV');
  const r = feed([Buffer.from('sum\tx'), block.subarray(fieldStart), block]);
  t.equal(r.frames.length, 1);
  t.equal(r.rejects[0]?.reason, 'partial-block');
});

t.test('bounded buffers: oversize label, value, block and HEX frame resynchronise', async (t) => {
  const block = encodeVeDirectBlock(MPPT);
  const longValue = encodeVeDirectBlock([['V', '1'.repeat(200)], ['I', '0']]);
  const longLabel = Buffer.from(`\r\n${'L'.repeat(100)}\t1`);
  const longHex = Buffer.from(`:${'A'.repeat(1000)}`);
  const r = feed([longValue, block, longLabel, block, longHex, Buffer.from('\n'), block, block]);
  t.ok(r.parser.rejects.oversize >= 3, `oversize counted (${r.parser.rejects.oversize})`);
  // committed: the block after longValue's tail (whose checksum byte re-synchronised the parser) and the
  // last block; the blocks straight after the oversize label / HEX frame began in a lost-sync zone.
  t.equal(r.frames.length, 2);
  for (const f of r.frames) t.same(f.fields, MPPT);
  t.equal(r.parser.rejects['partial-block'], 3);
  const flood = Buffer.alloc(5000, 0x41);
  const r2 = feed([Buffer.from('\r\n'), flood, block, block]);
  t.ok(r2.parser.rejects.oversize >= 1);
  t.equal(r2.frames.length, 1);
});
