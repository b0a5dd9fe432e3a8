import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, applyEnvOverrides, defaultConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { cli } from '../helpers/cli.js';

t.test('defaults fill an empty file', async (t) => {
  const cfg = parseConfigText('');
  t.equal(cfg.node.fleet, 'demo');
  t.equal(cfg.broker.embedded.enabled, true);
  t.equal(cfg.broker.embedded.port, 1883);
  t.same(cfg, defaultConfig());
});

t.test('a bad value names the key and why', async (t) => {
  const err = t.throws(() => parseConfigText('broker:\n  embedded:\n    port: 70000\n')) as ConfigError;
  t.equal(err.code, 'CONFIG_INVALID');
  t.equal(err.key, 'broker.embedded.port');
  t.match(err.message, /broker\.embedded\.port: .*65535/);
});

t.test('an unknown key is named', async (t) => {
  const err = t.throws(() => parseConfigText('node:\n  fleat: x\n')) as ConfigError;
  t.equal(err.key, 'node.fleat');
  t.match(err.message, /unknown key/);
});

t.test('a wrong type is named', async (t) => {
  const err = t.throws(() => parseConfigText('sync:\n  debounceMs: soon\n')) as ConfigError;
  t.equal(err.key, 'sync.debounceMs');
});

t.test('invalid YAML says where', async (t) => {
  const err = t.throws(() => parseConfigText('node: [\n')) as ConfigError;
  t.match(err.message, /not valid YAML/);
});

t.test('top level must be a mapping', async (t) => {
  t.throws(() => parseConfigText('- a\n- b\n'), /mapping/);
});

t.test('env overrides reach nested camelCase keys and are validated', async (t) => {
  const cfg = parseConfigText('node:\n  fleet: a\n', { H3LIX_NODE__FLEET: 'b', H3LIX_BROKER__EMBEDDED__PORT: '1999', H3LIX_NODE__DATA_DIR: '/var/h3lix' });
  t.equal(cfg.node.fleet, 'b');
  t.equal(cfg.broker.embedded.port, 1999);
  t.equal(cfg.node.dataDir, '/var/h3lix');
  t.throws(() => parseConfigText('', { H3LIX_BROKER__EMBEDDED__PORT: 'x' }), /broker\.embedded\.port/);
  t.same(applyEnvOverrides({ a: 1 }, { OTHER: '1', H3LIX___: 'x' }), { a: 1 });
  // other H3LIX_* variables (test knobs) are not config keys and are ignored
  t.same(applyEnvOverrides({}, { H3LIX_TEST_MOSQUITTO_URL: 'mqtt://x', H3LIX_NOSECTION__KEY: '1' }), {});
  t.equal(parseConfigText('', { H3LIX_TEST_MOSQUITTO_URL: 'mqtt://x' }).node.fleet, 'demo');
  const envErr = t.throws(() => parseConfigText('', { H3LIX_SYNC__DEBOUNCE_MS: 'soon' })) as ConfigError;
  t.equal(envErr.key, 'sync.debounceMs');
  t.match(envErr.message, /environment variable H3LIX_SYNC__DEBOUNCE_MS/, 'names the variable');
});

t.test('h3lix config check', async (t) => {
  const dir = t.testdir({ 'good.yaml': 'node:\n  fleet: orchard\n', 'bad.yaml': 'sync:\n  quantization: int4\n' });
  const ok = await cli(['config', 'check', '--config', join(dir, 'good.yaml')]);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /ok \(node auto, fleet orchard/);
  const bad = await cli(['config', 'check', '--config', join(dir, 'bad.yaml')]);
  t.equal(bad.code, 78);
  t.match(bad.stderr, /sync\.quantization/);
  const missing = await cli(['config', 'check', '--config', join(dir, 'none.yaml')]);
  t.equal(missing.code, 78);
  t.match(missing.stderr, /CONFIG_NOT_FOUND/);
  const usage = await cli(['config', 'check']);
  t.equal(usage.code, 64);
  writeFileSync(join(dir, 'p.yaml'), '');
  const printed = await cli(['config', 'check', '--config', join(dir, 'p.yaml'), '--print']);
  t.match(printed.stdout, /"fleet": "demo"/);
});
