/**
 * The status server's access token. On loopback no token is needed (only this board's own users can
 * connect); bound anywhere else every request must carry the token kept in the data dir, which is
 * created on first use with 0600 permissions (DESIGN section 8: credentials persist 0600).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/** Default token file name in `node.dataDir`. */
export const STATUS_TOKEN_FILE = 'status-token';

/** True for addresses only this machine can reach (moved to util/loopback.ts; the embedded broker uses it too). */
export { isLoopbackHost } from '../util/loopback.js';

/** Read the token in `file`, creating a random one (0600) when the file does not exist. */
export function loadOrCreateToken(file: string): { token: string; created: boolean } {
  if (!existsSync(file)) {
    const token = randomBytes(24).toString('base64url');
    writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { token, created: true };
  }
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < 16) throw new ConfigError('status.tokenFile', `${file} holds ${token.length} characters; a status token needs at least 16`);
  return { token, created: false };
}

/** The token file of a config: `status.tokenFile`, else `<dataDir>/status-token`. */
export function tokenFilePath(dataDir: string, tokenFile: string | undefined): string {
  return tokenFile ?? join(dataDir, STATUS_TOKEN_FILE);
}

/** Constant-time comparison of a presented token with the expected one. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
