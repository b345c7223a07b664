/**
 * Property tests (issue #3, item 21): whatever a plugin exports as a manifest, and whatever a config
 * file holds, validation answers with a valid value or with its own error code (MANIFEST_INVALID,
 * CONFIG_INVALID): never another error, never a crash, never a polluted prototype.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import sjson from 'secure-json-parse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POISON, configSchema, loadConfig } from '../src/config.js';
import { isExtensionError } from '../src/shared/errors.js';
import { formatIssues } from '../src/shared/format-issues.js';
import { HANDLER_NAME_PATTERN, REQUEST_TYPE_PATTERN, validateManifest } from '../src/plugin/manifest.js';
import { tempDir } from './helpers/index.js';

const FILE = 'plugins/generated/index.mjs';
const MANIFEST_KEYS = [
  'requestType',
  'handlerType',
  'name',
  'handler',
  'description',
  'supportedEndpoints',
  'requires',
  'version',
] as const;
const POISON_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
const METHODS = {
  REGION_REQUEST_HANDLER: 'processRegionRequest',
  IMAGE_REQUEST_HANDLER: 'processImageRequest',
} as const;

/** Runs per property; the issue asks for at least 10,000. */
const RUNS = 10_000;

// ---- handler-ish values: good classes, and everything a plugin may wrongly put there -----------
class Region {
  processRegionRequest(): void {}
}
class Image {
  processImageRequest(): void {}
}
class Both {
  processRegionRequest(): void {}
  processImageRequest(): void {}
}
class NoMethod {}
class ThrowingMethod {
  get processRegionRequest(): never {
    throw new Error('hostile: prototype getter');
  }
  get processImageRequest(): never {
    throw new Error('hostile: prototype getter');
  }
}
function plainFunction(): void {}
const noPrototype = Object.assign(function noProto(): void {}, {});
(noPrototype as { prototype: unknown }).prototype = 42;
const HANDLERISH: unknown[] = [
  Region,
  Image,
  Both,
  NoMethod,
  ThrowingMethod,
  plainFunction,
  noPrototype,
  () => undefined,
  async () => undefined,
  Math.max,
  Region.bind(null),
  new Proxy(Region, {}),
  new Proxy(Image, {
    get: () => {
      throw new Error('hostile: handler proxy');
    },
  }),
  class extends Region {},
  Object.create(null),
  'Region',
  null,
  undefined,
];

const boom = (): never => {
  throw new Error('hostile: trap');
};

// ---- arbitraries --------------------------------------------------------------------------------
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...MANIFEST_KEYS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...POISON_KEYS, 'requesttype', 'Name', 'handlertype', 'toString', 'valueOf', 'then', ''),
  },
  { weight: 1, arbitrary: fc.string() },
);
const requestTypeish = fc.oneof(
  fc.stringMatching(REQUEST_TYPE_PATTERN),
  fc.constantFrom('http', 'sm_endpoint', '../x.mjs', 'node:fs', 'A', '', 'a'.repeat(65)),
  fc.string(),
);
const nameish = fc.oneof(
  fc.stringMatching(HANDLER_NAME_PATTERN),
  fc.constantFrom('Bad Name', '-x', '', 'a'.repeat(129)),
  fc.string(),
);
const handlerTypeish = fc.oneof(
  fc.constantFrom('REGION_REQUEST_HANDLER', 'IMAGE_REQUEST_HANDLER'),
  fc.constantFrom('region', 'REGION', 0, 1, null),
  fc.string(),
);
const handlerish = fc.constantFrom(...HANDLERISH);
const anyValue = fc.anything({
  maxDepth: 2,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  key,
});
const value = fc.oneof(
  anyValue,
  requestTypeish,
  nameish,
  handlerTypeish,
  handlerish,
  fc.array(fc.string(), { maxLength: 3 }),
);

type Hostility = 'as-is' | 'getter' | 'proxy' | 'throwing-proxy' | 'null-prototype' | 'frozen';
/**
 * A recipe for a hostile object: built inside the property (fast-check itself inspects generated
 * values, and a throwing Proxy would break the generator, not the code under test).
 */
interface Recipe {
  object: object;
  how: Hostility;
  at: string;
}
const hostile = <T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<Recipe> =>
  fc.record({
    object: arb,
    how: fc.constantFrom<Hostility>('as-is', 'getter', 'proxy', 'throwing-proxy', 'null-prototype', 'frozen'),
    at: fc.constantFrom(...MANIFEST_KEYS, 'pluginDirs', 'cache'),
  });

/** Build the hostile object: a throwing getter on a key, a Proxy (benign or throwing), no prototype, frozen. */
function build({ object, how, at }: Recipe): unknown {
  const copy: Record<string, unknown> = {};
  for (const k of Reflect.ownKeys(object))
    Object.defineProperty(copy, k, {
      value: (object as Record<PropertyKey, unknown>)[k],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  switch (how) {
    case 'getter':
      Object.defineProperty(copy, at, { get: boom, enumerable: true, configurable: true });
      return copy;
    case 'proxy':
      return new Proxy(copy, {});
    case 'throwing-proxy':
      return new Proxy(copy, {
        get: boom,
        has: boom,
        ownKeys: boom,
        getOwnPropertyDescriptor: boom,
        getPrototypeOf: boom,
      });
    case 'null-prototype':
      return Object.assign(Object.create(null) as object, copy);
    case 'frozen':
      return Object.freeze(copy);
    default:
      return copy;
  }
}

/** A valid manifest (its handler has the right method). */
const validManifest = fc
  .record(
    {
      requestType: fc.stringMatching(REQUEST_TYPE_PATTERN),
      handlerType: fc.constantFrom('REGION_REQUEST_HANDLER' as const, 'IMAGE_REQUEST_HANDLER' as const),
      name: fc.stringMatching(HANDLER_NAME_PATTERN),
      description: fc.string({ maxLength: 500 }),
      supportedEndpoints: fc.array(fc.string({ minLength: 1, maxLength: 64 }), { maxLength: 3 }),
      requires: fc.array(fc.string({ minLength: 1, maxLength: 128 }), { maxLength: 3 }),
      version: fc.string({ minLength: 1, maxLength: 64 }),
    },
    { requiredKeys: ['requestType', 'handlerType', 'name'] },
  )
  .chain((m) =>
    fc
      .constantFrom(m.handlerType === 'REGION_REQUEST_HANDLER' ? Region : Image, Both)
      .map((handler) => ({ ...m, handler }) as Record<string, unknown>),
  );

/** A valid manifest with one field changed, removed, or one key added (poisoning keys included). */
const mutatedManifest = fc
  .tuple(validManifest, fc.constantFrom('set', 'delete', 'add'), key, value)
  .map(([manifest, how, k, v]) => {
    const copy = { ...manifest };
    if (how === 'delete') delete copy[k];
    // defineProperty, so that "__proto__" becomes an own key rather than the prototype.
    else Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
    return copy;
  });

// ---- the manifest property -----------------------------------------------------------------------
/** validateManifest's contract: a valid manifest, or MANIFEST_INVALID naming the file. Anything else throws. */
function checkManifest(input: unknown): void {
  let manifest: ReturnType<typeof validateManifest>;
  try {
    manifest = validateManifest(input, FILE);
  } catch (error) {
    if (!isExtensionError(error, 'MANIFEST_INVALID')) {
      throw new Error(`validateManifest threw something other than MANIFEST_INVALID: ${String(error)}`, {
        cause: error,
      });
    }
    if (!error.message.includes(FILE)) {
      throw new Error(`MANIFEST_INVALID does not name the file: ${error.message}`, { cause: error });
    }
    return;
  }
  // Accepted: it really is a manifest.
  if (!REQUEST_TYPE_PATTERN.test(manifest.requestType))
    throw new Error(`accepted requestType ${JSON.stringify(manifest.requestType)}`);
  if (!HANDLER_NAME_PATTERN.test(manifest.name)) throw new Error(`accepted name ${JSON.stringify(manifest.name)}`);
  if (
    typeof manifest.handler !== 'function' ||
    typeof (manifest.handler.prototype as Record<string, unknown>)[METHODS[manifest.handlerType]] !== 'function'
  ) {
    throw new Error('accepted a handler without its method');
  }
  const extra = Reflect.ownKeys(manifest).filter((k) => !(MANIFEST_KEYS as readonly PropertyKey[]).includes(k));
  if (extra.length > 0) throw new Error(`accepted unknown keys ${String(extra.map(String))}`);
}

/** Globals that vitest itself (and StrykerJS's coverage counters, under `npm run mutate`) may touch while tests run. */
const IGNORED_ROOTS = /^(__vitest|__vite|__VITEST|__coverage|__VI|__stryker__$)/;

/**
 * @fast-check/poisoning snapshots the globals when it is loaded. It is loaded once the code under
 * test has run (zod registers globals on load) and Node's lazy globals (e.g. AbortController, an
 * accessor until first read) have settled, so that only changes made by the runs count.
 */
let poisoning: typeof import('@fast-check/poisoning');
beforeAll(async () => {
  checkManifest({});
  configSchema.safeParse({});
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    try {
      void (globalThis as Record<string, unknown>)[name];
    } catch {
      // a global that throws when read: nothing to settle
    }
  }
  poisoning = await import('@fast-check/poisoning');
});

function noPollution(): void {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
  poisoning.assertNoPoisoning({ ignoredRootRegex: IGNORED_ROOTS });
}
const restoreGlobals = (): void => poisoning.restoreGlobals({ ignoredRootRegex: IGNORED_ROOTS });

afterAll(() => {
  restoreGlobals();
});

describe('validateManifest: any input gives a manifest or MANIFEST_INVALID', () => {
  const run = <T>(arb: fc.Arbitrary<T>, make: (generated: T) => unknown = (generated) => generated): void => {
    try {
      fc.assert(
        fc.property(arb, (generated) => checkManifest(make(generated))),
        { numRuns: RUNS },
      );
      noPollution();
    } finally {
      restoreGlobals();
    }
  };

  it('fc.anything()', () => {
    run(anyValue);
  });

  it('objects whose keys are manifest keys, "__proto__", "constructor", "prototype" or random', () => {
    run(
      hostile(fc.dictionary(key, value, { maxKeys: 10 })).map((recipe) => ({ recipe })),
      (v) => build(v.recipe),
    );
  });

  it('valid-ish manifests with one field changed, removed or added', () => {
    run(
      hostile(mutatedManifest).map((recipe) => ({ recipe })),
      (v) => build(v.recipe),
    );
  });

  it('valid manifests are accepted (the generator is not vacuous)', () => {
    fc.assert(
      fc.property(validManifest, (m) => {
        expect(validateManifest(m, FILE).name).toBe(m['name']);
      }),
      { numRuns: 1_000 },
    );
  });
});

// ---- configs -------------------------------------------------------------------------------------
const CONFIG_KEYS = Object.keys(configSchema.shape);
const configKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONFIG_KEYS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...POISON_KEYS, 'plugindirs', 'pluginDir', 'strict ', 'Cache', 'importTimeout', ''),
  },
  { weight: 1, arbitrary: fc.string() },
);
/** Values close to what each key takes, and wrong ones. */
const configValue = fc.oneof(
  fc.boolean(),
  fc.array(fc.oneof(fc.constantFrom('plugins', '', '../x', 'node_modules'), fc.string()), { maxLength: 3 }),
  fc.constantFrom(
    'trace',
    'debug',
    'info',
    'warn',
    'error',
    'fatal',
    'silent',
    'verbose',
    'strict',
    'warn',
    'off',
    'http',
    'Bad Type',
  ),
  fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, Infinity)),
  fc.string(),
  fc.jsonValue({ maxDepth: 2 }),
);
const configObject = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(configKey, configValue, { maxKeys: 8 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/**
 * The loader's validation path for parsed config data (loadConfig, after the file is read): the
 * prototype-poisoning scan, the strict zod schema, then `formatIssues` for the message.
 * Returns the problems, or an empty list when valid.
 */
function configProblems(data: unknown): string[] {
  try {
    if (data !== null && typeof data === 'object') sjson.scan(data as Record<string, unknown>, POISON);
  } catch {
    return ['(root): a `__proto__` or `constructor.prototype` key is not allowed'];
  }
  const result = configSchema.safeParse(data, { reportInput: true });
  if (result.success) {
    const extra = Object.keys(result.data).filter((k) => !CONFIG_KEYS.includes(k));
    if (extra.length > 0) throw new Error(`the schema accepted unknown keys ${extra.join(', ')}`);
    return [];
  }
  const problems = formatIssues(result.error.issues, CONFIG_KEYS);
  if (problems.length === 0) throw new Error('an invalid config gave no problem lines');
  for (const line of problems)
    if (typeof line !== 'string' || !line.includes(': '))
      throw new Error(`not a "field: problem" line: ${String(line)}`);
  return problems;
}

/** secure-json-parse options that keep poisoning keys (as plain own keys), so the scan above sees them. */
const POISON_SAFE = { protoAction: 'ignore', constructorAction: 'ignore' } as const;

describe('config validation: any content gives a config or CONFIG_INVALID', () => {
  it(`${RUNS} parsed configs through the schema and formatIssues`, () => {
    try {
      fc.assert(
        fc.property(hostile(fc.dictionary(configKey, configValue, { maxKeys: 8 })), configObject, (recipe, json) => {
          const object = build(recipe);
          // The same object as a JSON file would parse (own "__proto__" keys kept by JSON.parse), and as generated.
          let parsed: unknown;
          try {
            parsed = JSON.parse(JSON.stringify(json) ?? 'null');
          } catch {
            parsed = null;
          }
          configProblems(parsed);
          try {
            configProblems(object);
          } catch (error) {
            // A throwing getter or Proxy cannot come out of a JSON or YAML file; only the schema's own errors matter.
            if (!(error instanceof Error) || !/hostile: trap/.test(error.message)) throw error;
          }
        }),
        { numRuns: RUNS },
      );
      noPollution();
    } finally {
      restoreGlobals();
    }
  });

  it('200 generated config files through loadConfig', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'osml-extensions.config.json');
    try {
      await fc.assert(
        // A file holding just `null` is left out: cosmiconfig treats it as no config at all (see the report).
        fc.asyncProperty(
          configObject.filter((config) => config !== null),
          async (config) => {
            const text = JSON.stringify(config) ?? 'null';
            await writeFile(file, text);
            const outcome = await loadConfig({ cwd: dir, env: {} }).then(
              (resolved) => ({ ok: true as const, resolved }),
              (error: unknown) => ({ ok: false as const, error }),
            );
            const problems = configProblems(sjson.parse(text, POISON_SAFE));
            if (outcome.ok) {
              if (problems.length > 0)
                throw new Error(`loadConfig accepted ${text}, which the schema refuses: ${problems.join('; ')}`);
              expect(outcome.resolved.file).toBe(file);
            } else {
              if (!isExtensionError(outcome.error, 'CONFIG_INVALID'))
                throw new Error(
                  `loadConfig threw something other than CONFIG_INVALID for ${text}: ${String(outcome.error)}`,
                );
              expect(outcome.error.message).toContain('osml-extensions.config.json');
            }
          },
        ),
        { numRuns: 200 },
      );
      noPollution();
    } finally {
      restoreGlobals();
    }
  });
});
