/**
 * readRegularFile against a file handle that does what real ones can: report a size and then
 * deliver fewer bytes (a file truncated while it is read, a sysfs file), or turn out not to be a
 * regular file. The handle is always closed; the read never spins. `open` is replaced per test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const fake = vi.hoisted(() => ({ handle: undefined as unknown }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    open: vi.fn(async (...args: Parameters<typeof actual.open>) => fake.handle ?? actual.open(...args)),
  };
});

const { readRegularFile } = await import('../../src/boot/lock.js');

/** A handle whose stat reports `size` and whose reads deliver `content` (possibly shorter), in chunks. */
function handle(content: string, size: number, isFile = true, chunk = Infinity) {
  const bytes = Buffer.from(content);
  return {
    stat: vi.fn(async () => ({
      size,
      isFile: () => isFile,
      isFIFO: () => !isFile,
      isSocket: () => false,
      isCharacterDevice: () => false,
      isBlockDevice: () => false,
    })),
    read: vi.fn(async (into: Buffer, offset: number, length: number, position: number) => {
      // As a real FileHandle does: never past the end of the buffer.
      if (offset + length > into.length) throw new RangeError(`length ${length} at ${offset} is out of bounds`);
      const n = Math.max(0, Math.min(length, chunk, bytes.length - position));
      bytes.copy(into, offset, position, position + n);
      return { bytesRead: n, buffer: into };
    }),
    close: vi.fn(async () => undefined),
  };
}

afterEach(() => {
  fake.handle = undefined;
});

describe('readRegularFile', () => {
  it('reads to the reported size, in as many reads as the handle needs, and closes it', async () => {
    const h = handle('0123456789', 10, true, 4);
    fake.handle = h;
    expect((await readRegularFile('/x', 'x')).toString()).toBe('0123456789');
    expect(h.read).toHaveBeenCalledTimes(3);
    expect(h.close).toHaveBeenCalledTimes(1);
  });

  it('no read after the reported size has arrived', async () => {
    const h = handle('0123456789', 10);
    fake.handle = h;
    await readRegularFile('/x', 'x');
    expect(h.read).toHaveBeenCalledTimes(1);
  });

  it('a file shorter than it said (truncated while read): the bytes there are, no spinning', async () => {
    const h = handle('0123', 10);
    fake.handle = h;
    expect((await readRegularFile('/x', 'x')).toString()).toBe('0123');
    expect(h.read).toHaveBeenCalledTimes(2);
    expect(h.close).toHaveBeenCalledTimes(1);
  });

  it('not a regular file: SPECIAL_FILE naming it as shown, nothing read, and the handle closed', async () => {
    const h = handle('', 0, false);
    fake.handle = h;
    await expect(readRegularFile('/abs/pipe', 'plugins/p/pipe')).rejects.toMatchObject({
      code: 'SPECIAL_FILE',
      params: { file: 'plugins/p/pipe', kind: 'a FIFO' },
    });
    expect(h.read).not.toHaveBeenCalled();
    expect(h.close).toHaveBeenCalledTimes(1);
  });
});
