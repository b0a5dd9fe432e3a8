// Reads the log of `npm test` and prints "N passed, N failed" (the line CI recognises).
// tap's base reporter ends with "# { total: T, pass: P, fail: F, ... }"; a type-check or lint
// failure before tap runs counts as one failure.
import { readFileSync } from 'node:fs';

const [logPath, statusArg] = process.argv.slice(2);
const log = readFileSync(logPath, 'utf8');
const status = Number(statusArg);
const m = [...log.matchAll(/#\s*\{\s*total:\s*(\d+)(?:,\s*pass:\s*(\d+))?(?:,\s*fail:\s*(\d+))?/g)].pop();
let passed = 0;
let failed = 0;
if (m) {
  passed = Number(m[2] ?? 0);
  failed = Number(m[3] ?? 0);
  if (status !== 0 && failed === 0) failed = 1; // e.g. coverage below threshold
} else if (status !== 0) {
  failed = 1; // typecheck or lint failed before tap ran
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(status === 0 ? 0 : 1);
