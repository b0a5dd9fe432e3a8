import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main.js';

/** Run the CLI in-process and capture its output. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await runCli(['node', 'h3lix', ...args], { stdout: out, stderr: err, env });
  return { code, stdout, stderr };
}
