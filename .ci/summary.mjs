// Reads the log of `npm test` and prints "N passed, N failed, N skipped" (the line CI recognises).
// tap's base reporter ends with "# { total: T, pass: P, fail: F, skip: S, ... }"; a type-check or
// lint failure before tap runs counts as one failure. Skipped assertions say why in the log.
import { readFileSync } from 'node:fs';

const [logPath, statusArg] = process.argv.slice(2);
const log = readFileSync(logPath, 'utf8');
const status = Number(statusArg);
const m = [...log.matchAll(/#\s*\{\s*total:\s*(\d+)([^}]*)\}/g)].pop();
const count = (body, key) => Number((body.match(new RegExp(`${key}:\\s*(\\d+)`)) ?? [])[1] ?? 0);
let passed = 0;
let failed = 0;
let skipped = 0;
if (m) {
  passed = count(m[2], 'pass');
  failed = count(m[2], 'fail');
  skipped = count(m[2], 'skip');
  if (status !== 0 && failed === 0) failed = 1; // e.g. coverage below threshold
} else if (status !== 0) {
  failed = 1; // typecheck or lint failed before tap ran
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status === 0 ? 0 : 1);
