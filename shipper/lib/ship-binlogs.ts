import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { binlogHasChanges, binlogOpenedAt } from '../../core/binlog/events.js';
import { compareBinlogNames, namesBetween, parseBinlogName, type BinlogName } from '../../core/binlog/names.js';
import { ObjectExistsError } from '../../core/errors.js';
import { binlogKey, binlogsRoot, dayIn, gapRecordName, parseKey, recordKey, type HostScope } from '../../core/layout.js';
import { compactStamp } from '../../core/time.js';
import type { BinlogSource, Clock, ObjectStore } from '../../core/ports.js';
import { partBytesFor } from '../../core/streams.js';
import { MysqlError } from '../../drivers/errors.js';
import { BinlogGapError, ShipError } from './errors.js';
import type { Compressor } from './compress.js';
import { sealedGzip, SourceChangedError, type ParallelGzipOptions } from './gzip.js';
import type { ServerInfo } from '../../drivers/mysql/session.js';
import type { StateDir } from './state.js';

/** Progress of a run, for the CLI to show as it likes. */
export type ShipBinlogsEvent =
  | { type: 'server'; server: ServerInfo; active: string; rotated: boolean }
  | { type: 'cleaned'; key: string; uploadId: string }
  | { type: 'reset'; previousLast: string; active: string }
  | { type: 'skipped'; name: string; key: string }
  | { type: 'uploading'; name: string; key: string; rawBytes: number }
  /** Raw bytes of this run's binlogs read for upload so far, of all the closed binlogs it has to ship. */
  | { type: 'progress'; rawBytes: number; totalBytes: number; files: number }
  | { type: 'shipped'; name: string; key: string; rawBytes: number; storedBytes: number; seconds: number }
  | { type: 'gap'; missing: string[]; recordKey: string };

export interface ShipBinlogsOptions {
  source: BinlogSource;
  store: ObjectStore;
  state: StateDir;
  scope: HostScope;
  /** For the `{day}` folder. @default 'UTC' */
  timeZone?: string;
  clock: Clock;
  shipperVersion: string;
  gzip?: ParallelGzipOptions;
  /** Who compresses (compress.ts's selectCompressor). @default zlib on every core */
  compressor?: Compressor;
  listener?: (event: ShipBinlogsEvent) => void;
  /** Aborts the upload in progress (it leaves nothing behind) and ends the run. */
  signal?: AbortSignal;
  /**
   * An idle server is still rotated once its active binlog is this old, so that the restorable time
   * keeps up with the clock (the ROTATE event carries the time) and no staleness alert fires.
   * @default 300
   */
  idleRotateSeconds?: number;
  /**
   * Look for multipart uploads a killed run left (one ListMultipartUploads). A `--loop` does it on
   * its first run only: its own failed uploads leave nothing behind. @default true
   */
  cleanUploads?: boolean;
}

export interface ShipBinlogsResult {
  active: string;
  /** The active binlog's file on this host (what `--loop` watches for size). */
  activePath: string;
  shipped: string[];
  skipped: string[];
  missing: string[];
  /** Raw bytes read from binlog files (each shipped one twice: hashed, then compressed). */
  bytesRead: number;
  /** Compressed bytes uploaded. */
  bytesSent: number;
  /** The compressor process's largest peak RSS, when one ran. */
  childPeakRss: number;
}

/** What has been shipped, as this host remembers it (`binlogs.json` in the state directory). */
interface ShippedCache {
  version: 1;
  /** The newest binlog accounted for: shipped, or recorded as missing. */
  last?: string;
  /** Set after a reset: the tag the new lineage's keys carry. */
  lineage?: string;
  entries: Record<string, CacheEntry>;
}

interface CacheEntry {
  /** Keys that hold this name in the bucket (more than one only after a reset). */
  keys: string[];
  sha256?: string;
  size?: number;
  /** Purged by the server before it was shipped; a gap record says so. */
  missing?: boolean;
}

/** Written before an upload starts, removed after it is accounted for: what a crash left. */
interface Intent {
  name: string;
  key: string;
  sha256: string;
  uploadId?: string;
}

const CACHE = 'binlogs.json';
const INTENT = 'binlogs.intent.json';

/** The binlog files the server keeps, oldest first, from its index, with their paths. */
export const readBinlogIndex = async (server: ServerInfo): Promise<{ name: string; path: string }[]> => {
  if (!server.logBinIndex || !server.logBinBasename) {
    throw new MysqlError('the server reports no binlog index (@@log_bin_index): is binary logging on?');
  }
  let text: string;
  try {
    text = await readFile(server.logBinIndex, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ShipError(
      code === 'EACCES'
        ? `cannot read the binlog index ${server.logBinIndex}: permission denied (run the shipper as a user in the server's group, e.g. mysql)`
        : `cannot read the binlog index ${server.logBinIndex}: ${code ?? 'error'} (the shipper must run on the database host)`,
      { cause: error },
    );
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => ({ name: basename(line), path: binlogPath(server, line) }));
};

/** Index entries are relative to the data directory or absolute; the files live next to @@log_bin_basename. */
const binlogPath = (server: ServerInfo, entry: string): string =>
  join(dirname(server.logBinBasename ?? join(server.dataDir, 'binlog')), basename(entry));

/**
 * The file's sha256 (its metadata, decided before the upload starts), size and CRC32 (cheap: it
 * checks the second read). Read into one reused 1 MiB buffer: a read stream allocated a new one per
 * read, 1.5 GB of garbage per 1.5 GB of binlogs (measured: most of this process's collector time).
 */
const digestOfFile = async (path: string, signal?: AbortSignal): Promise<{ sha256: string; size: number; crc32: number }> => {
  const hash = createHash('sha256');
  let size = 0;
  let crc = 0;
  const buffer = Buffer.allocUnsafe(1 << 20);
  const handle = await open(path, 'r');
  try {
    for (;;) {
      // As a read stream fails when its signal aborts: an AbortError whose cause is the reason.
      if (signal?.aborted) throw Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError' });
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      const block = buffer.subarray(0, bytesRead);
      hash.update(block);
      crc = crc32(block, crc);
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size, crc32: crc >>> 0 };
};

const readError = (name: string, path: string, error: unknown): ShipError => {
  const code = (error as NodeJS.ErrnoException).code;
  return new ShipError(
    code === 'EACCES'
      ? `cannot read binlog ${path}: permission denied (run the shipper as a user in the server's group, e.g. mysql)`
      : `cannot read binlog ${name} at ${path}: ${code ?? (error as Error).message}`,
    { cause: error },
  );
};

/**
 * One shipping run: rotate, then upload every closed binlog not yet shipped, oldest first, each
 * streamed through gzip with the design's metadata; the active binlog never. Safe to kill at any
 * instant and to rerun: what a killed run left is finished or removed first.
 */
export const shipBinlogs = async (options: ShipBinlogsOptions): Promise<ShipBinlogsResult> => {
  const { source, store, state, scope, signal } = options;
  const emit = options.listener ?? (() => undefined);

  const server = await source.info();
  if (!server.logBin) {
    throw new MysqlError('binary logging is off on this server (log_bin = OFF): enable log_bin to ship binlogs');
  }
  // An idle server is rotated only every idleRotateSeconds: a flush every minute would ship a
  // thousand empty files a day.
  const before = await source.currentBinlog(server.version);
  const beforePath = binlogPath(server, before.file);
  let rotated = false;
  try {
    rotated = await binlogHasChanges(beforePath, before.position);
    if (!rotated) {
      const openedAt = await binlogOpenedAt(beforePath);
      const idle = options.idleRotateSeconds ?? 300;
      rotated = openedAt === undefined || options.clock.now().getTime() / 1000 - openedAt >= idle;
    }
  } catch (error) {
    throw readError(before.file, beforePath, error);
  }
  if (rotated) await source.flushBinaryLogs();
  const active = rotated ? (await source.currentBinlog(server.version)).file : before.file;
  emit({ type: 'server', server, active, rotated });

  const files = await readBinlogIndex(server);
  const activeIndex = files.findIndex((f) => f.name === active);
  if (activeIndex < 0) {
    throw new ShipError(`the active binlog ${active} is not in the index ${server.logBinIndex ?? ''}`);
  }
  const closed = files.slice(0, activeIndex);

  let cache = (await state.readJson<ShippedCache>(CACHE)) ?? (await rebuildCache(store, scope));
  const saveCache = (): Promise<void> => state.writeJson(CACHE, cache);

  await finishIntent(options, cache);
  // We hold the lock: any multipart upload still open under our prefix is a killed run's.
  for (const upload of options.cleanUploads === false ? [] : await store.listMultipartUploads(binlogsRoot(scope))) {
    await store.abortMultipartUpload(upload.key, upload.uploadId);
    emit({ type: 'cleaned', key: upload.key, uploadId: upload.uploadId });
  }

  const activeName = parseBinlogName(active);
  const lastName = cache.last !== undefined ? parseBinlogName(cache.last) : undefined;
  if (activeName && lastName && compareBinlogNames(activeName, lastName) < 0) {
    // Numbering went backwards: RESET MASTER, or a server restored from elsewhere. A new lineage.
    emit({ type: 'reset', previousLast: cache.last ?? '', active });
    cache = { version: 1, entries: {}, lineage: compactStamp(options.clock.now()) };
  }

  const missing = await findMissing(files, closed, cache);
  const result: ShipBinlogsResult = { active, activePath: binlogPath(server, active), shipped: [], skipped: [], missing, bytesRead: 0, bytesSent: 0, childPeakRss: 0 };
  let gapRecordKey: string | undefined;
  if (missing.length > 0) {
    gapRecordKey = await recordGap(options, server, cache, missing, files[0]?.name ?? active);
    for (const name of missing) cache.entries[name] = { keys: [], missing: true };
    cache.last = newest([cache.last, ...missing]);
    emit({ type: 'gap', missing, recordKey: gapRecordKey });
    await saveCache();
  }

  // What this run ships, before it starts: the progress's total.
  const todo: { file: { name: string; path: string }; entry: CacheEntry | undefined; size: number }[] = [];
  for (const file of closed) {
    const entry = cache.entries[file.name];
    if (entry?.missing) continue;
    let size: number;
    try {
      size = (await stat(file.path)).size;
    } catch (error) {
      throw readError(file.name, file.path, error);
    }
    if (entry?.sha256 !== undefined && entry.size === size) continue;
    todo.push({ file, entry, size });
  }
  const progress = { rawBytes: 0, totalBytes: todo.reduce((sum, t) => sum + t.size, 0), files: todo.length };
  const advance = (bytes: number): void => {
    progress.rawBytes += bytes;
    emit({ type: 'progress', ...progress });
  };

  for (const { file, entry, size } of todo) {
    signal?.throwIfAborted();
    const before = progress.rawBytes;
    const shipped = await shipOne(options, server, file, entry, size, cache.lineage, result, advance);
    // A binlog found already shipped was not read for upload: it counts as done all the same.
    advance(before + size - progress.rawBytes);
    cache.entries[file.name] = { keys: [shipped.key], sha256: shipped.sha256, size };
    cache.last = newest([cache.last, file.name]);
    await saveCache();
    await state.remove(INTENT);
    (shipped.uploaded ? result.shipped : result.skipped).push(file.name);
  }

  pruneCache(cache, files);
  await saveCache();
  if (missing.length > 0) {
    throw new BinlogGapError(
      `binlogs purged by the server before they were shipped: ${missing.join(', ')} (gap recorded at ${store.url(gapRecordKey ?? '')})`,
      missing,
    );
  }
  return result;
};

/** Ships one closed binlog, or finds it already shipped. */
const shipOne = async (
  options: ShipBinlogsOptions,
  server: ServerInfo,
  file: { name: string; path: string },
  entry: CacheEntry | undefined,
  size: number,
  lineage: string | undefined,
  totals: Pick<ShipBinlogsResult, 'bytesRead' | 'bytesSent' | 'childPeakRss'>,
  advance: (rawBytes: number) => void = () => undefined,
): Promise<{ key: string; sha256: string; uploaded: boolean }> => {
  const { store, state, scope, clock, signal } = options;
  const emit = options.listener ?? (() => undefined);
  let digest: { sha256: string; size: number; crc32: number };
  try {
    digest = await digestOfFile(file.path, signal);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw readError(file.name, file.path, error);
  }
  if (digest.size !== size) throw new ShipError(`binlog ${file.name} changed size while it was read`);
  totals.bytesRead += digest.size;

  const key = binlogKey(scope, dayIn(clock.now(), options.timeZone ?? 'UTC'), file.name, lineage);
  // Already in the bucket under this key, or under another day's key from an earlier run?
  for (const candidate of new Set([...(entry?.keys ?? []), key])) {
    const head = await store.head(candidate);
    if (!head) continue;
    if (head.metadata.sha256 === digest.sha256) {
      emit({ type: 'skipped', name: file.name, key: candidate });
      return { key: candidate, sha256: digest.sha256, uploaded: false };
    }
    if (candidate === key) {
      throw new ShipError(
        `${store.url(key)} already holds different content than ${file.path} (sha256 ${head.metadata.sha256 ?? 'unknown'} ≠ ${digest.sha256}); nothing was overwritten`,
      );
    }
  }

  const intent: Intent = { name: file.name, key, sha256: digest.sha256 };
  await state.writeJson(INTENT, intent);
  emit({ type: 'uploading', name: file.name, key, rawBytes: size });
  const started = performance.now();

  async function* body(): AsyncGenerator<Buffer> {
    try {
      // Read a second time, by igzip itself where it runs: the sha256 of the first read is the one
      // in the metadata and the seal, and size and CRC32 prove the bytes compressed are the same.
      yield* sealedGzip({ path: file.path }, {
        ...options.gzip,
        ...(options.compressor ? { compressor: options.compressor } : {}),
        knownRaw: digest,
        ...(signal ? { signal } : {}),
        onCompressorEnd: ({ peakRss }) => (totals.childPeakRss = Math.max(totals.childPeakRss, peakRss)),
        // Where Node reads the file (zlib), the progress moves block by block; igzip reads it itself.
        onRaw: (block) => {
          options.gzip?.onRaw?.(block);
          advance(block.length);
        },
      });
      totals.bytesRead += digest.size;
    } catch (error) {
      // Checked before the seal, the last bytes, is sent: a file that changed between the two reads
      // never becomes an object.
      if (error instanceof SourceChangedError) throw new ShipError(`binlog ${file.name} changed while it was read; nothing was stored`, { cause: error });
      throw error;
    }
  }

  const metadata: Record<string, string> = {
    sha256: digest.sha256,
    'raw-size': String(size),
    host: scope.host,
    'server-id': String(server.serverId),
    ...(server.serverUuid ? { 'server-uuid': server.serverUuid } : {}),
    kind: 'binlog',
    'binlog-file': file.name,
    'shipper-version': options.shipperVersion,
  };
  let stored: { bytes: number };
  try {
    stored = await store.putStream(key, body(), {
      metadata,
      contentType: 'application/gzip',
      // The compressed binlog is no larger than the file (plus gzip's few bytes per member).
      partBytes: partBytesFor(size * 1.01),
      ifAbsent: true,
      ...(signal ? { signal } : {}),
      onMultipartStarted: (uploadId) => state.writeJson(INTENT, { ...intent, uploadId }),
    });
  } catch (error) {
    if (error instanceof ObjectExistsError) {
      throw new ShipError(`${store.url(key)} appeared while this run uploaded it; nothing was overwritten`, { cause: error });
    }
    if ((error as Error).name === 'AbortError' || error instanceof ShipError) throw error;
    if ((error as NodeJS.ErrnoException).code !== undefined && (error as NodeJS.ErrnoException).syscall) {
      throw readError(file.name, file.path, error);
    }
    throw error;
  }
  totals.bytesSent += stored.bytes;
  emit({
    type: 'shipped',
    name: file.name,
    key,
    rawBytes: size,
    storedBytes: stored.bytes,
    seconds: (performance.now() - started) / 1000,
  });
  return { key, sha256: digest.sha256, uploaded: true };
};

/** Settles what a killed run left: an upload that completed is recorded, one that did not is aborted. */
const finishIntent = async (options: ShipBinlogsOptions, cache: ShippedCache): Promise<void> => {
  const { store, state } = options;
  const intent = await state.readJson<Intent>(INTENT);
  if (!intent) return;
  const head = await store.head(intent.key);
  if (head && head.metadata.sha256 === intent.sha256) {
    cache.entries[intent.name] = { keys: [intent.key], sha256: intent.sha256, size: Number(head.metadata['raw-size']) };
    await state.writeJson(CACHE, cache);
  } else if (intent.uploadId) {
    await store.abortMultipartUpload(intent.key, intent.uploadId);
    options.listener?.({ type: 'cleaned', key: intent.key, uploadId: intent.uploadId });
  }
  await state.remove(INTENT);
};

/**
 * The cache rebuilt from the bucket: every binlog name of the newest lineage under the host's
 * prefix, and its keys.
 */
const rebuildCache = async (store: ObjectStore, scope: HostScope): Promise<ShippedCache> => {
  const binlogs = (await store.list(binlogsRoot(scope))).keys.flatMap((o) => {
    const ref = parseKey(o.key);
    return ref?.area === 'binlogs' ? [ref] : [];
  });
  const lineages = binlogs.flatMap((b) => (b.lineage !== undefined ? [b.lineage] : [])).sort();
  const lineage = lineages[lineages.length - 1];
  const cache: ShippedCache = { version: 1, entries: {}, ...(lineage ? { lineage } : {}) };
  for (const ref of binlogs) {
    if (ref.lineage !== lineage) continue;
    (cache.entries[ref.binlog] ??= { keys: [] }).keys.push(ref.key);
    cache.last = newest([cache.last, ref.binlog]);
  }
  return cache;
};

/**
 * Binlogs that should have been shipped and never can be: numbers between the last one
 * accounted for and the oldest the server still has, and indexed files gone from disk.
 */
const findMissing = async (
  files: { name: string; path: string }[],
  closed: { name: string; path: string }[],
  cache: ShippedCache,
): Promise<string[]> => {
  const missing: string[] = [];
  const last = cache.last !== undefined ? parseBinlogName(cache.last) : undefined;
  const first = files[0] !== undefined ? parseBinlogName(files[0].name) : undefined;
  if (last && first && last.base === first.base && first.sequence > last.sequence + 1) {
    missing.push(...namesBetween(last, first).filter((name) => !cache.entries[name]?.missing));
  }
  for (const file of closed) {
    const entry = cache.entries[file.name];
    if (entry?.sha256 !== undefined || entry?.missing) continue;
    const present = await stat(file.path).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
    );
    if (!present) missing.push(file.name);
  }
  return missing;
};

const recordGap = async (
  options: ShipBinlogsOptions,
  server: ServerInfo,
  cache: ShippedCache,
  missing: string[],
  firstPresent: string,
): Promise<string> => {
  const { store, scope, clock } = options;
  const now = clock.now();
  const key = recordKey(scope, dayIn(now, options.timeZone ?? 'UTC'), gapRecordName(missing));
  const record = {
    kind: 'gap',
    reason: 'purged-before-shipped',
    host: scope.host,
    serverId: server.serverId,
    ...(server.serverUuid ? { serverUuid: server.serverUuid } : {}),
    missing,
    after: cache.last ?? null,
    before: firstPresent,
    detectedAt: now.toISOString(),
    shipperVersion: options.shipperVersion,
  };
  try {
    await store.put(key, JSON.stringify(record, null, 2), { contentType: 'application/json', ifAbsent: true });
  } catch (error) {
    // The same gap recorded by an earlier, killed run: the record stands as it is.
    if (!(error instanceof ObjectExistsError)) throw error;
  }
  return key;
};

/** The newest of some binlog names, by sequence. */
const newest = (names: (string | undefined)[]): string | undefined => {
  let best: BinlogName | undefined;
  for (const name of names) {
    const parsed = name !== undefined ? parseBinlogName(name) : undefined;
    if (parsed && (!best || compareBinlogNames(parsed, best) > 0)) best = parsed;
  }
  return best?.name;
};

/** Forgets binlogs the server no longer has, keeping the newest one for gap detection. */
const pruneCache = (cache: ShippedCache, files: { name: string }[]): void => {
  const onDisk = new Set(files.map((f) => f.name));
  for (const name of Object.keys(cache.entries)) {
    if (!onDisk.has(name) && name !== cache.last) delete cache.entries[name];
  }
};
