// The config loader's one-line errors: each names the dotted key, what it expected and what it got, whether the
// value came from the YAML file, the environment or a flag. The texts are what operators see at start-up and in a
// refused SIGHUP reload, so they are pinned here word for word. And the documented example config names every
// key the loader knows, with its default.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig, type Overrides } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'kmp-config-errors-'));
writeFileSync(join(dir, 'empty'), '');
writeFileSync(join(dir, 'key'), 'k3y\n');

let files = 0;
function load(yaml: string | null, overrides: Overrides = {}, env: NodeJS.ProcessEnv = {}) {
  let file: string | null = null;
  if (yaml !== null) {
    file = join(dir, `config-${files++}.yaml`);
    writeFileSync(file, yaml.replaceAll('DIR', dir));
  }
  return loadConfig(file, overrides, env);
}

function errorOf(yaml: string | null, overrides: Overrides = {}, env: NodeJS.ProcessEnv = {}): string {
  try {
    load(yaml, overrides, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.replaceAll(dir, 'DIR');
  }
  throw new Error('the config was accepted');
}

const PHASES = 'dual-write, migration, kask-primary, redis-shadow, kask-only';

describe('config errors from the YAML file', () => {
  it.each([
    ['phase: nonsense\n', `config key phase: must be one of ${PHASES}, got "nonsense"`],
    ['phse: typo\n', 'config key phse: unknown setting'],
    ['front:\n  typo: 1\n', 'config key front.typo: unknown setting'],
    ['breakers:\n  kask:\n    typo: 1\n', 'config key breakers.kask.typo: unknown setting'],
    ['front:\n  max_key_bytes: 0\n', 'config key front.max_key_bytes: must be at least 1, got 0'],
    ['front:\n  max_key_bytes: 1.5\n', 'config key front.max_key_bytes: must be an integer, got 1.5'],
    ['front:\n  max_key_bytes: "12x"\n', 'config key front.max_key_bytes: must be an integer, got "12x"'],
    ['front:\n  max_key_bytes: [1]\n', 'config key front.max_key_bytes: must be an integer, got a list'],
    [
      'front:\n  max_key_bytes: {a: 1}\n',
      'config key front.max_key_bytes: must be an integer, got a mapping',
    ],
    ['front:\n  max_key_bytes: true\n', 'config key front.max_key_bytes: must be an integer, got true'],
    ['front:\n  accept_put: yes\n', 'config key front.accept_put: must be true or false, got "yes"'],
    ['service_name: [a]\n', 'config key service_name: must be a string, got a list'],
    ['service_name: true\n', 'config key service_name: must be a string, got true'],
    ['listen: nowhere\n', 'config key listen: must be HOST:PORT, got "nowhere"'],
    ['listen: 8081\n', 'config key listen: must be HOST:PORT, got "8081"'],
    ['listen: "127.0.0.1:70000"\n', 'config key listen: must be HOST:PORT, got "127.0.0.1:70000"'],
    ['admin:\n  listen: nowhere\n', 'config key admin.listen: must be HOST:PORT, got "nowhere"'],
    ['admin:\n  listen: 5\n', 'config key admin.listen: must be a string, got 5'],
    ['kask:\n  url: ftp://x/\n', 'config key kask.url: must be an http(s) URL or "embedded"'],
    ['kask:\n  ca_file: 5\n', 'config key kask.ca_file: must be a string, got 5'],
    ['redis:\n  url: http://r/\n', 'config key redis.url: must be a redis:// or rediss:// URL or "embedded"'],
    ['redis:\n  cluster_nodes: 5\n', 'config key redis.cluster_nodes: must be a list of strings'],
    ['redis:\n  cluster_nodes: [1, 2]\n', 'config key redis.cluster_nodes: must be a list of strings'],
    [
      'values:\n  envelope_type: json\n',
      'config key values.envelope_type: must be one of JSON, PHP, got "json"',
    ],
    ['values:\n  hmac_key_file: 5\n', 'config key values.hmac_key_file: must be a string, got 5'],
    [
      'migration:\n  shadow_sample_rate: 2\n',
      'config key migration.shadow_sample_rate: must be a number from 0 to 1, got 2',
    ],
    [
      'migration:\n  shadow_sample_rate: abc\n',
      'config key migration.shadow_sample_rate: must be a number from 0 to 1, got "abc"',
    ],
    [
      'logging:\n  level: verbose\n',
      'config key logging.level: must be one of debug, info, warn, error, fatal, got "verbose"',
    ],
    ['emulator:\n  default_ttl: -1\n', 'config key emulator.default_ttl: must be at least 0, got -1'],
    [
      'breakers:\n  kask:\n    error_threshold_percentage: 101\n',
      'config key breakers.kask.error_threshold_percentage: must be at most 100, got 101',
    ],
    [
      'breakers:\n  redis:\n    error_threshold_percentage: 0\n',
      'config key breakers.redis.error_threshold_percentage: must be at least 1, got 0',
    ],
    [
      'breakers:\n  kask:\n    rolling_window_ms: 999\n',
      'config key breakers.kask.rolling_window_ms: must be at least 1000, got 999',
    ],
    ['fleet:\n  instance: 5\n', 'config key fleet.instance: must be a string, got 5'],
    ['fleet:\n  member_ttl_ms: 299\n', 'config key fleet.member_ttl_ms: must be at least 300, got 299'],
    [
      'shutdown:\n  drain_timeout_ms: -1\n',
      'config key shutdown.drain_timeout_ms: must be at least 0, got -1',
    ],
  ])('%j: %s', (yaml, message) => {
    expect(errorOf(yaml)).toBe(message);
  });

  it('names a file it cannot read, that is not YAML or not a mapping', () => {
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(
      `cannot read config file ${dir}/missing.yaml: ENOENT`,
    );
    expect(errorOf('phase: [\n')).toMatch(
      /^config file DIR\/config-\d+\.yaml is not valid YAML: Flow sequence/,
    );
    expect(errorOf('- a\n- b\n')).toMatch(/^config file DIR\/config-\d+\.yaml must be a YAML mapping$/);
  });
});

describe('config errors across keys', () => {
  it.each([
    [
      'migration:\n  request_deadline_ms: 3000\n',
      "config key migration.request_deadline_ms: must stay below MediaWiki's 3000 ms, got 3000 ms",
    ],
    [
      'migration:\n  request_deadline_ms: 1500\n',
      'config key migration.request_deadline_ms: must be at least kask.request_timeout_ms + 2 × redis.command_timeout_ms (1600 ms), got 1500 ms',
    ],
    [
      'kask:\n  request_timeout_ms: 2500\n',
      'config key migration.request_deadline_ms: must be at least kask.request_timeout_ms + 2 × redis.command_timeout_ms (3100 ms), got 2000 ms',
    ],
    [
      'repair:\n  backoff_base_ms: 10\n  backoff_max_ms: 5\n',
      'config key repair.backoff_max_ms: must be at least repair.backoff_base_ms',
    ],
    [
      'fleet:\n  heartbeat_interval_ms: 2000\n  member_ttl_ms: 3000\n',
      'config key fleet.member_ttl_ms: must be at least twice fleet.heartbeat_interval_ms (one lost heartbeat must not drop a member)',
    ],
  ])('%j: %s', (yaml, message) => {
    expect(errorOf(yaml)).toBe(message);
  });
});

describe('config errors from secrets, the environment and flags', () => {
  it('names the secret file it cannot use, never its contents', () => {
    expect(errorOf('values:\n  hmac_key_file: DIR/missing\n')).toBe(
      'values.hmac_key_file: cannot read DIR/missing: ENOENT',
    );
    expect(errorOf('admin:\n  token_file: DIR/empty\n')).toBe('admin.token_file: DIR/empty is empty');
    expect(errorOf(null, {}, { KMP_HMAC_KEY_FILE: `${dir}/missing` })).toBe(
      'values.hmac_key_file: cannot read DIR/missing: ENOENT',
    );
  });

  it('reads environment variables and flags as text, with the same errors', () => {
    expect(errorOf(null, {}, { KMP_PHASE: 'nope' })).toBe(
      `config key phase: must be one of ${PHASES}, got "nope"`,
    );
    expect(errorOf(null, {}, { KMP_LISTEN: 'nope' })).toBe(
      'config key listen: must be HOST:PORT, got "nope"',
    );
    expect(errorOf(null, { 'front.max_key_bytes': '-5' })).toBe(
      'config key front.max_key_bytes: must be at least 1, got -5',
    );
    expect(errorOf(null, { 'migration.shadow_sample_rate': 'abc' })).toBe(
      'config key migration.shadow_sample_rate: must be a number from 0 to 1, got "abc"',
    );
    expect(errorOf('phase: migration\n', { 'front.max_key_bytes': '0' })).toBe(
      'config key front.max_key_bytes: must be at least 1, got 0',
    );
  });
});

describe('accepted values', () => {
  it('reads numbers, booleans and lists from text, and normalises URLs and addresses', () => {
    const config = load(
      'service_name: 5\nlisten: ":99"\nadmin:\n  listen: "[::1]:98"\nredis:\n  cluster_nodes: "a:1, b:2,,"\n  key_prefix: 5\n',
      {
        'front.max_key_bytes': ' 7 ',
        'front.accept_put': 'true',
        'migration.shadow_sample_rate': '0.5',
        'kask.url': 'http://k:1/base',
        base_uri: 'echo',
      },
    );
    expect(config.serviceName).toBe('5');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 99 });
    expect(config.admin.listen).toEqual({ host: '::1', port: 98 });
    expect(config.redis.clusterNodes).toEqual(['a:1', 'b:2']);
    expect(config.redis.keyPrefix).toBe('5');
    expect(config.front.maxKeyBytes).toBe(7);
    expect(config.front.acceptPut).toBe(true);
    expect(config.migration.shadowSampleRate).toBe(0.5);
    expect(config.kask.url).toBe('http://k:1/base/');
    expect(config.baseUri).toBe('/echo/');
  });

  it('takes null as the default, and null or "" as "none" where a setting can be empty', () => {
    const config = load('front:\n  max_key_bytes: null\nadmin:\n  listen:\nkask:\n  ca_file: ""\n');
    expect(config.front.maxKeyBytes).toBe(65536);
    expect(config.admin.listen).toBeNull();
    expect(config.kask.caFile).toBeNull();
  });

  it('reads secrets from files (trailing newline trimmed) or the environment', () => {
    expect(load('values:\n  hmac_key_file: DIR/key\n').values.hmacKey).toEqual(Buffer.from('k3y'));
    expect(load(null, {}, { KMP_HMAC_KEY: 'env-key' }).values.hmacKey).toEqual(Buffer.from('env-key'));
    expect(load(null, {}, { KMP_ADMIN_TOKEN: 'tok' }).admin.token).toBe('tok');
  });

  it('is frozen all the way down', () => {
    const config = load(null);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.breakers.kask)).toBe(true);
    expect(Object.isFrozen(config.redis.clusterNodes)).toBe(true);
  });
});

/** `[dotted key, value]` for every leaf of a YAML tree (a list is a leaf). */
function leaves(tree: object, prefix = ''): Array<[string, unknown]> {
  return Object.entries(tree).flatMap(
    ([name, value]): Array<[string, unknown]> =>
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? leaves(value, `${prefix}${name}.`)
        : [[`${prefix}${name}`, value]],
  );
}

const configFile = (name: string) => fileURLToPath(new URL(`../../config/${name}`, import.meta.url));
const readTree = (name: string): object => parseYaml(readFileSync(configFile(name), 'utf8'));

describe('config/production.example.yaml', () => {
  const example = leaves(readTree('production.example.yaml'));
  const defaults = new Map(leaves(DEFAULTS));

  it('documents every key the loader knows, and no other', () => {
    expect(example.map(([key]) => key).sort()).toEqual([...defaults.keys()].sort());
    // Every documented key is read: an unread one would be refused as an unknown setting.
    expect(() =>
      loadConfig(configFile('production.example.yaml'), { 'admin.token_file': '' }, {}),
    ).not.toThrow();
  });

  it('shows each default, except the settings a production host sets on purpose', () => {
    const differs = example.filter(([key, value]) => !isDeepStrictEqual(value, defaults.get(key)));
    expect(differs.map(([key]) => key)).toEqual(['listen', 'kask.url', 'redis.url', 'admin.token_file']);
  });
});

describe('config/default.yaml', () => {
  it('sets only keys the loader knows, and loads', () => {
    for (const [key] of leaves(readTree('default.yaml'))) expect(DEFAULTS, key).toHaveProperty(key);
    expect(loadConfig(configFile('default.yaml'), {}, {}).kask.url).toBe('embedded');
  });
});
