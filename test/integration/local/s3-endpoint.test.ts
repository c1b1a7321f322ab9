import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectExistsError } from '../../../core/errors.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';

async function* parts(...buffers: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of buffers) yield b;
}

describe('the local S3 endpoint and the S3 driver', () => {
  let t: TestBucket;
  beforeAll(async () => {
    t = await startTestBucket();
  });
  afterAll(() => t.close());

  const openUploads = async (): Promise<string[]> =>
    readdir(join(t.directory, t.bucket, '._S3rver_uploads')).catch(() => []);

  it('stores a small stream with one PUT and a large one as a multipart upload, metadata intact', async () => {
    const small = randomBytes(1000);
    const large = randomBytes(12 << 20);
    await t.store.putStream('a/small', parts(small), { metadata: { sha256: 'x' } });
    await t.store.putStream('a/large', parts(large.subarray(0, 7 << 20), large.subarray(7 << 20)), { metadata: { sha256: 'y' } });
    expect((await t.store.getBytes('a/small')).equals(small)).toBe(true);
    expect((await t.store.getBytes('a/large')).equals(large)).toBe(true);
    expect((await t.store.head('a/large'))?.metadata).toEqual({ sha256: 'y' });
    expect(await openUploads()).toEqual([]);
  });

  it('never overwrites with ifAbsent, for single and multipart writes', async () => {
    await expect(t.store.put('a/small', 'other', { ifAbsent: true })).rejects.toBeInstanceOf(ObjectExistsError);
    await expect(t.store.putStream('a/large', parts(randomBytes(6 << 20), randomBytes(6 << 20)), { ifAbsent: true })).rejects.toBeInstanceOf(
      ObjectExistsError,
    );
    expect((await t.store.head('a/large'))?.size).toBe(12 << 20);
    expect(await openUploads()).toEqual([]);
  });

  it('a body that fails midway leaves no object and no open upload', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield randomBytes(6 << 20);
      yield randomBytes(6 << 20);
      throw new Error('source died');
    }
    let started = '';
    await expect(t.store.putStream('a/failed', failing(), { onMultipartStarted: (id) => void (started = id) })).rejects.toThrow(
      'source died',
    );
    expect(started).not.toBe('');
    expect(await t.store.head('a/failed')).toBeUndefined();
    expect(await openUploads()).toEqual([]);
  });

  it('a PUT whose client dies midway shows no object, not even a truncated one', async () => {
    const s3 = new S3Client({
      endpoint: t.endpoint.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const body = new PassThrough();
    const controller = new AbortController();
    const put = s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: 'a/cut', Body: body, ContentLength: 100_000 }), { abortSignal: controller.signal });
    body.write(randomBytes(50_000));
    const deadline = Date.now() + 10_000;
    const files = (): Promise<string[]> => readdir(join(t.directory, t.bucket, 'a')).then((names) => names.filter((n) => n.includes('cut')), () => []);
    // Abort once the endpoint has begun writing the body.
    while ((await files()).length === 0 && Date.now() < deadline) await sleep(20);

    controller.abort();

    await expect(put).rejects.toThrow();
    // The endpoint notices the cut connection on its own time: wait for its temporary file to go.
    const cleanedBy = Date.now() + 10_000;
    while ((await files()).length > 0 && Date.now() < cleanedBy) await sleep(20);
    expect(await files()).toEqual([]);
    expect(await t.store.head('a/cut')).toBeUndefined();
    s3.destroy();
  });

  it('lists and aborts multipart uploads by prefix', async () => {
    let uploadId = '';
    const controller = new AbortController();
    async function* stalls(): AsyncGenerator<Buffer> {
      yield randomBytes(6 << 20);
      yield randomBytes(6 << 20);
      await new Promise((resolve) => setTimeout(resolve, 60_000));
    }
    const pending = t.store
      .putStream('b/stalled', stalls(), { signal: controller.signal, onMultipartStarted: (id) => void (uploadId = id) })
      .catch(() => undefined);
    while (uploadId === '') await new Promise((r) => setTimeout(r, 10));

    expect(await t.store.listMultipartUploads('b/')).toMatchObject([{ key: 'b/stalled', uploadId }]);
    expect(await t.store.listMultipartUploads('a/')).toEqual([]);
    await t.store.abortMultipartUpload('b/stalled', uploadId);
    expect(await t.store.listMultipartUploads('b/')).toEqual([]);
    // Aborting twice is what an abort wants too.
    await t.store.abortMultipartUpload('b/stalled', uploadId);
    controller.abort();
    void pending;
  });

  it('delivers ObjectCreated events for single and multipart writes', () => {
    const created = t.events.filter((e) => e.eventName.startsWith('ObjectCreated')).map((e) => e.s3.object.key);
    expect(created).toEqual(expect.arrayContaining(['a/small', 'a/large']));
    expect(created).not.toContain('a/failed');
  });
});

describe('the local S3 endpoint’s listing by delimiter', () => {
  let t: TestBucket;
  beforeAll(async () => {
    t = await startTestBucket();
  });
  afterAll(() => t.close());

  it('finds the common prefixes however deep the objects below them lie', async () => {
    await t.store.put('mysql/db1/records/2026-11-20/a.json', '{}');
    await t.store.put('mysql/db2/binlogs/2026-11-20/b.gz', 'x');
    await t.store.put('mysql/top.json', '{}');
    expect(await t.store.list('mysql/', { delimiter: '/' })).toMatchObject({
      prefixes: ['mysql/db1/', 'mysql/db2/'],
      keys: [{ key: 'mysql/top.json' }],
    });
  });

  it('writes with If-Match only over the version read', async () => {
    await t.store.put('c/state.json', '1');
    const v1 = await t.store.getVersioned('c/state.json');
    await t.store.put('c/state.json', '2', { ifMatch: v1?.etag ?? '' });
    await expect(t.store.put('c/state.json', '3', { ifMatch: v1?.etag ?? '' })).rejects.toMatchObject({ name: 'WriteConflictError' });
    expect((await t.store.getBytes('c/state.json')).toString()).toBe('2');
  });

  it('reads with If-Match only the version looked at: a replaced key refuses the (ranged) GET', async () => {
    await t.store.put('c/object.gz', 'version one');
    const v1 = await t.store.head('c/object.gz');
    const read = async (options: { from?: number; ifMatch?: string }): Promise<string> => {
      const chunks: Buffer[] = [];
      for await (const chunk of await t.store.get('c/object.gz', options)) chunks.push(Buffer.from(chunk));
      return Buffer.concat(chunks).toString();
    };
    expect(await read({ from: 8, ifMatch: v1?.etag ?? '' })).toBe('one');
    await t.store.put('c/object.gz', 'version two');
    await expect(read({ from: 8, ifMatch: v1?.etag ?? '' })).rejects.toMatchObject({ name: 'ObjectChangedError', key: 'c/object.gz' });
    expect(await read({ from: 8, ifMatch: (await t.store.head('c/object.gz'))?.etag ?? '' })).toBe('two');
  });
});
