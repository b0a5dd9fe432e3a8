import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { H3lixError } from '../errors.js';

const threshold = z
  .object({
    /** Enter the mode when SOC crosses this (below for survival/conserve, above for surplus). */
    enter: z.number().min(0).max(1),
    /** Leave the mode only when SOC crosses this the other way (the hysteresis band). */
    exit: z.number().min(0).max(1),
  })
  .strict();

/** Default energy thresholds (SOC 0..1) with hysteresis; also the shape of `energy.thresholds` in config. */
export const thresholdsSchema = z
  .object({
    survival: threshold.refine((t) => t.exit > t.enter, 'exit must be above enter'),
    conserve: threshold.refine((t) => t.exit > t.enter, 'exit must be above enter'),
    surplus: threshold.refine((t) => t.exit < t.enter, 'exit must be below enter'),
    /** Least time in a mode before leaving it (except a drop to survival), seconds. */
    minDwellSeconds: z.number().min(0).max(86_400),
  })
  .strict()
  .refine((t) => t.survival.exit <= t.conserve.enter && t.conserve.exit <= t.surplus.exit, {
    message: 'bands must be ordered: survival.exit <= conserve.enter and conserve.exit <= surplus.exit',
  });

export type EnergyThresholds = z.output<typeof thresholdsSchema>;

/** The schema of a `devices/profiles/<name>.yaml` board profile. */
export const boardProfileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]{1,64}$/),
    description: z.string().min(1),
    /** Serial defaults for the energy source (firmware-bridge). */
    serial: z
      .object({
        path: z.string().min(1),
        baud: z.number().int().positive(),
        protocol: z.enum(['vedirect', 'mcu', 'modbus']),
      })
      .strict(),
    /** Source drivers the daemon may load on this board, in preference order. */
    sources: z.array(z.enum(['vedirect', 'mcu', 'modbus', 'emulator'])).min(1),
    /**
     * Power model: whole-board draw at idle and with all cores busy, W; draw while the companion MCU
     * holds the host off (host leakage + MCU + sensors), W; and a boot (time, mean draw) after a wake.
     */
    power: z
      .object({
        idleWatts: z.number().positive(),
        busyWatts: z.number().positive(),
        /** Host off, MCU on, W. Default 0.1. */
        sleepWatts: z.number().min(0).default(0.1),
        /** Power-on to daemon running, s. Default 40. */
        bootSeconds: z.number().min(0).max(600).default(40),
        /** Mean draw while booting, W. Default: (idle + busy) / 2. */
        bootWatts: z.number().positive().optional(),
      })
      .strict()
      .refine((p) => p.busyWatts > p.idleWatts, 'busyWatts must exceed idleWatts'),
    /** Battery defaults, used by coulomb counting and the simulator when config does not override. */
    battery: z
      .object({
        chemistry: z.enum(['lifepo4', 'li-ion', 'lead-acid']),
        nominalVoltage: z.number().positive(),
        capacityWh: z.number().positive(),
        /** SOC at which the load is cut (brownout). */
        cutoffSoc: z.number().min(0).max(0.5),
        /** Charge efficiency 0..1 (Wh stored per Wh in). */
        chargeEfficiency: z.number().gt(0).max(1),
      })
      .strict(),
    thresholds: thresholdsSchema,
    /** onnxruntime-node execution providers in preference order. */
    onnx: z
      .object({
        executionProviders: z.array(z.enum(['cpu', 'cuda', 'tensorrt', 'xnnpack', 'coreml', 'dml'])).min(1),
        intraOpThreads: z.number().int().min(1).max(64),
      })
      .strict(),
  })
  .strict();

export type BoardProfile = z.output<typeof boardProfileSchema>;

/**
 * Find `devices/profiles` by walking up from this module: works from `src/energy` (tsx) and from
 * `dist/src/energy` (built package, which ships `devices/`).
 */
export function defaultProfilesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'devices', 'profiles');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  return resolve('devices', 'profiles');
}

/** Names of the profiles in `dir` (file names without `.yaml`), sorted. */
export function listBoardProfiles(dir = defaultProfilesDir()): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Load and validate a board profile by name. Unknown name → `BOARD_UNKNOWN` listing the valid names;
 * an invalid file → `CONFIG_INVALID` naming the bad key (e.g. `power.busyWatts`).
 */
export function loadBoardProfile(name: string, dir = defaultProfilesDir()): BoardProfile {
  const names = listBoardProfiles(dir);
  if (!/^[a-z0-9-]{1,64}$/.test(name) || !names.includes(name)) {
    throw new H3lixError('BOARD_UNKNOWN', `unknown board "${name}"; valid boards: ${names.join(', ') || '(none found in ' + dir + ')'}`, {
      detail: { board: name, valid: names },
    });
  }
  const file = join(dir, `${name}.yaml`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new H3lixError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  return parseBoardProfile(raw, file, name);
}

/** Validate a parsed profile object; the error names the first bad key. */
export function parseBoardProfile(raw: unknown, source = '<profile>', expectedName?: string): BoardProfile {
  const result = boardProfileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    let key = issue.path.map(String).join('.');
    let why = issue.message;
    if (issue.code === 'unrecognized_keys') {
      key = [...issue.path.map(String), issue.keys[0]].filter(Boolean).join('.');
      why = 'unknown key';
    }
    throw new H3lixError('CONFIG_INVALID', `${source}: ${key || '(top level)'}: ${why}`, { detail: { key } });
  }
  if (expectedName !== undefined && result.data.name !== expectedName) {
    throw new H3lixError('CONFIG_INVALID', `${source}: name: "${result.data.name}" does not match the file name "${expectedName}"`, {
      detail: { key: 'name' },
    });
  }
  return result.data;
}
