/**
 * Writing a file atomically: an exclusive temp file beside it, then a rename, so a reader sees the
 * old file or the whole new one, never half. The temp file has an unpredictable name and is opened
 * exclusively (`wx` is O_CREAT|O_EXCL): a symlink planted where it will be is never followed. It is
 * removed on any failure, and the error is rethrown for the caller to name.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Write `chunks`, in order, to `file` atomically. */
export async function writeFileAtomic(
  file: string,
  chunks: Iterable<string | Uint8Array>,
  mode = 0o644,
): Promise<void> {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const handle = await open(temp, 'wx', mode);
    created = true;
    try {
      // writeFile writes all of each chunk, from where the last one ended.
      for (const chunk of chunks) await handle.writeFile(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    if (created) await rm(temp, { force: true });
    throw error;
  }
}
