import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';

export const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub';
export const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';
/** A counted skip reason when the Mosquitto client programs are missing, else false. */
export const noMosquittoClients: string | false = existsSync(MOSQUITTO_PUB) && existsSync(MOSQUITTO_SUB) ? false : `mosquitto_pub/mosquitto_sub not installed (${MOSQUITTO_PUB})`;

/** Run a CLI attacker asynchronously (the broker lives in this process: spawnSync would deadlock it); killed after 5 s. */
export function run(cmd: string, args: string[], input?: Uint8Array): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    p.stdin.end(input ? Buffer.from(input) : undefined);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
