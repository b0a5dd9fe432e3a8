import t from 'tap';
import { FeedbackAccuracy } from '../../src/instance/feedback-accuracy.js';

t.test('FeedbackAccuracy: outcomes, a window that forgets the oldest, since-start totals', async (t) => {
  const a = new FeedbackAccuracy(3);
  t.same(a.snapshot(), { total: 0, correct: 0, wrong: 0, unpredicted: 0, window: 3, windowTotal: 0, windowCorrect: 0, accuracy: null }, 'empty: accuracy null, not 0');
  t.equal(a.record(undefined, 'x'), 'unpredicted');
  t.equal(a.record(null, 'x'), 'unpredicted');
  t.equal(a.record('y', 'x'), 'wrong');
  t.equal(a.snapshot().accuracy, 0, 'unpredicted counts as not correct');
  t.equal(a.record('x', 'x'), 'correct');
  t.equal(a.record('x', 'x'), 'correct');
  t.equal(a.record('x', 'x'), 'correct');
  const s = a.snapshot();
  t.same([s.windowTotal, s.windowCorrect, s.accuracy], [3, 3, 1], 'the three old misses left the window');
  t.same([s.total, s.correct, s.wrong, s.unpredicted], [6, 3, 1, 2], 'since start keeps them');
  a.record('z', 'x');
  t.equal(a.snapshot().windowCorrect, 2, 'a miss pushes out a hit');
  t.throws(() => new FeedbackAccuracy(0), RangeError);
  t.throws(() => new FeedbackAccuracy(1.5), RangeError);
});
