/**
 * `s3://bucket/key` URLs and the object keys this runner writes, without the SDK (so a run that
 * never touches S3 never loads it).
 */

/** An object (or a key prefix) in a bucket. */
export interface S3Location {
  bucket: string;
  key: string;
}

/** `s3://bucket/key` → `{bucket, key}` (the key as written, `''` for a bucket alone); undefined if it is not one. */
export function parseS3Url(url: string): S3Location | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (match === null) return undefined;
  return { bucket: match[1]!, key: match[2] ?? '' };
}

/** `{bucket, key}` → `s3://bucket/key`. */
export const formatS3Url = (location: S3Location): string => `s3://${location.bucket}/${location.key}`;

/**
 * Where OSML's S3 sink puts a job's features: `os.path.join(prefix, jobId.split("/")[-1] + ".geojson")`
 * (`a/` or `a` give `a/<jobId>.geojson`, `''` gives `<jobId>.geojson`).
 */
export function featuresKey(prefix: string, jobId: string): string {
  const name = `${jobId.split('/').pop() ?? jobId}.geojson`;
  if (prefix === '') return name;
  return prefix.endsWith('/') ? `${prefix}${name}` : `${prefix}/${name}`;
}
