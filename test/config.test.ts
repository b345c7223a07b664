import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, scanConfigValue, type ConfigOptions, type ResolvedConfig } from '../src/config.js';
import { ExtensionError } from '../src/shared/errors.js';
import { tempDir, writeTree } from './helpers/index.js';

/** A temp project: a `package.json` (so the 'project' search stops here) plus `files`. */
async function project(files: Record<string, string> = {}): Promise<string> {
  return writeTree(await tempDir(), { 'package.json': '{}', ...files });
}

/** Load with an explicit, empty environment unless one is given: never read process.env. */
const load = (cwd: string, options: Omit<ConfigOptions, 'cwd'> = {}): Promise<ResolvedConfig> =>
  loadConfig({ env: {}, ...options, cwd });

/** The CONFIG_INVALID error `promise` rejects with. */
async function configError(promise: Promise<unknown>): Promise<ExtensionError<'CONFIG_INVALID'>> {
  let result: unknown;
  try {
    result = await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ExtensionError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    return error as ExtensionError<'CONFIG_INVALID'>;
  }
  throw new Error(`expected CONFIG_INVALID, got ${JSON.stringify(result)}`);
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);
const sample = { pluginDirs: ['custom'], logLevel: 'debug', strict: true } as const;

describe('loadConfig: finding the config file', () => {
  const forms: [string, Record<string, string>][] = [
    ['osml-extensions.config.json', { 'osml-extensions.config.json': json(sample) }],
    ['.osml-extensionsrc', { '.osml-extensionsrc': json(sample) }],
    ['.osml-extensionsrc.json', { '.osml-extensionsrc.json': json(sample) }],
    ['.osml-extensionsrc.yml', { '.osml-extensionsrc.yml': 'pluginDirs: [custom]\nlogLevel: debug\nstrict: true\n' }],
    ['.osml-extensionsrc.js', { '.osml-extensionsrc.js': `module.exports = ${json(sample)};\n` }],
    ['.osml-extensionsrc.mjs', { '.osml-extensionsrc.mjs': `export default ${json(sample)};\n` }],
    ['.osml-extensionsrc.cjs', { '.osml-extensionsrc.cjs': `module.exports = ${json(sample)};\n` }],
    ['osml-extensions.config.js', { 'osml-extensions.config.js': `module.exports = ${json(sample)};\n` }],
    [
      '.osml-extensionsrc.yaml',
      { '.osml-extensionsrc.yaml': 'pluginDirs:\n  - custom\nlogLevel: debug\nstrict: true\n' },
    ],
    ['osml-extensions.config.mjs', { 'osml-extensions.config.mjs': `export default ${json(sample)};\n` }],
    ['osml-extensions.config.cjs', { 'osml-extensions.config.cjs': `module.exports = ${json(sample)};\n` }],
  ];

  it.each(forms)('finds %s in the project folder', async (name, files) => {
    const dir = await project(files);
    const config = await load(dir);
    expect(config.file).toBe(path.join(dir, name));
    expect(path.isAbsolute(config.file ?? '')).toBe(true);
    expect(config.pluginDirs).toEqual([path.join(dir, 'custom')]);
    expect(config.pluginDirsNamed).toBe(true);
    expect(config.logLevel).toBe('debug');
    expect(config.strict).toBe(true);
  });

  it('finds the "osml-extensions" key of package.json', async () => {
    const dir = await writeTree(await tempDir(), { 'package.json': json({ name: 'host', 'osml-extensions': sample }) });
    const config = await load(dir);
    expect(config.file).toBe(path.join(dir, 'package.json'));
    expect(config.pluginDirs).toEqual([path.join(dir, 'custom')]);
    expect(config.logLevel).toBe('debug');
    expect(config.strict).toBe(true);
  });

  it('searches up from a subfolder to the project root and resolves pluginDirs against the file', async () => {
    const dir = await project({
      'osml-extensions.config.json': json({ pluginDirs: ['plugins', 'more/plugins'] }),
      'src/deep/.keep': '',
    });
    const cwd = path.join(dir, 'src', 'deep');
    const config = await load(cwd);
    expect(config.cwd).toBe(cwd);
    expect(config.file).toBe(path.join(dir, 'osml-extensions.config.json'));
    expect(config.pluginDirs).toEqual([path.join(dir, 'plugins'), path.join(dir, 'more', 'plugins')]);
  });

  it('does not search above the folder holding package.json', async () => {
    const outer = await writeTree(await tempDir(), {
      'osml-extensions.config.json': json({ logLevel: 'debug' }),
      'proj/package.json': '{}',
    });
    const config = await load(path.join(outer, 'proj'));
    expect(config.file).toBeUndefined();
    expect(config.logLevel).toBe('info');
  });
});

describe('loadConfig: defaults', () => {
  it('fills every field when there is no config file', async () => {
    const dir = await project();
    const config = await load(dir);
    // Strict: a key that is present but undefined (asyncInputLocation, requestType.env) is a bug too.
    expect(config).toStrictEqual({
      cwd: dir,
      file: undefined,
      // No config file: where the search looked (the temp project's own package.json stops it).
      search: { from: '.', stoppedAt: '.' },
      pluginDirs: [path.join(dir, 'plugins')],
      pluginDirsNamed: false,
      useExtensions: true,
      fallbackEnabled: false,
      strict: false,
      disabled: [],
      logLevel: 'info',
      requestType: {},
      cache: path.join(dir, 'node_modules/.cache/osml-extensions'),
      slowPluginMs: 500,
      importTimeoutMs: 10_000,
      maxEntryBytes: 1024 * 1024,
      permissions: 'strict',
      probe: false,
      allowUnpinned: false,
      lockFile: path.join(dir, 'osml-extensions.lock.json'),
    });
  });

  it('turns the cache off, or moves it relative to the config file', async () => {
    const off = await project({ 'osml-extensions.config.json': json({ cache: false }) });
    expect((await load(off)).cache).toBe(false);
    const moved = await project({ 'conf/x.json': json({ cacheDir: '../.cache/ext', slowPluginMs: 50 }) });
    const config = await loadConfig({ cwd: moved, env: {}, configFile: 'conf/x.json' });
    expect(config.cache).toBe(path.join(moved, '.cache/ext'));
    expect(config.slowPluginMs).toBe(50);
    expect(
      (await loadConfig({ cwd: moved, env: {}, configFile: 'conf/x.json', overrides: { cache: false } })).cache,
    ).toBe(false);
  });

  it('keeps the file values it was given and defaults the rest', async () => {
    const dir = await project({
      'osml-extensions.config.json': json({
        requestType: 'custom_processing',
        disabled: ['old-region'],
        useExtensions: false,
        fallbackEnabled: true,
      }),
    });
    const config = await load(dir);
    expect(config).toMatchObject({
      pluginDirs: [path.join(dir, 'plugins')],
      pluginDirsNamed: false,
      requestType: { config: 'custom_processing' },
      disabled: ['old-region'],
      useExtensions: false,
      fallbackEnabled: true,
      strict: false,
      logLevel: 'info',
    });
  });
});

describe('loadConfig: pluginDirs', () => {
  it('resolves file pluginDirs against the config file folder, not cwd', async () => {
    const dir = await project({ 'conf/x.json': json({ pluginDirs: ['../plugins', 'local', '/abs/plugins'] }) });
    const config = await load(dir, { configFile: 'conf/x.json' });
    expect(config.file).toBe(path.join(dir, 'conf', 'x.json'));
    expect(config.pluginDirs).toEqual([
      path.join(dir, 'plugins'),
      path.join(dir, 'conf', 'local'),
      path.resolve('/abs/plugins'),
    ]);
    expect(config.pluginDirsNamed).toBe(true);
  });

  it('resolves overrides.pluginDirs against cwd, replacing the file list', async () => {
    const dir = await project({ 'conf/x.json': json({ pluginDirs: ['../plugins'] }) });
    const config = await load(dir, { configFile: 'conf/x.json', overrides: { pluginDirs: ['a', 'b/c'] } });
    expect(config.pluginDirs).toEqual([path.join(dir, 'a'), path.join(dir, 'b', 'c')]);
    expect(config.pluginDirsNamed).toBe(true);
  });

  it('counts overrides.pluginDirs as named even without a config file', async () => {
    const dir = await project();
    const config = await load(dir, { overrides: { pluginDirs: ['plugins'] } });
    expect(config.pluginDirs).toEqual([path.join(dir, 'plugins')]);
    expect(config.pluginDirsNamed).toBe(true);
  });
});

describe('loadConfig: configFile', () => {
  it('uses the explicit file instead of the one a search would find', async () => {
    const dir = await project({
      'osml-extensions.config.json': json({ logLevel: 'error' }),
      'other/chosen.json': json({ logLevel: 'debug' }),
    });
    const config = await load(dir, { configFile: 'other/chosen.json' });
    expect(config.file).toBe(path.join(dir, 'other', 'chosen.json'));
    expect(config.logLevel).toBe('debug');
  });

  it('accepts an absolute path', async () => {
    const dir = await project({ 'elsewhere.yaml': 'logLevel: warn\n' });
    const config = await load(dir, { configFile: path.join(dir, 'elsewhere.yaml') });
    expect(config.file).toBe(path.join(dir, 'elsewhere.yaml'));
    expect(config.logLevel).toBe('warn');
  });

  it('rejects a missing explicit file with CONFIG_INVALID naming it', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({}) });
    const error = await configError(load(dir, { configFile: 'conf/missing.json' }));
    expect(error.params).toEqual({ where: 'conf/missing.json', problems: ['file not found'] });
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });
});

describe('loadConfig: strict schema', () => {
  it('rejects an unknown key, naming the file by its relative path and the key', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ pluginDir: ['plugins'] }) });
    const error = await configError(load(dir));
    expect(error.message).toContain('osml-extensions.config.json');
    expect(error.message).toMatch(/\bpluginDir\b/);
    expect(error.message).not.toContain(dir);
  });

  it('names an explicit config file relative to cwd', async () => {
    const dir = await project({ 'conf/x.json': json({ pluginDir: ['plugins'] }) });
    const error = await configError(load(dir, { configFile: 'conf/x.json' }));
    expect(error.message).toContain('conf/x.json');
    expect(error.message).toMatch(/\bpluginDir\b/);
    expect(error.message).not.toContain(dir);
  });

  const wrong: [string, unknown][] = [
    ['useExtensions', 'yes'],
    ['pluginDirs', 'plugins'],
    ['requestType', 'Bad-Type'],
    ['logLevel', 'loud'],
    ['disabled', ['Bad Name']],
    ['fallbackEnabled', 1],
    ['strict', 'true'],
  ];

  it.each(wrong)('rejects a wrong %s', async (key, value) => {
    const dir = await project({ 'osml-extensions.config.json': json({ [key]: value }) });
    const error = await configError(load(dir));
    expect(error.message).toContain('osml-extensions.config.json');
    expect(error.message).toContain(key);
  });

  it('lists every problem in one message', async () => {
    const dir = await project({
      'osml-extensions.config.json': json({
        useExtensions: 'yes',
        pluginDirs: 'plugins',
        requestType: 'Bad-Type',
        logLevel: 'loud',
        disabled: ['Bad Name'],
      }),
    });
    const error = await configError(load(dir));
    for (const key of ['useExtensions', 'pluginDirs', 'requestType', 'logLevel', 'disabled'])
      expect(error.message).toContain(key);
    expect(error.params.problems).toHaveLength(5);
  });

  it('names package.json when its "osml-extensions" key is invalid', async () => {
    const dir = await writeTree(await tempDir(), { 'package.json': json({ 'osml-extensions': { logLevel: 'loud' } }) });
    const error = await configError(load(dir));
    expect(error.params.where).toBe('package.json ("osml-extensions" key)');
    expect(error.message).toContain('received "loud"');
  });

  it('names any other file alone, and says what it received', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ logLevel: 'loud', disabled: ['Bad Name'] }) });
    const error = await configError(load(dir));
    expect(error.params.where).toBe('osml-extensions.config.json');
    expect(error.message).toContain('received "loud"');
    expect(error.message).toContain('disabled.0: must be a handler name, received "Bad Name"');
  });

  it('takes an empty config file named explicitly as one that sets nothing', async () => {
    const dir = await project({ 'conf/empty.yaml': '' });
    const config = await load(dir, { configFile: 'conf/empty.yaml' });
    expect(config.file).toBe(path.join(dir, 'conf/empty.yaml'));
    expect(config.logLevel).toBe('info');
  });

  it('accepts $schema', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ $schema: './schema.json', logLevel: 'warn' }) });
    expect((await load(dir)).logLevel).toBe('warn');
  });

  it('rejects malformed JSON, naming the file', async () => {
    const dir = await project({ '.osml-extensionsrc.json': '{ "pluginDirs": [' });
    const error = await configError(load(dir));
    expect(error.message).toContain('.osml-extensionsrc.json');
  });

  it('rejects malformed JSON in an explicit file, naming it relative to cwd', async () => {
    const dir = await project({ 'conf/x.json': '{ "logLevel": "debug", }' });
    const error = await configError(load(dir, { configFile: 'conf/x.json' }));
    expect(error.message).toContain('conf/x.json');
    expect(error.params.where).toBe('conf/x.json');
  });

  // The message's "where" should be the file that failed, relative to cwd (as for schema errors),
  // not the search folder ".".
  it('names a malformed file found by searching as its relative path, not the search folder', async () => {
    const dir = await project({ '.osml-extensionsrc.json': '{ "pluginDirs": [' });
    const error = await configError(load(dir));
    expect(error.params.where).toBe('.osml-extensionsrc.json');
  });
});

describe('loadConfig: environment overlay', () => {
  it('keeps REQUEST_TYPE as requestType.env and the file value as requestType.config', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ requestType: 'from_file' }) });
    const config = await load(dir, { env: { REQUEST_TYPE: 'from_env' } });
    expect(config.requestType).toEqual({ env: 'from_env', config: 'from_file' });
  });

  it('sets requestType.env alone when the file has none', async () => {
    const dir = await project();
    expect((await load(dir, { env: { REQUEST_TYPE: 'sm_endpoint' } })).requestType).toStrictEqual({
      env: 'sm_endpoint',
    });
  });

  it('treats an empty REQUEST_TYPE as unset', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ requestType: 'from_file' }) });
    expect((await load(dir, { env: { REQUEST_TYPE: '' } })).requestType).toEqual({ config: 'from_file' });
  });

  it('rejects REQUEST_TYPE=../x.mjs, naming the variable', async () => {
    const dir = await project();
    const error = await configError(load(dir, { env: { REQUEST_TYPE: '../x.mjs' } }));
    expect(error.params.where).toBe('the environment variable REQUEST_TYPE');
    expect(error.params.problems[0]).toMatch(/^REQUEST_TYPE: /);
    expect(error.message).toContain('received "../x.mjs"');
  });

  const words: [string, boolean][] = [
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['Yes', true],
    ['on', true],
    ['ON', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['NO', false],
    ['off', false],
    ['oFf', false],
  ];

  describe.each([
    ['USE_EXTENSIONS', 'useExtensions'],
    ['EXTENSION_FALLBACK_ENABLED', 'fallbackEnabled'],
  ] as const)('%s', (variable, key) => {
    it.each(words)(`${variable}=%s beats the file`, async (word, expected) => {
      const dir = await project({ 'osml-extensions.config.json': json({ [key]: !expected }) });
      const config = await load(dir, { env: { [variable]: word } });
      expect(config[key]).toBe(expected);
    });

    it.each([true, false])('an empty value is unset: the file value (%s) wins', async (fileValue) => {
      const dir = await project({ 'osml-extensions.config.json': json({ [key]: fileValue }) });
      const config = await load(dir, { env: { [variable]: '' } });
      expect(config[key]).toBe(fileValue);
    });

    it('rejects any other word, naming the variable', async () => {
      const dir = await project();
      const error = await configError(load(dir, { env: { [variable]: 'maybe' } }));
      expect(error.message).toContain(variable);
      expect(error.message).toContain('received "maybe"');
    });

    // From a .env or compose file: the emptiness check and the value check must agree.
    it.each([
      [' off ', false],
      ['true\n', true],
      ['\tYes\r\n', true],
      ['  0', false],
    ])(`${variable}=%j parses as without the whitespace`, async (word, expected) => {
      const dir = await project({ 'osml-extensions.config.json': json({ [key]: !expected }) });
      expect((await load(dir, { env: { [variable]: word } }))[key]).toBe(expected);
    });

    it.each([true, false])('a whitespace-only value is unset: the file value (%s) wins', async (fileValue) => {
      const dir = await project({ 'osml-extensions.config.json': json({ [key]: fileValue }) });
      expect((await load(dir, { env: { [variable]: ' \n\t' } }))[key]).toBe(fileValue);
    });
  });

  it('trims REQUEST_TYPE and LOG_LEVEL too; whitespace alone is unset', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ requestType: 'from_file', logLevel: 'warn' }) });
    expect(await load(dir, { env: { REQUEST_TYPE: ' custom\n', LOG_LEVEL: '\tdebug ' } })).toMatchObject({
      requestType: { env: 'custom', config: 'from_file' },
      logLevel: 'debug',
    });
    expect(await load(dir, { env: { REQUEST_TYPE: '  ', LOG_LEVEL: '\n' } })).toMatchObject({
      requestType: { config: 'from_file' },
      logLevel: 'warn',
    });
  });

  it('LOG_LEVEL beats the file; empty LOG_LEVEL is unset', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ logLevel: 'warn' }) });
    expect((await load(dir, { env: { LOG_LEVEL: 'debug' } })).logLevel).toBe('debug');
    expect((await load(dir, { env: { LOG_LEVEL: '' } })).logLevel).toBe('warn');
  });

  it('rejects an unknown LOG_LEVEL, naming the variable', async () => {
    const dir = await project();
    const error = await configError(load(dir, { env: { LOG_LEVEL: 'loud' } }));
    expect(error.message).toContain('LOG_LEVEL');
  });

  it('overrides beat the environment and the file', async () => {
    const dir = await project({
      'osml-extensions.config.json': json({
        useExtensions: true,
        fallbackEnabled: true,
        logLevel: 'error',
        strict: false,
      }),
    });
    const config = await load(dir, {
      env: { USE_EXTENSIONS: 'yes', EXTENSION_FALLBACK_ENABLED: 'on', LOG_LEVEL: 'debug' },
      overrides: { useExtensions: false, fallbackEnabled: false, logLevel: 'trace', strict: true },
    });
    expect(config).toMatchObject({ useExtensions: false, fallbackEnabled: false, logLevel: 'trace', strict: true });
  });
});

describe('loadConfig: asyncInputLocation', () => {
  it('takes an s3://bucket/prefix/ URL, and is absent by default', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ asyncInputLocation: 's3://tiles/in/' }) });
    expect((await load(dir)).asyncInputLocation).toBe('s3://tiles/in/');
    expect((await load(await project())).asyncInputLocation).toBeUndefined();
  });

  it('refuses anything else with CONFIG_INVALID naming the key', async () => {
    const dir = await project({ 'osml-extensions.config.json': json({ asyncInputLocation: '/tmp/tiles' }) });
    const error = await configError(load(dir));
    expect(error.message).toContain('asyncInputLocation');
  });
});

describe('loadConfig: where the search looked, when it found nothing', () => {
  it('stops at the nearest folder holding package.json', async () => {
    const dir = await project({ 'sub/deeper/.keep': '' });
    expect((await load(path.join(dir, 'sub/deeper'))).search).toStrictEqual({ from: '.', stoppedAt: '../..' });
  });

  it('goes up to the file-system root when no folder holds package.json', async () => {
    const dir = await tempDir();
    expect((await load(dir)).search?.stoppedAt).toBe(path.relative(dir, path.parse(dir).root));
  });

  it.each([
    ['osml-extensions.json', 'osml-extensions.config.json'],
    // Any YAML file with "osml" in its name: YAML configs have only the rc form.
    ['team-osml.yaml', '.osml-extensionsrc.yaml'],
    ['OSML.YML', '.osml-extensionsrc.yml'],
    ['osml-extensions.config.jsno', 'osml-extensions.config.json'],
  ])('suggests the intended name for a misnamed %s', async (file, didYouMean) => {
    const dir = await project({ [file]: '{}' });
    expect((await load(dir)).search?.nearMiss).toStrictEqual({ file, didYouMean });
  });

  it('does not take the lock file, or a file no config name is close to, for a near miss', async () => {
    const dir = await project({ 'osml-extensions.lock.json': '{}', 'osml-notes.txt': '' });
    expect((await load(dir)).search).toStrictEqual({ from: '.', stoppedAt: '.' });
  });
});

describe('scanConfigValue', () => {
  it('allows exactly 10,000 values and refuses one more', () => {
    // The array itself is one value.
    expect(scanConfigValue(Array.from({ length: 9_999 }, () => 0))).toBeUndefined();
    expect(scanConfigValue(Array.from({ length: 10_000 }, () => 0))).toContain('more than 10000 values');
  });

  it('refuses constructor.prototype, but not a prototype key under any other name', () => {
    expect(scanConfigValue({ constructor: { prototype: {} } })).toContain('`constructor.prototype`');
    expect(scanConfigValue({ docs: { prototype: 'a word like any other' }, constructor: null })).toBeUndefined();
  });
});
