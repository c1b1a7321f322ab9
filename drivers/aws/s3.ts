import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { rechunk, S3_MAX_PARTS } from '../../core/streams.js';
import { ObjectChangedError, ObjectExistsError, StorageError, WriteConflictError, messageOf } from '../../core/errors.js';
import type {
  ListOptions,
  ListResult,
  MultipartUploadInfo,
  GetOptions,
  ObjectHead,
  ObjectLock,
  ObjectStore,
  PutOptions,
} from '../../core/ports.js';

/**
 * One driver, two configurations: AWS S3 (no endpoint) or any S3-protocol endpoint such as the
 * embedded runtime's (`endpoint` set, path-style addressing).
 */
export interface S3StoreConfig {
  bucket: string;
  /** Unset means AWS. */
  endpoint?: string;
  region?: string;
  /**
   * Part size of streamed uploads; a body smaller than one part is sent with a single PUT.
   * @default 8 MiB
   */
  partBytes?: number;
  /** Parts in flight at once. @default 2 */
  partConcurrency?: number;
}

const isLoopback = (endpoint: string): boolean => {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
};

/**
 * Whether an upload's parts go with an unsigned payload (`x-amz-content-sha256: UNSIGNED-PAYLOAD`,
 * SigV4's single-chunk option) instead of the sha256 of every part: on AWS, where TLS guards the
 * bytes in transit (the bucket policy refuses plain http) and the SDK adds each part's CRC32, which
 * S3 checks; and on loopback, where they never leave the host. The sha256 of a part cost the shipper
 * as much as the sha256 of the whole stored object it puts in the seal (measured: 0.4 CPU s per
 * 400 MB sent). Any other endpoint, whose client computes no checksum, keeps signed parts.
 */
const unsignedPartsAt = (endpoint: string | undefined): boolean => endpoint === undefined || isLoopback(endpoint);

/** An UploadPart sent with an unsigned payload: the signer takes the header's value instead of hashing the body. */
const withUnsignedPayload = (command: UploadPartCommand): UploadPartCommand => {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'binvaultUnsignedPayload' },
  );
  return command;
};

/** The region the SDK finds by itself: AWS_REGION, AWS_DEFAULT_REGION, then the profile's. */
const sdkRegion = async (): Promise<string | undefined> => {
  const env = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (env) return env;
  try {
    // A client with no region reads the shared config file (AWS_PROFILE's, else default).
    return await new S3Client({}).config.region();
  } catch {
    return undefined;
  }
};

/** GetBucketLocation's answer as a region: '' is us-east-1, and the legacy 'EU' is eu-west-1. */
export const regionOfLocation = (constraint: string | undefined): string => (!constraint ? 'us-east-1' : constraint === 'EU' ? 'eu-west-1' : constraint);

const bucketRegions = new Map<string, Promise<string>>();

/**
 * The region of an AWS bucket: AWS_REGION or the profile's, else where the bucket is
 * (GetBucketLocation once per bucket and process, signed for us-east-1 and following S3's redirect).
 * @param locator the client that asks for the location (tests give one at a local endpoint)
 */
export const resolveBucketRegion = (bucket: string, locator?: S3Client): Promise<string> => {
  let found = bucketRegions.get(bucket);
  if (!found) {
    found = (async () => {
      const own = await sdkRegion();
      if (own) return own;
      const client = locator ?? new S3Client({ region: 'us-east-1', followRegionRedirects: true, maxAttempts: 3 });
      try {
        return regionOfLocation((await client.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint);
      } catch (error) {
        throw new StorageError(`no AWS region: set AWS_REGION (or a region in the profile); the location of bucket '${bucket}' could not be read: ${messageOf(error)}`, { cause: error });
      }
    })();
    // A failure is not remembered: the next try may have credentials or a network.
    found.catch(() => bucketRegions.delete(bucket));
    bucketRegions.set(bucket, found);
  }
  return found;
};

/**
 * The S3 client of a configuration. On AWS: the region of {@link resolveBucketRegion}, S3's region
 * redirects followed, and the SDK's default integrity checksums. At an endpoint (the embedded one,
 * or any S3-protocol server): path-style, and checksums only where the API requires them.
 */
export const createS3Client = (config: Pick<S3StoreConfig, 'endpoint' | 'region'> & { bucket?: string }): S3Client => {
  const endpoint = config.endpoint;
  if (endpoint === undefined) {
    const bucket = config.bucket;
    return new S3Client({
      region: config.region ?? (bucket ? () => resolveBucketRegion(bucket) : undefined),
      followRegionRedirects: true,
      maxAttempts: 3,
    });
  }
  const region = config.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
  const noCredentials = process.env.AWS_ACCESS_KEY_ID === undefined && process.env.AWS_PROFILE === undefined;
  return new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    // The local endpoint (s3rver) knows one account and ignores signatures: no AWS account needed.
    ...(isLoopback(endpoint) && noCredentials ? { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } : {}),
    // Streamed bodies would otherwise be sent aws-chunked, which S3-protocol servers store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
};

/** Reads of a small object's body, when the connection is cut while it streams. */
const BODY_ATTEMPTS = 3;

/** What `binvault check` learns of the bucket by writing and removing one small object. */
export interface BucketProbe {
  /** The bucket's region, as S3 says it (`x-amz-bucket-region`); none from most other endpoints. */
  region?: string;
  /** The region requests are signed for. */
  clientRegion: string;
  /** Why the bucket cannot be reached at all (then nothing else was tried). */
  unreachable?: string;
  /** Why the probe object could not be written or removed. */
  writeError?: string;
  /** The store's clock (its answer's Date header, to the second), and the local clock before and after the request (ms). */
  serverDate?: Date;
  sentAt?: number;
  receivedAt?: number;
}

const statusOf = (error: unknown): number | undefined =>
  error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;

export class S3Store implements ObjectStore {
  private readonly client: S3Client;
  private readonly partBytes: number;
  private readonly partConcurrency: number;
  private readonly unsignedParts: boolean;

  public constructor(
    private readonly config: S3StoreConfig,
    client?: S3Client,
  ) {
    this.client = client ?? createS3Client(config);
    this.partBytes = config.partBytes ?? 8 * 1024 * 1024;
    this.partConcurrency = config.partConcurrency ?? 2;
    this.unsignedParts = unsignedPartsAt(config.endpoint);
  }

  /** The store the configuration names: its bucket, on AWS or at BINVAULT_S3_ENDPOINT. */
  public static fromConfig(config: { bucket: string; s3Endpoint?: string }): S3Store {
    return new S3Store({ bucket: config.bucket, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) });
  }

  private bucketChecked: Promise<void> | undefined;

  /** Asks once per store whether the bucket exists (a missing bucket fails with a clear line). */
  private bucketExists(key: string): Promise<void> {
    this.bucketChecked ??= this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: key })).then(
      () => undefined,
      (error: unknown) => {
        this.bucketChecked = undefined;
        this.fail('head', key, error);
      },
    );
    return this.bucketChecked;
  }

  public url(key: string): string {
    return `s3://${this.config.bucket}/${key}`;
  }

  /** Wraps SDK and network failures into one line that names the bucket or the endpoint. */
  private fail(action: string, key: string, error: unknown): never {
    if (error instanceof StorageError) throw error;
    const code = (error as { code?: string; name?: string }).code ?? (error as { name?: string }).name;
    const where = this.config.endpoint ?? 'AWS S3';
    if (code === 'NoSuchBucket') {
      throw new StorageError(`bucket '${this.config.bucket}' does not exist at ${where}`, { cause: error });
    }
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
      throw new StorageError(`cannot reach the object store at ${where} (${code})`, { cause: error });
    }
    if (code === 'CredentialsProviderError') {
      throw new StorageError(
        'no AWS credentials found (set AWS_PROFILE or an instance role, or BINVAULT_S3_ENDPOINT for a local endpoint)',
        { cause: error },
      );
    }
    const status = statusOf(error);
    const message = messageOf(error);
    const detail =
      status === 403
        ? 'access denied'
        : // The SDK's name for an answer that held no S3 error: say what did answer.
          message === 'UnknownError' && status !== undefined
          ? `HTTP ${status} with no S3 error in the answer (is ${where} an S3 endpoint?)`
          : message || code || 'unknown error';
    throw new StorageError(`${action} ${this.url(key)} failed: ${detail}`, { cause: error });
  }

  public async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        metadata: out.Metadata ?? {},
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
        ...(out.ETag ? { etag: out.ETag } : {}),
      };
    } catch (error) {
      if (statusOf(error) === 404) {
        // A 404 cannot say whether the key or the bucket is missing.
        await this.bucketExists(key);
        return undefined;
      }
      this.fail('head', key, error);
    }
  }

  public async get(key: string, options: GetOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    try {
      const from = options.from ?? 0;
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: key, ...(from > 0 ? { Range: `bytes=${from}-` } : {}), ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}) }),
      );
      return out.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      // GetObject If-Match: 412 Precondition Failed when the key's ETag is another.
      if (options.ifMatch && statusOf(error) === 412) throw new ObjectChangedError(key, { cause: error });
      this.fail('get', key, error);
    }
  }

  public async getBytes(key: string): Promise<Buffer> {
    try {
      return (await this.readWhole(key)).body;
    } catch (error) {
      this.fail('get', key, error);
    }
  }

  public async getVersioned(key: string): Promise<{ body: Buffer; etag: string } | undefined> {
    try {
      return await this.readWhole(key);
    } catch (error) {
      if (statusOf(error) === 404) {
        await this.bucketExists(key);
        return undefined;
      }
      this.fail('get', key, error);
    }
  }

  /**
   * A small object read whole. The SDK retries a request, not the reading of its body: a connection
   * cut while the body streams ("aborted", ECONNRESET) is retried here, twice, from the start.
   */
  private async readWhole(key: string): Promise<{ body: Buffer; etag: string }> {
    for (let attempt = 1; ; attempt++) {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of out.Body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
        return { body: Buffer.concat(chunks), etag: out.ETag ?? '' };
      } catch (error) {
        if (attempt >= BODY_ATTEMPTS) throw error;
      }
    }
  }

  public async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key: key,
          Body: body,
          ...(options.metadata ? { Metadata: options.metadata } : {}),
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
          ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
    } catch (error) {
      if (options.ifMatch && (statusOf(error) === 412 || statusOf(error) === 404)) throw new WriteConflictError(key, { cause: error });
      if (statusOf(error) === 412) throw new ObjectExistsError(key, { cause: error });
      // 409 ConditionalRequestConflict: a conflicting write to the key ran at the same time ("fetch
      // the object's ETag and retry"). A lost race, as a 412 on If-Match; with If-None-Match the
      // other write may yet fail (or be a delete), so not ObjectExistsError: the caller reads again.
      if ((options.ifMatch || options.ifAbsent) && statusOf(error) === 409) throw new WriteConflictError(key, { cause: error });
      this.fail('put', key, error);
    }
  }

  public async putStream(
    key: string,
    body: AsyncIterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<{ bytes: number }> {
    // Errors of the body (the data source) are the caller's and pass through unwrapped.
    let sourceFailed = false;
    async function* watched(): AsyncGenerator<Uint8Array> {
      try {
        yield* body;
      } catch (error) {
        sourceFailed = true;
        throw error;
      }
    }
    const partBytes = options.partBytes ?? this.partBytes;
    // Part buffers are used again once their part is sent: a fresh 8 MiB buffer per part cost its
    // page faults and garbage collection on every part (measured: half a second per 400 MB sent).
    const pool: Buffer[] = [];
    const iterator = rechunk(watched(), partBytes, () => pool.pop() ?? Buffer.allocUnsafe(partBytes))[Symbol.asyncIterator]();
    const first = await iterator.next();
    const firstPart = first.done ? Buffer.alloc(0) : first.value;
    const second = first.done ? first : await iterator.next();
    const metadata = (): Record<string, string> | undefined =>
      options.metadataOnCreate ? { ...options.metadata, ...options.metadataOnCreate() } : options.metadata;
    if (second.done) {
      // The whole body fits in one part: one atomic PUT.
      const single = metadata();
      await this.put(key, firstPart, { ...options, ...(single ? { metadata: single } : {}) });
      return { bytes: firstPart.length };
    }

    const bucket = this.config.bucket;
    let uploadId: string | undefined;
    const inFlight = new Set<Promise<void>>();
    // Stops the parts still on their way when the upload fails, so that the abort comes after them.
    const stopParts = new AbortController();
    const partSignal = options.signal ? AbortSignal.any([options.signal, stopParts.signal]) : stopParts.signal;
    try {
      const atStart = metadata();
      const created = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ...(atStart ? { Metadata: atStart } : {}),
          ...(options.contentType ? { ContentType: options.contentType } : {}),
        }),
      );
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new StorageError(`put ${this.url(key)} failed: no upload id`);
      await options.onMultipartStarted?.(uploadId);

      const parts: CompletedPart[] = [];
      let bytes = 0;
      let partNumber = 0;
      const send = (data: Buffer): void => {
        const number = ++partNumber;
        if (number > S3_MAX_PARTS) {
          throw new StorageError(
            `put ${this.url(key)} failed: more than ${S3_MAX_PARTS} parts of ${data.length / 1024 ** 2} MiB (${bytes} bytes so far): the object is larger than its expected size allowed for`,
          );
        }
        bytes += data.length;
        const part = new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: data });
        const task = this.client
          .send(this.unsignedParts ? withUnsignedPayload(part) : part, { abortSignal: partSignal })
          .then((out) => {
            parts.push({ PartNumber: number, ETag: out.ETag });
            // The request has ended: the SDK holds the body no longer (a retry resends it before this).
            if (data.length === partBytes && pool.length < this.partConcurrency + 1) pool.push(data);
          });
        const tracked = task.finally(() => inFlight.delete(tracked));
        // Awaited below; this only keeps an early rejection from being reported as unhandled.
        tracked.catch(() => undefined);
        inFlight.add(tracked);
      };
      send(firstPart);
      send(second.value);
      for (;;) {
        options.signal?.throwIfAborted();
        while (inFlight.size >= this.partConcurrency) await Promise.race(inFlight);
        const next = await iterator.next();
        if (next.done) break;
        send(next.value);
      }
      await Promise.all(inFlight);
      options.signal?.throwIfAborted();
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return { bytes };
    } catch (error) {
      // An abort racing a part still being written could leave that part behind (or, on the local
      // endpoint, a request that never answers): stop and settle the parts first.
      stopParts.abort();
      await Promise.allSettled(inFlight);
      if (uploadId !== undefined) await this.abortMultipartUpload(key, uploadId).catch(() => undefined);
      await iterator.return?.(undefined);
      if (sourceFailed) throw error;
      if (statusOf(error) === 412) throw new ObjectExistsError(key, { cause: error });
      if (error instanceof Error && error.name === 'AbortError') throw error;
      this.fail('put', key, error);
    }
  }

  public async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const result: ListResult = { keys: [], prefixes: [] };
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.config.bucket,
            Prefix: prefix,
            ...(options.delimiter ? { Delimiter: options.delimiter } : {}),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const item of out.Contents ?? []) {
          if (item.Key === undefined) continue;
          result.keys.push({
            key: item.Key,
            size: item.Size ?? 0,
            metadata: {},
            ...(item.LastModified ? { lastModified: item.LastModified } : {}),
          });
        }
        for (const p of out.CommonPrefixes ?? []) if (p.Prefix) result.prefixes.push(p.Prefix);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      this.fail('list', prefix, error);
    }
    return result;
  }

  public async listMultipartUploads(prefix: string): Promise<MultipartUploadInfo[]> {
    const uploads: MultipartUploadInfo[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const out = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.config.bucket,
            Prefix: prefix,
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
        );
        for (const u of out.Uploads ?? []) {
          if (u.Key && u.UploadId) {
            uploads.push({ key: u.Key, uploadId: u.UploadId, ...(u.Initiated ? { initiated: u.Initiated } : {}) });
          }
        }
        if (!out.IsTruncated) break;
        keyMarker = out.NextKeyMarker;
        uploadIdMarker = out.NextUploadIdMarker;
      }
    } catch (error) {
      this.fail('list uploads of', prefix, error);
    }
    return uploads;
  }

  public async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.config.bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      // Already gone: what an abort wants.
      if (statusOf(error) === 404) return;
      this.fail('abort upload of', key, error);
    }
  }

  public async tag(key: string, tags: Record<string, string>): Promise<void> {
    try {
      await this.client.send(
        new PutObjectTaggingCommand({
          Bucket: this.config.bucket,
          Key: key,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      );
    } catch (error) {
      this.fail('tag', key, error);
    }
  }

  public async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
    } catch (error) {
      this.fail('delete', key, error);
    }
  }

  public async purge(key: string): Promise<{ versions: number; freedBytes: number }> {
    const bucket = this.config.bucket;
    let versions = 0;
    let freedBytes = 0;
    try {
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionIdMarker ? { VersionIdMarker: versionIdMarker } : {}) }),
        );
        // The prefix also matches longer keys (`x.gz` and `x.gz.json`): only this key's versions.
        const mine = [
          ...(page.Versions ?? []).map((v) => ({ key: v.Key, id: v.VersionId, size: v.Size ?? 0 })),
          ...(page.DeleteMarkers ?? []).map((m) => ({ key: m.Key, id: m.VersionId, size: 0 })),
        ].filter((v) => v.key === key);
        for (const version of mine) {
          await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version.id ?? 'null' }));
          versions++;
          freedBytes += version.size;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker !== undefined);
    } catch (error) {
      this.fail('delete', key, error);
    }
    return { versions, freedBytes };
  }

  public async lockOf(key: string): Promise<ObjectLock | undefined> {
    const bucket = this.config.bucket;
    // No lock configuration, no object or no permission to read it: no hold can be shown.
    const absent = (error: unknown): undefined => {
      const status = statusOf(error);
      if (status === 404 || status === 400 || status === 403) return undefined;
      this.fail('read the object lock of', key, error);
    };
    const retention = await this.client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key })).then((out) => out.Retention, absent);
    const hold = await this.client.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key })).then((out) => out.LegalHold, absent);
    const retainUntil = retention?.RetainUntilDate ? new Date(retention.RetainUntilDate) : undefined;
    const legalHold = hold?.Status === 'ON';
    const retained = retainUntil !== undefined && retainUntil.getTime() > Date.now();
    if (!retained && !legalHold) return undefined;
    return { legalHold, ...(retained ? { retainUntil, mode: retention?.Mode ?? 'GOVERNANCE' } : {}) };
  }

  /**
   * Writes one small object at `key` (only if absent) and removes it: whether this host may write
   * the bucket, in which region the bucket is, and the store's clock (the Date header of the PUT's
   * answer). Never throws for what it finds; each finding is a field.
   */
  public async probe(key: string): Promise<BucketProbe> {
    const clientRegion = await this.client.config.region();
    let region: string | undefined;
    try {
      region = (await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }))).BucketRegion;
    } catch (error) {
      // A bucket in another region answers 301 and names its region; the requests would all fail.
      region = (error as { $response?: { headers?: Record<string, string> } }).$response?.headers?.['x-amz-bucket-region'];
      if (region !== undefined && region !== clientRegion) return { region, clientRegion, writeError: `not tried: the bucket is in ${region}` };
      // HeadBucket's 404 has no body to name the error: for a bucket, it is NoSuchBucket.
      if (statusOf(error) === 404) return { clientRegion, unreachable: `bucket '${this.config.bucket}' does not exist at ${this.config.endpoint ?? 'AWS S3'}` };
      // A role without s3:ListBucket cannot HeadBucket but may still write: the PUT tells.
      if (statusOf(error) !== 403) {
        try {
          this.fail('head', '', error);
        } catch (failure) {
          return { clientRegion, unreachable: messageOf(failure) };
        }
      }
    }
    const put = new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: 'binvault check: removed at once\n', ContentType: 'text/plain', IfNoneMatch: '*' });
    let serverDate: Date | undefined;
    put.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const date = (result.response as { headers?: Record<string, string> }).headers?.date;
        if (date && !Number.isNaN(Date.parse(date))) serverDate = new Date(date);
        return result;
      },
      { step: 'deserialize', name: 'binvaultServerDate' },
    );
    const sentAt = Date.now();
    try {
      await this.client.send(put);
    } catch (error) {
      try {
        this.fail('put', key, error);
      } catch (failure) {
        return { ...(region ? { region } : {}), clientRegion, writeError: messageOf(failure) };
      }
    }
    const receivedAt = Date.now();
    try {
      await this.delete(key);
    } catch (error) {
      return { ...(region ? { region } : {}), clientRegion, writeError: `written, but not removed: ${messageOf(error)}`, ...(serverDate ? { serverDate } : {}), sentAt, receivedAt };
    }
    return { ...(region ? { region } : {}), clientRegion, ...(serverDate ? { serverDate } : {}), sentAt, receivedAt };
  }
}
