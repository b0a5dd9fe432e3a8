import t from 'tap';
import { CcfField } from '../../src/ccf/field.js';
import { defaultConfig } from '../../src/config/load.js';
import { CompactionFeature } from '../../src/daemon/compaction.js';
import { ManualClock } from '../../src/util/clock.js';

t.test('compaction drops origins silent past retention from the field and the store, on a timer', async (t) => {
  const clock = new ManualClock();
  const config = { ...defaultConfig().ccf, retentionSeconds: 100 };
  const field = new CcfField({ nodeId: 'me', clock, config, quantization: 'int8' });
  const other = new CcfField({ nodeId: 'old', clock, config, quantization: 'int8' });
  const c = other.contributeLocal('k', Float32Array.from([1, 2]), 1);
  field.merge([c]);
  field.contributeLocal('k', Float32Array.from([3, 4]), 1);
  const removedRows: string[] = [];
  const f = new CompactionFeature({ field, fieldStore: { removeOrigin: (o) => (removedRows.push(o), 1) }, clock, everyMs: 50_000 });
  await f.start();
  t.same(f.compactNow(), [], 'nothing is old yet');
  clock.advance(150_000);
  t.same(removedRows, ['old'], 'the timer removed the silent origin from the store');
  t.same(field.origins(), ['me'], 'our own origin is never compacted');
  t.same(field.merge([c]), [], 'a relayed old copy is not resurrected');
  await f.stop();
});
