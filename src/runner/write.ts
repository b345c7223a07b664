/**
 * Writing the result: one GeoJSON FeatureCollection, to a file atomically (an exclusive temp file
 * beside it, then a rename: a reader sees the old file or the whole new one, never half) or to a
 * stream such as stdout. Features are serialised in batches, so no single string holds them all.
 */
import { writeFileAtomic } from '../shared/atomic-write.js';
import { ExtensionError } from '../shared/errors.js';
import type { Feature } from '../shared/geojson.js';

/** Features serialised per write. */
const BATCH = 512;

/** The collection's text, a chunk at a time. */
function* chunks(features: readonly Feature[]): Generator<string> {
  yield '{"type":"FeatureCollection","features":[';
  for (let i = 0; i < features.length; i += BATCH) {
    const batch = features.slice(i, i + BATCH).map((f) => JSON.stringify(f));
    yield `${i === 0 ? '\n' : ',\n'}${batch.join(',\n')}`;
  }
  yield '\n]}\n';
}

/** The text of the whole collection, for callers that want it in memory (S3 uploads, tests). */
export function featureCollectionText(features: readonly Feature[]): string {
  return [...chunks(features)].join('');
}

/**
 * Write the features to `file` atomically (see {@link writeFileAtomic}).
 *
 * @throws ExtensionError OUTPUT_FAILED naming `label` (the path as the user gave it).
 */
export async function writeFeaturesToFile(features: readonly Feature[], file: string, label = file): Promise<void> {
  try {
    await writeFileAtomic(file, chunks(features));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new ExtensionError('OUTPUT_FAILED', { out: label, reason: explain(reason) }, { cause: error });
  }
}

/** A file-system error code as a person reads it. */
function explain(code: string): string {
  const known: Record<string, string> = {
    ENOENT: 'its folder does not exist',
    EACCES: 'permission denied',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    ENOSPC: 'the disk is full',
    EROFS: 'the file system is read-only',
  };
  return known[code] ?? code;
}

/** Write the features to a stream (stdout for `--out -`), waiting for it to drain between chunks. */
export async function writeFeaturesToStream(
  features: readonly Feature[],
  stream: NodeJS.WritableStream,
): Promise<void> {
  for (const chunk of chunks(features)) {
    if (stream.write(chunk)) continue;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: unknown) => {
        stream.off('drain', done);
        stream.off('error', done);
        if (error === undefined) resolve();
        else reject(new ExtensionError('OUTPUT_FAILED', { out: 'stdout', reason: String(error) }, { cause: error }));
      };
      stream.once('drain', done);
      stream.once('error', done);
    });
  }
}
