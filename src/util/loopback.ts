import { isIP } from 'node:net';

/** True for `localhost`, 127.0.0.0/8, ::1 and ::ffff:127.x (brackets allowed): reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}
