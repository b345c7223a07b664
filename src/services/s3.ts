/**
 * S3 on the AWS SDK: the calls the runner makes (put, head, get, download), the `s3://` image
 * fetcher and the `S3` output sink. Loaded only when a run touches S3 (see `aws.ts`).
 */
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ExtensionError } from '../shared/errors.js';
import type { Feature } from '../shared/geojson.js';
import { featureCollectionText } from '../runner/write.js';
import { awsReason, isNotFound } from './aws-errors.js';
import { featuresKey, formatS3Url, type S3Location } from './s3-url.js';

/** The few S3 calls the runner makes, on one client. */
export class S3Store {
  constructor(readonly client: S3Client) {}

  /** PutObject of bytes or text. */
  async put(location: S3Location, body: Uint8Array | string, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: body, ContentType: contentType }),
    );
  }

  /** HeadObject: whether the object is there (false on 404; other errors are thrown). */
  async exists(location: S3Location): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** GetObject, as text. */
  async text(location: S3Location): Promise<string> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return (await response.Body?.transformToString('utf8')) ?? '';
  }

  /** GetObject, streamed to `file` (never the whole object in memory). */
  async download(location: S3Location, file: string): Promise<void> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (response.Body === undefined) throw new Error('S3 answered without a body');
    await pipeline(response.Body as Readable, createWriteStream(file));
  }
}

/** The `s3:` image fetcher: GetObject to the temp file `locateImage` gives (it removes it after). */
export function s3Fetcher(store: S3Store): (url: URL, file: string) => Promise<void> {
  return async (url, file) => {
    // The URL is parsed, so its key is percent-encoded (`a%20b.tif`): S3 wants it as written.
    const location = { bucket: url.host, key: decodeURIComponent(url.pathname.replace(/^\//, '')) };
    if (location.bucket === '' || location.key === '')
      throw new Error(`${url.href} is not an s3://bucket/key URL of an object`);
    try {
      await store.download(location, file);
    } catch (error) {
      throw new Error(awsReason(error), { cause: error });
    }
  };
}

/**
 * The `S3` output sink: the FeatureCollection at `s3://bucket/<prefix>/<jobId>.geojson`, named by
 * the job id as OSML's S3 sink names it. Resolves to that URL.
 *
 * @throws ExtensionError OUTPUT_FAILED naming the URL.
 */
export function s3Sink(
  store: S3Store,
): (
  features: readonly Feature[],
  output: { bucket: string; prefix: string },
  run: { jobId: string },
) => Promise<string> {
  return async (features, output, run) => {
    const location = { bucket: output.bucket, key: featuresKey(output.prefix, run.jobId) };
    const url = formatS3Url(location);
    try {
      await store.put(location, featureCollectionText(features), 'application/geo+json');
    } catch (error) {
      throw new ExtensionError('OUTPUT_FAILED', { out: url, reason: awsReason(error) }, { cause: error });
    }
    return url;
  };
}
