/**
 * Where the image is: a local path, a `file://` URL, or an `http(s)://` URL downloaded to a
 * temporary file (removed by `release`). Other schemes are refused with UNSUPPORTED; a host may add
 * its own fetchers (the SageMaker services add `s3://`).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ExtensionError } from '../shared/errors.js';

/** A readable local copy of the image, and how to let it go. */
export interface LocatedImage {
  /** A path on this machine. */
  file: string;
  /** What messages call the image: the URL or path as the user gave it. */
  label: string;
  /** Removes the temporary copy, if one was made. Never throws. */
  release(): Promise<void>;
}

/** Fetches one URL scheme (e.g. `s3:`) into `file`. */
export type ImageFetcher = (url: URL, file: string) => Promise<void>;

const noop = async (): Promise<void> => {};

/** Downloads into a fresh temp folder, removed on failure. */
async function download(url: URL, label: string, fetcher: ImageFetcher): Promise<LocatedImage> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'osml-image-'));
  const release = () => rm(dir, { recursive: true, force: true }).catch(() => {});
  const file = path.join(dir, path.basename(url.pathname) || 'image');
  try {
    await fetcher(url, file);
  } catch (error) {
    await release();
    if (error instanceof ExtensionError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ExtensionError(
      'IMAGE_UNREADABLE',
      { image: label, reason: `the download failed: ${reason}` },
      { cause: error },
    );
  }
  return { file, label, release };
}

/** GETs an http(s) URL to a file, streaming (never the whole image in memory). */
export const fetchHttp: ImageFetcher = async (url, file) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000) });
  if (!response.ok || response.body === null)
    throw new Error(`the server answered ${response.status} ${response.statusText}`);
  await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(file));
};

/**
 * Make the image readable from a local file.
 *
 * @param fetchers - Extra URL schemes, by protocol (`'s3:'`).
 * @param cwd - What a relative path is relative to.
 * @throws ExtensionError UNSUPPORTED for an unknown scheme; IMAGE_UNREADABLE for a missing file or a failed download.
 */
export async function locateImage(
  image: string,
  fetchers: Record<string, ImageFetcher> = {},
  cwd = process.cwd(),
): Promise<LocatedImage> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(image)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const file = scheme === 'file' ? fileURLToPath(image) : path.resolve(cwd, image);
    const stats = await stat(file).catch(() => undefined);
    if (stats === undefined) throw new ExtensionError('IMAGE_UNREADABLE', { image, reason: 'no such file' });
    if (!stats.isFile()) throw new ExtensionError('IMAGE_UNREADABLE', { image, reason: 'it is not a regular file' });
    return { file, label: image, release: noop };
  }
  const all: Record<string, ImageFetcher> = { 'http:': fetchHttp, 'https:': fetchHttp, ...fetchers };
  const fetcher = all[`${scheme}:`];
  if (fetcher === undefined) {
    throw new ExtensionError('UNSUPPORTED', {
      field: 'imageUrls[0]',
      received: `a ${scheme}:// URL`,
      supported: ['a local path', 'file://', ...Object.keys(all).map((p) => `${p}//`)],
    });
  }
  return download(new URL(image), image, fetcher);
}
