import { execFileSync } from 'node:child_process';

/** Whether `cmd` is on PATH (tests that need an external program skip with the reason when it is not). */
export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
