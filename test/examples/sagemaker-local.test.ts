/**
 * The local SageMaker runtime and S3 (examples/sagemaker-local/server.mjs) on the wire, without the
 * SDK: what a caller sees from its REST protocols, and its command line. (The SDK against it is
 * tested in test/services/sagemaker.test.ts and test/host/sagemaker-run.test.ts.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { startSageMakerLocal, type SageMakerLocal } from '../../examples/sagemaker-local/server.mjs';

const SERVER = fileURLToPath(new URL('../../examples/sagemaker-local/server.mjs', import.meta.url));
const started: SageMakerLocal[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 250, g: 250, b: 250 } } })
  .png()
  .toBuffer();

describe('the local SageMaker runtime and S3, on the wire', () => {
  it('answers async-invocations with 202 and both locations, then writes the result into its S3', async () => {
    const local = await startSageMakerLocal({ asyncDelayMs: 5 });
    started.push(local);
    const put = await fetch(`${local.s3Url}/in/tile.png`, { method: 'PUT', body: png });
    expect(put.status).toBe(200);

    const response = await fetch(`${local.runtimeUrl}/endpoints/detector/async-invocations`, {
      method: 'POST',
      headers: { 'X-Amzn-SageMaker-InputLocation': 's3://in/tile.png', 'X-Amzn-SageMaker-Content-Type': 'image/png' },
    });
    expect(response.status).toBe(202);
    const output = response.headers.get('x-amzn-sagemaker-outputlocation');
    expect(output).toMatch(/^s3:\/\/sagemaker-local\/async-output\/[-0-9a-f]+\.out$/);
    expect(response.headers.get('x-amzn-sagemaker-failurelocation')).toMatch(/-error\.out$/);
    expect(((await response.json()) as { InferenceId: string }).InferenceId).toBeTruthy();

    const url = `${local.s3Url}/${output!.slice('s3://'.length)}`;
    let result = await fetch(url);
    for (let i = 0; result.status === 404 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      result = await fetch(url);
    }
    expect(result.status).toBe(200);
    expect(((await result.json()) as { features: unknown[] }).features).toHaveLength(1);
  });

  it("speaks SageMaker's and S3's errors: ValidationError, 404 NoSuchKey (no body for HEAD), NoSuchBucket", async () => {
    const local = await startSageMakerLocal({ buckets: ['only'] });
    started.push(local);
    const invalid = await fetch(`${local.runtimeUrl}/endpoints/detector/async-invocations`, { method: 'POST' });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('x-amzn-errortype')).toMatch(/^ValidationError:/);

    const get = await fetch(`${local.s3Url}/only/missing.tif`);
    expect(get.status).toBe(404);
    expect(await get.text()).toContain('<Code>NoSuchKey</Code>');
    const head = await fetch(`${local.s3Url}/only/missing.tif`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const put = await fetch(`${local.s3Url}/other/x`, { method: 'PUT', body: 'x' });
    expect(await put.text()).toContain('<Code>NoSuchBucket</Code>');
  });

  it('runs from the command line, printing how to point the SDK at it; SIGTERM stops it', async () => {
    const child = spawn(process.execPath, [SERVER, '--port', '0', '--s3-port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (let i = 0; !stderr.includes('AWS_SECRET_ACCESS_KEY') && i < 200; i++)
      await new Promise((r) => setTimeout(r, 25));
    const runtime = /export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=(\S+)/.exec(stderr)?.[1];
    expect(stderr).toMatch(/export AWS_ENDPOINT_URL_S3=http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).toMatch(/export AWS_REGION=\S+/);
    const answer = await fetch(`${runtime}/endpoints/any-name/invocations`, { method: 'POST', body: png });
    expect(answer.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
