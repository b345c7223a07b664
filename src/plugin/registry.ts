/**
 * The registry: one handler per slot (request type, handler type), unique names.
 * Independent instances; there is no module-level registry.
 */
import { ExtensionError } from '../shared/errors.js';
import type { Manifest } from './manifest.js';
import { HandlerType, type HandlerClass, type Source } from '../shared/types.js';

/** A manifest's data: everything but the class. This is what the manifest cache stores. */
export type HandlerInfo = Omit<Manifest, 'handler'>;

/** A registered handler: its manifest data, where it came from, and how to get its class. */
export interface RegisteredHandler extends HandlerInfo {
  /** `builtin`, or the entry file relative to the working directory. */
  source: Source;
  /**
   * The handler class. Registered from an import, it is already there; registered from the
   * manifest cache, the plugin is imported on the first call (only the chosen pair ever is).
   */
  load(): Promise<HandlerClass>;
}

/** A registry entry for a manifest whose class is already imported. */
export function toRegistered(manifest: Manifest, source: Source): RegisteredHandler {
  const { handler, ...info } = manifest;
  return { ...info, source, load: () => Promise.resolve(handler) };
}

/** Counts for the boot summary. */
export interface RegistryStats {
  handlers: number;
  requestTypes: number;
  complete: number;
  incomplete: number;
}

/**
 * Holds the handlers in force. Slots live in Maps (never plain objects keyed by user input).
 * @example
 * const registry = new Registry();
 * registry.add({ ...manifest, source: 'plugins/custom/index.mjs' });
 * registry.get('custom', HandlerType.REGION_REQUEST_HANDLER);
 */
export class Registry {
  readonly #slots = new Map<string, Map<HandlerType, RegisteredHandler>>();
  readonly #names = new Map<string, RegisteredHandler>();

  /** Register one handler; throws `DUPLICATE_SLOT` or `DUPLICATE_NAME` and keeps the first. */
  add(entry: RegisteredHandler): void {
    const slot = this.#slots.get(entry.requestType);
    const kept = slot?.get(entry.handlerType);
    if (kept !== undefined) {
      throw new ExtensionError('DUPLICATE_SLOT', {
        requestType: entry.requestType,
        handlerType: entry.handlerType,
        name: entry.name,
        file: entry.source,
        keptName: kept.name,
        keptSource: kept.source,
      });
    }
    const named = this.#names.get(entry.name);
    if (named !== undefined) {
      throw new ExtensionError('DUPLICATE_NAME', { name: entry.name, file: entry.source, keptSource: named.source });
    }
    if (slot === undefined) this.#slots.set(entry.requestType, new Map([[entry.handlerType, entry]]));
    else slot.set(entry.handlerType, entry);
    this.#names.set(entry.name, entry);
  }

  /** The handler in a slot, if any. */
  get(requestType: string, handlerType: HandlerType): RegisteredHandler | undefined {
    return this.#slots.get(requestType)?.get(handlerType);
  }

  /** The handler with this name, if any. */
  byName(name: string): RegisteredHandler | undefined {
    return this.#names.get(name);
  }

  /** Every handler, in registration order (built-ins first, then plugins in discovery order). */
  list(): RegisteredHandler[] {
    return [...this.#names.values()];
  }

  /** Every request type with at least one handler, sorted. */
  requestTypes(): string[] {
    return [...this.#slots.keys()].sort();
  }

  /** True when both slots of the request type are filled. */
  isComplete(requestType: string): boolean {
    const slot = this.#slots.get(requestType);
    return slot?.has(HandlerType.REGION_REQUEST_HANDLER) === true && slot.has(HandlerType.IMAGE_REQUEST_HANDLER);
  }

  /** Remove a handler by name; returns whether it was there. */
  unregister(name: string): boolean {
    const entry = this.#names.get(name);
    if (entry === undefined) return false;
    this.#names.delete(name);
    const slot = this.#slots.get(entry.requestType);
    slot?.delete(entry.handlerType);
    if (slot?.size === 0) this.#slots.delete(entry.requestType);
    return true;
  }

  /** Counts of handlers and of complete and incomplete request types. */
  stats(): RegistryStats {
    const types = this.requestTypes();
    const complete = types.filter((t) => this.isComplete(t)).length;
    return { handlers: this.#names.size, requestTypes: types.length, complete, incomplete: types.length - complete };
  }
}
