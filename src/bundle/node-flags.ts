/**
 * V8 flags a board runs the daemon with (the bundle's `bin/h3lix` launcher passes them; see
 * docs/bundle.md, "Footprint"). `--max-semi-space-size=1` caps each young-generation semi-space at
 * 1 MB: the daemon's allocations are small and short-lived, so it scavenges more often for
 * about 15 MB less resident memory (measured by `bench/footprint.bench.ts`, with and without).
 */
export const BOARD_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
