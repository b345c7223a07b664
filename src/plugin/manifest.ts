/**
 * The manifest: its zod schema (the single source of truth for its type), validation, and the
 * `registerHandler` decorator that attaches a manifest to a class.
 */
import { types } from 'node:util';
import { z } from 'zod';
import { ExtensionError } from '../shared/errors.js';
import { formatIssues } from '../shared/format-issues.js';
import { HANDLER_METHODS, HandlerType, type HandlerClass } from '../shared/types.js';

/** Request type names: lower snake case, e.g. `sm_endpoint`. */
export const REQUEST_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** Handler names, unique in a registry, e.g. `custom.region-handler_v2`. */
export const HANDLER_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,127}$/;

/** The key under which `registerHandler` stores a manifest on a class; shared across copies of this package. */
export const MANIFEST_KEY: unique symbol = Symbol.for('osml-extensions.manifest') as never;

/** A request type name (see {@link REQUEST_TYPE_PATTERN}). */
export const requestTypeSchema = z
  .string()
  .regex(
    REQUEST_TYPE_PATTERN,
    'must be lower snake case starting with a letter, at most 64 characters (e.g. "custom_processing")',
  );

const isClass = (value: unknown): value is HandlerClass =>
  typeof value === 'function' && typeof (value as { prototype?: unknown }).prototype === 'object';

const fields = {
  requestType: requestTypeSchema,
  handlerType: z.enum(HandlerType, { error: 'must be "REGION_REQUEST_HANDLER" or "IMAGE_REQUEST_HANDLER"' }),
  name: z
    .string()
    .regex(
      HANDLER_NAME_PATTERN,
      'must be lower case letters, digits, "_", "." or "-", starting with a letter or digit',
    ),
  description: z.string().max(500).optional(),
  supportedEndpoints: z.array(z.string().min(1).max(64)).optional(),
  requires: z.array(z.string().min(1).max(128)).optional(),
  version: z.string().min(1).max(64).optional(),
};

/** Everything in a manifest except the class: what `registerHandler` takes. */
export const handlerOptionsSchema = z.strictObject(fields);

/** The full manifest schema, strict: unknown keys are errors. */
export const manifestSchema = z
  .strictObject({
    ...fields,
    handler: z.custom<HandlerClass>(isClass, 'must be a class (a constructor function)'),
  })
  .superRefine((manifest, ctx) => {
    const method = HANDLER_METHODS[manifest.handlerType];
    const proto: unknown = manifest.handler.prototype;
    if (typeof (proto as Record<string, unknown>)[method] !== 'function') {
      ctx.addIssue({
        code: 'custom',
        path: ['handler'],
        message: `class ${manifest.handler.name || '(anonymous)'} has no method ${method}() (required for ${manifest.handlerType}); extend the base handler or add the method`,
      });
    }
  });

/** A validated manifest. */
export type Manifest = z.infer<typeof manifestSchema>;
/**
 * What a plugin writes: `handlerType` may be the enum or its string value.
 * @example
 * export default { requestType: 'custom', handlerType: 'REGION_REQUEST_HANDLER', name: 'custom-region', handler: MyRegion };
 */
export type ManifestInput = Omit<z.input<typeof manifestSchema>, 'handlerType'> & {
  handlerType: HandlerType | `${HandlerType}`;
};
/** `registerHandler`'s options: a manifest without `handler`. */
export type HandlerOptions = Omit<ManifestInput, 'handler'>;

const KNOWN_KEYS = Object.keys(manifestSchema.shape);

/**
 * Validate one manifest. `file` is the relative path named in errors.
 * Never throws anything but `MANIFEST_INVALID`, whatever the input (throwing getters, proxies).
 */
export function validateManifest(value: unknown, file: string): Manifest {
  let result: ReturnType<typeof manifestSchema.safeParse>;
  try {
    // A Proxy can answer differently each time it is read; a manifest must be plain data.
    if (
      types.isProxy(value) ||
      (typeof value === 'object' && value !== null && types.isProxy((value as { handler?: unknown }).handler))
    ) {
      throw new ExtensionError('MANIFEST_INVALID', {
        file,
        problems: ['(root): a Proxy is not accepted; export a plain object'],
      });
    }
    // Parse lean first (reportInput makes zod several times slower on the valid path, which is
    // every plugin on every boot); only a failure is parsed again to show what was received.
    result = manifestSchema.safeParse(value);
    if (!result.success) result = manifestSchema.safeParse(value, { reportInput: true });
  } catch (cause) {
    if (cause instanceof ExtensionError) throw cause;
    throw new ExtensionError('MANIFEST_INVALID', { file, problems: ['(root): reading the manifest threw'] }, { cause });
  }
  if (result.success) return result.data;
  throw new ExtensionError('MANIFEST_INVALID', { file, problems: formatIssues(result.error.issues, KNOWN_KEYS) });
}

/** The manifest `registerHandler` attached to this very class (not one inherited from a parent class). */
export function attachedManifest(value: unknown): HandlerOptions | undefined {
  if (typeof value !== 'function' || !Object.hasOwn(value, MANIFEST_KEY)) return undefined;
  return (value as unknown as Record<typeof MANIFEST_KEY, HandlerOptions>)[MANIFEST_KEY];
}

/**
 * Declare a class as a handler. Works as a class decorator, in both TypeScript's standard and
 * legacy (`experimentalDecorators`) forms, and as a plain call for JavaScript plugins. It validates
 * at once (throwing `MANIFEST_INVALID`) and stores the manifest on the class under
 * {@link MANIFEST_KEY}; the loader finds it among the module's exports. Nothing global is mutated.
 *
 * @example
 * ```ts
 * @registerHandler({ requestType: 'custom', handlerType: HandlerType.REGION_REQUEST_HANDLER, name: 'custom-region' })
 * export class CustomRegion extends RegionRequestHandler {}
 * // plain JavaScript:
 * export const CustomImage = registerHandler({ requestType: 'custom', handlerType: 'IMAGE_REQUEST_HANDLER', name: 'custom-image' })(class extends ImageRequestHandler {});
 * ```
 */
export function registerHandler(options: HandlerOptions) {
  return function decorate<T extends HandlerClass>(target: T, context?: ClassDecoratorContext): T {
    const where = `class ${context?.name || target.name || '(anonymous)'}`;
    if (options !== null && typeof options === 'object' && 'handler' in options) {
      throw new ExtensionError('MANIFEST_INVALID', {
        file: where,
        problems: ['handler: unknown key (registerHandler takes the class from the decorator)'],
      });
    }
    const { handler: _handler, ...stored } = validateManifest({ ...options, handler: target }, where);
    Object.defineProperty(target, MANIFEST_KEY, { value: Object.freeze(stored), enumerable: false });
    return target;
  };
}
