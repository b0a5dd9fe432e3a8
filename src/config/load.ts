import { closeSync, openSync, readSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError, H3lixError } from '../errors.js';
import { configSchema, type H3lixConfig } from './schema.js';

/** Environment variables that override config keys: `H3LIX_<SECTION>__<KEY>` (double underscore = nesting). */
export const ENV_PREFIX = 'H3LIX_';

/** Load, apply env overrides, and validate a YAML config file. Missing file: an error, not defaults. */
/** Largest config file read; `--config /dev/zero` or a log file by mistake must not read forever. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): H3lixConfig {
  let bytes: Buffer;
  try {
    bytes = readBounded(path, MAX_CONFIG_BYTES);
  } catch (err) {
    if (err instanceof H3lixError) throw err;
    throw new H3lixError('CONFIG_NOT_FOUND', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfigText(bytes.toString('utf8'), env, path);
}

/** Read at most `max` bytes (works on devices and pipes, whose size is unknown). */
function readBounded(path: string, max: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > max) throw new ConfigError('', `${path}: config file is larger than ${max} bytes`);
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Parse YAML text into a validated config (defaults filled, env overrides applied). */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv = {}, source = '<config>'): H3lixConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError('', `${source}: not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('', `${source}: the top level must be a mapping of sections`);
  }
  return validateConfig(applyEnvOverrides(raw as Record<string, unknown>, env), source);
}

/** Validate a plain object against the schema; the error names the first bad key and why. */
export function validateConfig(raw: unknown, source = '<config>'): H3lixConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const fromEnv = typeof raw === 'object' && raw !== null ? envKeys.get(raw) : undefined;
  const key = configErrorFrom(result.error, source).key;
  const envName = fromEnv?.find(([k]) => k === key || key.startsWith(`${k}.`))?.[1];
  throw configErrorFrom(result.error, envName ? `${source}, set by environment variable ${envName}` : source);
}

/** Which keys of a raw config object came from environment variables (for error messages). */
const envKeys = new WeakMap<object, Array<[string, string]>>();

function configErrorFrom(error: z.ZodError, source: string): ConfigError {
  const issue = error.issues[0]!;
  let key = issue.path.map(String).join('.');
  let why = issue.message;
  if (issue.code === 'unrecognized_keys') {
    key = [...issue.path.map(String), issue.keys[0]].filter(Boolean).join('.');
    why = 'unknown key (check spelling; see README "Configuration")';
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new ConfigError(key, `${why}${more} [in ${source}]`, { detail: { issues: error.issues.length } });
}

/**
 * Env overrides: `H3LIX_BROKER__EMBEDDED__PORT=1884` sets broker.embedded.port. Keys are matched
 * case-insensitively against camelCase keys (`DATA_DIR` → `dataDir`); values are parsed as YAML scalars.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  const sections = new Set(Object.keys(configSchema.shape));
  for (const [name, value] of Object.entries(env)) {
    // Only H3LIX_<SECTION>__<KEY>[__...] for a known section: other H3LIX_* variables (test knobs,
    // scripts) are not config and must not make a config file fail to load.
    if (!name.startsWith(ENV_PREFIX) || !name.includes('__') || value === undefined) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((p) => p.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    if (path.some((p) => p.length === 0) || !sections.has(path[0]!)) continue;
    envKeys.set(out, [...(envKeys.get(out) ?? []), [path.join('.'), name]]);
    let node: Record<string, unknown> = out;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parseScalar(value);
  }
  return out;
}

function parseScalar(value: string): unknown {
  try {
    const v: unknown = parseYaml(value);
    return v === null ? value : v;
  } catch {
    return value;
  }
}

/** The config every command uses when none is given: all defaults. */
export function defaultConfig(): H3lixConfig {
  return validateConfig({});
}
