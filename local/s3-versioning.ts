import { createHash, randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { makeDirectories } from '../core/files.js';

/**
 * What the stack's bucket does and s3rver does not, in front of it — the minimum a retention run
 * meets on AWS: versioning (a plain DELETE keeps the bytes as a noncurrent version and adds a
 * delete marker; ListObjectVersions; DELETE of one version), S3 Object Lock reads and writes
 * (PutObjectLegalHold/Retention, their GETs; a locked version refuses its DELETE with AccessDenied),
 * and a bucket policy that denies deletes or writes under some prefixes (AccessDenied with no lock).
 * The options are read on every request: a test may change them while the endpoint runs.
 *
 * Kept beside the objects, under `{bucket}/._binvault_versions/{sha256(key)}/`: `key`, `current`
 * (the current version's id; none: `null`, as S3 names versions of an unversioned bucket),
 * `{id}.json` and `{id}.data` for each noncurrent version or delete marker, `locks.json`.
 * Not done: a DELETE of the current version by id does not make the previous version current again.
 */
export interface VersioningOptions {
  /** Every bucket is versioned (as the stack's is); otherwise only `?versions` and the locks work. @default false */
  versioned?: boolean;
  /** Key prefixes whose deletes a bucket policy denies (AccessDenied, no lock involved). @default [] */
  denyDeletePrefixes?: string[];
  /** Key prefixes whose writes (PUT, CompleteMultipartUpload) a bucket policy denies. @default [] */
  denyWritePrefixes?: string[];
}

/** The part of a Koa context the local endpoint's middleware use (s3rver runs on Koa). */
export interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
}

export interface VersioningContext extends KoaContext {
  req: IncomingMessage;
  set(name: string, value: string): void;
}
type Middleware = (ctx: VersioningContext, next: () => Promise<void>) => Promise<void>;

/** The s3rver store's methods used here. */
export interface VersioningStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  listObjects(bucket: string, options: { prefix?: string; maxKeys?: number }): Promise<{ objects: { key: string }[] }>;
}

interface VersionEntry {
  key: string;
  id: string;
  size: number;
  etag: string;
  lastModified: string;
  deleteMarker?: boolean;
}

interface LockEntry {
  legalHold?: boolean;
  mode?: string;
  retainUntil?: string;
}

const VERSIONS_DIR = '._binvault_versions';

const s3Error = (ctx: VersioningContext, status: number, code: string, message: string): void => {
  ctx.status = status;
  ctx.body = { Error: { Code: code, Message: message } };
};

const readJson = async <T>(path: string): Promise<T | undefined> =>
  readFile(path, 'utf8').then(
    (text) => JSON.parse(text) as T,
    () => undefined,
  );

const bodyOf = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

const tag = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

const isLocked = (lock: LockEntry | undefined, now = Date.now()): boolean =>
  lock !== undefined && (lock.legalHold === true || (lock.retainUntil !== undefined && Date.parse(lock.retainUntil) > now));

export const versioning = (root: string, store: VersioningStore, options: VersioningOptions): Middleware => {
  const dirOf = (bucket: string, key: string): string => join(root, bucket, VERSIONS_DIR, createHash('sha256').update(key).digest('hex'));
  const objectPath = (bucket: string, key: string): string => store.getResourcePath(bucket, key, 'object');
  const currentId = async (bucket: string, key: string): Promise<string> => (await readFile(join(dirOf(bucket, key), 'current'), 'utf8').catch(() => 'null')).trim();
  const currentEntry = async (bucket: string, key: string): Promise<VersionEntry | undefined> => {
    const info = await stat(objectPath(bucket, key)).catch(() => undefined);
    if (!info) return undefined;
    const etag = (await readFile(store.getResourcePath(bucket, key, 'object.md5'), 'utf8').catch(() => '')).trim();
    return { key, id: await currentId(bucket, key), size: info.size, etag: `"${etag}"`, lastModified: info.mtime.toISOString() };
  };
  /** Keeps the current bytes as a noncurrent version; resolves to what to undo if the write fails. */
  const keepCurrent = async (bucket: string, key: string): Promise<(() => Promise<void>) | undefined> => {
    const current = await currentEntry(bucket, key);
    if (!current) return undefined;
    const dir = dirOf(bucket, key);
    await makeDirectories(dir);
    await writeFile(join(dir, 'key'), key);
    await copyFile(objectPath(bucket, key), join(dir, `${current.id}.data`));
    await writeFile(join(dir, `${current.id}.json`), JSON.stringify(current));
    return async () => {
      await rm(join(dir, `${current.id}.data`), { force: true });
      await rm(join(dir, `${current.id}.json`), { force: true });
    };
  };
  const newId = (): string => `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
  const locksOf = async (bucket: string, key: string): Promise<Record<string, LockEntry>> => (await readJson<Record<string, LockEntry>>(join(dirOf(bucket, key), 'locks.json'))) ?? {};
  const denied = (key: string): boolean => (options.denyDeletePrefixes ?? []).some((p) => key.startsWith(p));

  const listVersions = async (ctx: VersioningContext, bucket: string): Promise<void> => {
    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    const versions: (VersionEntry & { latest: boolean })[] = [];
    for (const { key } of (await store.listObjects(bucket, { prefix, maxKeys: Infinity })).objects) {
      const current = await currentEntry(bucket, key);
      if (current) versions.push({ ...current, latest: true });
    }
    const base = join(root, bucket, VERSIONS_DIR);
    for (const hash of await readdir(base).catch(() => [] as string[])) {
      const key = await readFile(join(base, hash, 'key'), 'utf8').catch(() => undefined);
      if (key === undefined || !key.startsWith(prefix)) continue;
      const hasCurrent = versions.some((v) => v.key === key && v.latest);
      const entries: VersionEntry[] = [];
      for (const name of await readdir(join(base, hash))) {
        if (!name.endsWith('.json') || name === 'locks.json') continue;
        const entry = await readJson<VersionEntry>(join(base, hash, name));
        if (entry) entries.push(entry);
      }
      entries.sort((a, b) => b.lastModified.localeCompare(a.lastModified) || b.id.localeCompare(a.id));
      entries.forEach((e, i) => versions.push({ ...e, latest: !hasCurrent && i === 0 }));
    }
    versions.sort((a, b) => a.key.localeCompare(b.key) || Number(b.latest) - Number(a.latest));
    const shown = (v: VersionEntry & { latest: boolean }) => ({ Key: v.key, VersionId: v.id, IsLatest: v.latest, LastModified: v.lastModified });
    const objects = versions.filter((v) => !v.deleteMarker).map((v) => ({ ...shown(v), ETag: v.etag, Size: v.size, StorageClass: 'STANDARD' }));
    const markers = versions.filter((v) => v.deleteMarker).map(shown);
    ctx.body = {
      ListVersionsResult: {
        Name: bucket,
        Prefix: prefix,
        IsTruncated: false,
        ...(objects.length > 0 ? { Version: objects } : {}),
        ...(markers.length > 0 ? { DeleteMarker: markers } : {}),
      },
    };
  };

  const deleteVersion = async (ctx: VersioningContext, bucket: string, key: string, id: string, next: () => Promise<void>): Promise<void> => {
    if (isLocked((await locksOf(bucket, key))[id])) return s3Error(ctx, 403, 'AccessDenied', 'Access Denied because object protected by object lock.');
    const dir = dirOf(bucket, key);
    if (id === (await currentId(bucket, key)) && (await currentEntry(bucket, key))) {
      // s3rver deletes the current object (and sends its ObjectRemoved event).
      delete ctx.query.versionId;
      await next();
      await rm(join(dir, 'current'), { force: true });
    } else {
      await rm(join(dir, `${id}.data`), { force: true });
      await rm(join(dir, `${id}.json`), { force: true });
      ctx.status = 204;
      ctx.body = '';
    }
    ctx.set('x-amz-version-id', id);
  };

  return async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const versionId = typeof ctx.query.versionId === 'string' ? ctx.query.versionId : undefined;

    if (ctx.method === 'GET' && key === '' && 'versions' in ctx.query) return listVersions(ctx, bucket);
    if (key === '') return next();

    for (const kind of ['legal-hold', 'retention'] as const) {
      if (!(kind in ctx.query)) continue;
      const id = versionId ?? (await currentId(bucket, key));
      const locks = await locksOf(bucket, key);
      const lock = locks[id];
      if (ctx.method === 'PUT') {
        const xml = await bodyOf(ctx.req);
        const update: LockEntry =
          kind === 'legal-hold'
            ? { legalHold: tag(xml, 'Status') === 'ON' }
            : { mode: tag(xml, 'Mode') ?? 'GOVERNANCE', ...(tag(xml, 'RetainUntilDate') ? { retainUntil: tag(xml, 'RetainUntilDate') as string } : {}) };
        await makeDirectories(dirOf(bucket, key));
        await writeFile(join(dirOf(bucket, key), 'key'), key);
        await writeFile(join(dirOf(bucket, key), 'locks.json'), JSON.stringify({ ...locks, [id]: { ...lock, ...update } }));
        ctx.status = 200;
        ctx.body = '';
        return;
      }
      if (kind === 'legal-hold' && lock?.legalHold !== undefined) {
        ctx.body = { LegalHold: { Status: lock.legalHold ? 'ON' : 'OFF' } };
        return;
      }
      if (kind === 'retention' && lock?.retainUntil !== undefined) {
        ctx.body = { Retention: { Mode: lock.mode ?? 'GOVERNANCE', RetainUntilDate: lock.retainUntil } };
        return;
      }
      return s3Error(ctx, 404, 'NoSuchObjectLockConfiguration', 'The specified object does not have a ObjectLock configuration');
    }

    if (ctx.method === 'DELETE' && ctx.query.uploadId === undefined) {
      if (denied(key)) return s3Error(ctx, 403, 'AccessDenied', 'Access Denied');
      if (versionId !== undefined) return deleteVersion(ctx, bucket, key, versionId, next);
      if (!options.versioned) return next();
      // A plain DELETE on a versioned bucket: the bytes stay as a noncurrent version, a marker hides them.
      await keepCurrent(bucket, key);
      await next();
      const dir = dirOf(bucket, key);
      await makeDirectories(dir);
      await writeFile(join(dir, 'key'), key);
      const marker: VersionEntry = { key, id: newId(), size: 0, etag: '', lastModified: new Date().toISOString(), deleteMarker: true };
      await writeFile(join(dir, `${marker.id}.json`), JSON.stringify(marker));
      await rm(join(dir, 'current'), { force: true });
      ctx.set('x-amz-delete-marker', 'true');
      ctx.set('x-amz-version-id', marker.id);
      return;
    }

    const writes = (ctx.method === 'PUT' && ctx.query.uploadId === undefined && !('tagging' in ctx.query)) || (ctx.method === 'POST' && typeof ctx.query.uploadId === 'string');
    if (writes && (options.denyWritePrefixes ?? []).some((p) => key.startsWith(p))) return s3Error(ctx, 403, 'AccessDenied', 'Access Denied');
    if (!writes || !options.versioned) return next();
    // An overwrite on a versioned bucket: the previous bytes stay as a noncurrent version.
    const undo = await keepCurrent(bucket, key);
    try {
      await next();
    } finally {
      if (ctx.status >= 300) await undo?.();
    }
    if (ctx.status < 300) {
      const id = newId();
      await makeDirectories(dirOf(bucket, key));
      await writeFile(join(dirOf(bucket, key), 'key'), key);
      await writeFile(join(dirOf(bucket, key), 'current'), id);
      ctx.set('x-amz-version-id', id);
    }
  };
};
