/**
 * Bounded concurrency: `mapBounded`, the one worker pool (results in input order) the stages share,
 * and `createLimiter`, a FIFO semaphore for calls made from many places at once (the async
 * SageMaker service bounds its S3 and SageMaker requests with it, whatever the tiles outstanding).
 */

/**
 * Map `items` through `fn` with at most `limit` calls in flight; results keep the input order.
 * Once a call rejects, no further item is started (calls already in flight finish unobserved) and
 * the returned promise rejects with that error.
 * A hand-written pool rather than p-map: on 3,000 lstat calls p-map's per-item bookkeeping
 * measured 1.3-2x the time of the calls themselves, and this runs 3-4 times per plugin at boot.
 * @example
 * const stats = await mapBounded(files, 64, (file) => stat(file));
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Runs calls with at most `limit` of them in flight; the others wait their turn, first come first served. */
export interface Limiter {
  /** Run `fn` once a slot is free; settles as `fn` does. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly waiting: number;
}

/**
 * A FIFO semaphore shared by every caller that holds it.
 *
 * @throws RangeError unless `limit` is a whole number ≥ 1.
 * @example
 * const requests = createLimiter(8);
 * await Promise.all(keys.map((key) => requests.run(() => head(key))));
 */
export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a whole number >= 1; received ${limit}`);
  let active = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    const next = queue.shift();
    if (next === undefined) active--;
    else next(); // the slot passes straight to the next caller
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < limit) active++;
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
