/**
 * Poll `cond` every 10 ms until it holds, or throw after `ms` naming `what`. For integration tests
 * on real sockets, ptys and processes only; unit tests use an injected clock.
 */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
