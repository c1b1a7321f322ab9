import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import { makeDirectories } from '../core/files.js';
import { fileSystemReason } from '../core/errors.js';
import { versioning, type KoaContext, type VersioningContext, type VersioningOptions } from './s3-versioning.js';

/**
 * The embedded runtime's S3-protocol endpoint: s3rver on loopback, plus the few S3 operations a
 * backup tool cannot do without and s3rver lacks — ListMultipartUploads and AbortMultipartUpload
 * (so a killed upload leaves nothing behind), conditional writes with `If-None-Match: *` (so a
 * shipped object is never overwritten) and `If-Match` (so no catalog update is lost), GETs with
 * `If-Match` (so a verify in steps reads one version), a correct
 * listing by delimiter, and PUTs that show an object only once its whole body is in; with
 * `versioning`, the versioned bucket with Object Lock of the stack (local/s3-versioning.ts).
 */
export interface LocalEndpointOptions {
  /** Where the objects live on disk. */
  directory: string;
  /** Buckets created when missing. */
  buckets: string[];
  /** @default '127.0.0.1' */
  address?: string;
  /** 0 picks a free port. @default 4569 */
  port?: number;
  /** Versioning, Object Lock and a delete-denying policy as the stack's bucket has them (local/s3-versioning.ts). */
  versioning?: VersioningOptions;
}

export interface S3EventRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number } };
}

export interface LocalEndpoint {
  url: string;
  port: number;
  /** Subscribe to the S3 event notifications the endpoint emits (ObjectCreated, ObjectRemoved). */
  onEvent(listener: (record: S3EventRecord) => void): void;
  close(): Promise<void>;
}

type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

const uploadsDir = (root: string, bucket: string): string => join(root, bucket, '._S3rver_uploads');
const objectFile = (root: string, bucket: string, key: string): string => {
  const parts = key.split('/').map(encodeURIComponent);
  const last = parts.pop() ?? '';
  return join(root, bucket, ...parts, `${last}._S3rver_object`);
};

const exists = async (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

const s3Error = (ctx: KoaContext, status: number, code: string, message: string): void => {
  ctx.status = status;
  ctx.body = { Error: { Code: code, Message: message } };
};

/** The operations s3rver lacks, answered before its router sees the request. */
const extensions =
  (root: string): KoaMiddleware =>
  async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined;

    if (ctx.method === 'GET' && key === '' && 'uploads' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const dir = uploadsDir(root, bucket);
      const ids = (await exists(dir)) ? await readdir(dir) : [];
      const uploads = [];
      for (const id of ids) {
        const uploadKey = await readFile(join(dir, id, 'key'), 'utf8').catch(() => undefined);
        if (uploadKey === undefined || !uploadKey.startsWith(prefix)) continue;
        const initiated = (await stat(join(dir, id))).mtime.toISOString();
        uploads.push({ Key: uploadKey, UploadId: id, Initiated: initiated });
      }
      ctx.body = {
        ListMultipartUploadsResult: {
          Bucket: bucket,
          Prefix: prefix,
          IsTruncated: false,
          ...(uploads.length > 0 ? { Upload: uploads } : {}),
        },
      };
      return;
    }

    if (ctx.method === 'DELETE' && uploadId !== undefined) {
      const dir = join(uploadsDir(root, bucket), uploadId);
      if (!(await exists(dir))) return s3Error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }

    // Conditional writes and reads: If-Match (this version only) on PutObject and GetObject.
    const ifMatch = ctx.headers['if-match'];
    if ((ctx.method === 'PUT' || ctx.method === 'GET') && uploadId === undefined && key !== '' && typeof ifMatch === 'string') {
      const md5 = await readFile(`${objectFile(root, bucket, key)}.md5`, 'utf8').catch(() => undefined);
      if (md5 === undefined) return s3Error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      if (md5.trim() !== ifMatch.replace(/"/g, '')) {
        return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
    }
    // Conditional writes: PutObject and CompleteMultipartUpload with If-None-Match: *.
    const writes = (ctx.method === 'PUT' && uploadId === undefined && !('tagging' in ctx.query)) ||
      (ctx.method === 'POST' && uploadId !== undefined);
    if (writes && key !== '' && ctx.headers['if-none-match'] === '*') {
      if (await exists(objectFile(root, bucket, key))) {
        return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      }
    }
    await next();
  };

interface ListingStore {
  listObjects(
    bucket: string,
    options: { delimiter?: string; prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<{ objects: { key: string }[]; commonPrefixes: string[]; isTruncated: boolean }>;
}

/**
 * s3rver's listing with a delimiter skips directories two levels down, so `mysql/` with only
 * `mysql/db1/records/…` below it lists nothing. List without the delimiter and group here instead.
 */
const fixDelimiterListing = (store: ListingStore): void => {
  const original = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const delimiter = options.delimiter ?? '';
    if (delimiter === '') return original(bucket, options);
    const prefix = options.prefix ?? '';
    const all = await original(bucket, { ...options, delimiter: '', maxKeys: Infinity });
    const prefixes = new Set<string>();
    const objects: { key: string }[] = [];
    for (const object of all.objects) {
      const at = object.key.slice(prefix.length).indexOf(delimiter);
      if (at >= 0) prefixes.add(object.key.slice(0, prefix.length + at + delimiter.length));
      else objects.push(object);
    }
    return { objects, commonPrefixes: [...prefixes].sort(), isTruncated: false };
  };
};

interface ObjectStoreInternals {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: { bucket: string; key: string; content: Buffer | Readable; metadata: unknown }): Promise<{ size: number; md5: string }>;
}

/**
 * s3rver writes an object where it is read, as its body arrives: a PUT whose client died midway
 * leaves a truncated object that HEAD and GET serve (S3 never shows an incomplete PUT). Write to a
 * temporary file beside it instead and rename it into place only once the whole body is in.
 */
const atomicPuts = (store: ObjectStoreInternals): void => {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const temp = `${objectPath}.${randomBytes(6).toString('hex')}.partial`;
    await makeDirectories(dirname(objectPath));
    const md5 = createHash('md5');
    let size = 0;
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        content,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temp),
      );
      await rename(temp, objectPath);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
};

/** The file system store's methods that write (s3rver 3). */
const WRITES = ['putObject', 'copyObject', 'putMetadata', 'initiateUpload', 'putPart', 'putObjectMultipart', 'putSubresource', 'putBucket'];

/**
 * s3rver answers a failed write with "We encountered an internal error": a full disk under the
 * endpoint says so instead, in the error message the client prints (as S3 itself would say why).
 */
const explainedFileSystemErrors = (store: ObjectStoreInternals, directory: string): void => {
  const target = store as unknown as Record<string, unknown>;
  for (const name of WRITES) {
    const method = target[name];
    if (typeof method !== 'function') throw new Error(`s3rver's store has no ${name}: the endpoint's patches need updating`);
    target[name] = async (...args: unknown[]): Promise<unknown> => {
      try {
        return await (method as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      } catch (error) {
        const reason = fileSystemReason(error);
        if (reason === undefined) throw error;
        // `expose`: s3rver then sends this message, not its generic one.
        throw Object.assign(new Error(`the local endpoint cannot store data in ${directory}: ${reason}`), { expose: true });
      }
    };
  }
};

/**
 * s3rver 3 passes its promise's reject to `server.listen` as the 'listening' callback, which is
 * never called with an error: a port in use is an unhandled 'error' event that kills the process
 * with a stack trace. Its listen is made to reject instead, so the caller can say it in one line.
 */
const listenOrFail = (server: S3rver): void => {
  const target = server as unknown as { listen: (...args: unknown[]) => unknown };
  const listen = target.listen.bind(server);
  target.listen = (...args: unknown[]) =>
    new Promise((resolve, reject) => {
      // With a callback, s3rver's listen returns the http server it made.
      const http = listen(...args, () => {
        http.off('error', reject);
        resolve(http);
      }) as Server;
      http.once('error', reject);
    });
};

/**
 * Starts the endpoint; resolves once it listens.
 *
 * @example
 * const endpoint = await startLocalEndpoint({ directory: '.binvault/s3', buckets: ['binvault'], port: 0 });
 */
export const startLocalEndpoint = async (options: LocalEndpointOptions): Promise<LocalEndpoint> => {
  await makeDirectories(options.directory);
  const server = new S3rver({
    address: options.address ?? '127.0.0.1',
    port: options.port ?? 4569,
    directory: options.directory,
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const app = server as unknown as { middleware: KoaMiddleware[]; store: ListingStore & ObjectStoreInternals };
  fixDelimiterListing(app.store);
  atomicPuts(app.store);
  explainedFileSystemErrors(app.store, options.directory);
  // Just before s3rver's router (the last middleware), after its XML encoder and vhost rewrite.
  app.middleware.splice(app.middleware.length - 1, 0, extensions(options.directory));
  const versions = versioning(options.directory, app.store, options.versioning ?? {});
  app.middleware.splice(app.middleware.length - 1, 0, (ctx, next) => versions(ctx as unknown as VersioningContext, next));
  listenOrFail(server);

  const address = (await server.run()) as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    onEvent: (listener) => {
      server.on('event', (event: { Records: S3EventRecord[] }) => {
        for (const record of event.Records) listener(record);
      });
    },
    close: async () => {
      await server.close();
    },
  };
};
