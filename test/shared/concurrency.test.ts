/**
 * The bounded pools: `mapBounded` (results in input order, stops starting items after a failure)
 * and `createLimiter` (a FIFO semaphore shared by many callers).
 */
import { describe, expect, it } from 'vitest';
import { createLimiter, mapBounded } from '../../src/shared/concurrency.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('mapBounded', () => {
  it('keeps input order and at most `limit` calls in flight', async () => {
    let active = 0;
    let most = 0;
    const result = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++active);
      for (let i = 0; i < n; i++) await tick();
      active--;
      return n * 10;
    });
    expect(result).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('starts no further item once one has failed, and rejects with that error', async () => {
    const started: number[] = [];
    const run = mapBounded([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error('stop');
      return n;
    });
    await expect(run).rejects.toThrow('stop');
    await tick();
    await tick();
    expect(started).toEqual([0, 1, 2]);
  });
});

describe('createLimiter', () => {
  it('runs at most `limit` calls at once, the rest first come first served', async () => {
    const limiter = createLimiter(2);
    const order: number[] = [];
    let most = 0;
    const calls = [0, 1, 2, 3, 4].map((n) =>
      limiter.run(async () => {
        most = Math.max(most, limiter.active);
        order.push(n);
        await tick();
        return n;
      }),
    );
    expect(limiter.waiting).toBe(3);
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it('frees the slot of a call that rejects', async () => {
    const limiter = createLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await limiter.run(async () => 'next')).toBe('next');
    expect(limiter.active).toBe(0);
  });

  it('refuses a limit that is not a whole number >= 1', () => {
    expect(() => createLimiter(0)).toThrow(RangeError);
    expect(() => createLimiter(1.5)).toThrow(RangeError);
  });
});
