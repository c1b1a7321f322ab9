import { createHash } from 'node:crypto';
import { ObjectChangedError, ObjectExistsError, StorageError, WriteConflictError } from '../../core/errors.js';
import type { GetOptions, ListOptions, ListResult, MultipartUploadInfo, ObjectHead, ObjectLock, ObjectStore, PutOptions } from '../../core/ports.js';

interface Stored {
  body: Buffer;
  etag: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  lastModified: Date;
}

/**
 * The ObjectStore port in memory, for unit tests of the orchestrations (verify, catalog rebuild,
 * retention, restore tasks): S3's semantics where the code relies on them — conditional writes
 * (If-None-Match: *, If-Match on the ETag), listing by prefix in key order and by delimiter,
 * tags — and a count of requests per kind, so a test can assert the cost of a step.
 */
export class MemoryStore implements ObjectStore {
  public readonly objects = new Map<string, Stored>();
  public readonly requests = { get: 0, head: 0, put: 0, list: 0, delete: 0, tag: 0 };
  /** Make the next operations on keys matching this fail, as a store that is down would. */
  public failing: { pattern: RegExp; error: Error } | undefined;
  private version = 0;

  public constructor(private readonly name = 'memory') {}

  private check(key: string): void {
    if (this.failing && this.failing.pattern.test(key)) throw this.failing.error;
  }

  public async head(key: string): Promise<ObjectHead | undefined> {
    this.requests.head++;
    this.check(key);
    const o = this.objects.get(key);
    return o ? { key, size: o.body.length, metadata: { ...o.metadata }, lastModified: o.lastModified, etag: o.etag } : undefined;
  }

  public async get(key: string, options: GetOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    if (options.ifMatch !== undefined && this.objects.has(key) && this.objects.get(key)?.etag !== options.ifMatch) {
      this.requests.get++;
      throw new ObjectChangedError(key);
    }
    const body = (await this.getBytes(key)).subarray(options.from ?? 0);
    return (async function* () {
      for (let i = 0; i < body.length; i += 64 * 1024) yield body.subarray(i, i + 64 * 1024);
    })();
  }

  public async getBytes(key: string): Promise<Buffer> {
    this.requests.get++;
    this.check(key);
    const o = this.objects.get(key);
    if (!o) throw Object.assign(new Error(`NoSuchKey: ${key}`), { name: 'NoSuchKey' });
    return Buffer.from(o.body);
  }

  public async getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    this.requests.get++;
    this.check(key);
    const o = this.objects.get(key);
    return o ? { body: Buffer.from(o.body), etag: o.etag } : undefined;
  }

  public async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<void> {
    this.requests.put++;
    this.check(key);
    const existing = this.objects.get(key);
    if (options.ifAbsent && existing) throw new ObjectExistsError(key);
    if (options.ifMatch !== undefined && existing?.etag !== options.ifMatch) throw new WriteConflictError(key);
    this.store(key, Buffer.from(body), options.metadata ?? {});
  }

  public async putStream(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<{ bytes: number }> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      options.signal?.throwIfAborted();
      chunks.push(Buffer.from(chunk));
    }
    const all = Buffer.concat(chunks);
    await this.put(key, all, { ...options, metadata: { ...options.metadata, ...options.metadataOnCreate?.() } });
    return { bytes: all.length };
  }

  public async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.requests.list++;
    this.check(prefix);
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    if (!options.delimiter) return { keys: keys.map((k) => this.headOf(k)), prefixes: [] };
    const result: ListResult = { keys: [], prefixes: [] };
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      const cut = rest.indexOf(options.delimiter);
      if (cut < 0) result.keys.push(this.headOf(key));
      else {
        const common = prefix + rest.slice(0, cut + options.delimiter.length);
        if (!result.prefixes.includes(common)) result.prefixes.push(common);
      }
    }
    return result;
  }

  public async listMultipartUploads(): Promise<MultipartUploadInfo[]> {
    return [];
  }

  public async abortMultipartUpload(): Promise<void> {
    // putStream stores whole bodies: there is never an upload to abort.
  }

  public async delete(key: string): Promise<void> {
    this.requests.delete++;
    this.check(key);
    this.objects.delete(key);
  }

  /** Keys under a lock (tests set them): `lockOf` reports them, `purge` refuses them as S3 does. */
  public readonly locks = new Map<string, ObjectLock>();

  /** Unversioned: the one version there is. */
  public async purge(key: string): Promise<{ versions: number; freedBytes: number }> {
    this.requests.delete++;
    this.check(key);
    if (this.locks.has(key)) throw new StorageError(`delete memory://${key} failed: access denied`);
    const o = this.objects.get(key);
    this.objects.delete(key);
    return { versions: o ? 1 : 0, freedBytes: o?.body.length ?? 0 };
  }

  public async lockOf(key: string): Promise<ObjectLock | undefined> {
    return this.locks.get(key);
  }

  public async tag(key: string, tags: Record<string, string>): Promise<void> {
    this.requests.tag++;
    this.check(key);
    const o = this.objects.get(key);
    if (o) o.tags = { ...tags };
  }

  public url(key: string): string {
    return `s3://${this.name}/${key}`;
  }

  /** The JSON an object holds (a record, a manifest, a report). */
  public json<T = unknown>(key: string): T {
    const o = this.objects.get(key);
    if (!o) throw new Error(`no object ${key}`);
    return JSON.parse(o.body.toString()) as T;
  }

  /** Keys under a prefix, in order. */
  public keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  public tagsOf(key: string): Record<string, string> | undefined {
    return this.objects.get(key)?.tags;
  }

  private store(key: string, body: Buffer, metadata: Record<string, string>): void {
    this.objects.set(key, {
      body,
      etag: `"${createHash('md5').update(body).update(String(++this.version)).digest('hex')}"`,
      metadata: { ...metadata },
      tags: {},
      lastModified: new Date(),
    });
  }

  private headOf(key: string): ObjectHead {
    const o = this.objects.get(key);
    return { key, size: o?.body.length ?? 0, metadata: {}, ...(o ? { lastModified: o.lastModified } : {}) };
  }
}
