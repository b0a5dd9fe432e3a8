#!/usr/bin/env node
// Thin shim: the published package ships compiled JavaScript; a board never compiles TypeScript at start-up.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('h3lix: compiled CLI not found (dist/). Run `npm install` or `npm run build` first.\n');
  process.exit(70);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
