import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BINLOG_MAGIC } from './binlog/events.js';
import { BinlogVerifier, MAX_PROBLEMS, type BinlogFacts } from './binlog/verify.js';
import { DumpVerifier, type DumpFacts } from './dump/verify.js';
import { SEAL_BYTES, readSeal, type Seal } from './gzip/seal.js';

/**
 * The verdict on one object, local file or S3 object: the gzip container, the content (binlog or
 * dump) and the sha256 against what the shipper recorded.
 */
export interface Verification {
  file: string;
  kind: 'binlog' | 'dump' | 'unknown';
  status: 'ok' | 'failed';
  /** Why it failed: the first MAX_REASONS reasons (a badly damaged binlog can have one per event). */
  reasons: string[];
  /** How many reasons there were in all: more than `reasons` holds when some were left out. @default reasons.length */
  reasonCount?: number;
  /** Bytes as stored. */
  size: number;
  /** Bytes after gunzip. */
  rawSize: number;
  sha256: string;
  /** The shipper's `sha256` metadata, when there was one, and whether it matched. */
  expectedSha256?: string;
  sha256Match?: boolean;
  gzip: boolean;
  /** binvault's seal (the last, empty gzip member), when the object has one. */
  seal?: Seal;
  binlog?: BinlogFacts;
  dump?: DumpFacts;
}

export interface VerifyInput {
  /** The name shown in the verdict (path or s3:// URL). */
  file: string;
  body: AsyncIterable<Uint8Array>;
  /** The object's user metadata (`sha256`, `raw-size`, `kind`). */
  metadata?: Record<string, string>;
  /**
   * What the object must be (from its place in the layout). Otherwise its first bytes tell, and
   * its name (`binlog.000123`, `….sql.gz`) when they do not: a file named like a binlog whose
   * magic was mangled is a damaged binlog, not a dump without a header.
   */
  expectedKind?: 'binlog' | 'dump';
}

/** Reasons listed per verdict; `reasonCount` counts them all. */
export const MAX_REASONS = MAX_PROBLEMS;

/**
 * What a file's name says it holds: a binlog (`binlog.000123`, `mysql-bin.001`, with `.gz` or a
 * lineage tag `~20261121T001500Z`), a dump (`….sql`, `….sql.gz`), or nothing.
 *
 * @example
 * kindFromName('s3://b/mysql/db1/binlogs/2026-11-20/binlog.000123.gz') // 'binlog'
 * kindFromName('db1-20261120T150000Z.sql.gz') // 'dump'
 */
export const kindFromName = (file: string): 'binlog' | 'dump' | undefined => {
  const base = file.replace(/^.*\//, '').replace(/\.gz$/i, '').replace(/~[^~]*$/, '');
  if (/\.sql$/i.test(base)) return 'dump';
  if (/^.+\.\d{3,}$/.test(base)) return 'binlog';
  return undefined;
};

/** The binlog magic with its 0xfe byte replaced (`?bin`, `\0bin`) or expanded (U+FFFD `ef bf bd` + `bin`) by a text conversion. */
const mangledMagic = (head: Buffer): boolean => {
  const at = head.subarray(0, 8).indexOf('bin');
  return at >= 1 && at <= 3 && head[0] !== 0x2d && head[0] !== 0x2f;
};

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

const describeGzipError = (error: unknown): string => {
  const e = error as { code?: string; message?: string };
  switch (e.code) {
    case 'Z_BUF_ERROR':
      return 'gzip: unexpected end of data (the object is truncated)';
    case 'Z_DATA_ERROR':
      return /header check/.test(e.message ?? '')
        ? 'gzip: trailing garbage or a corrupt member header after a gzip member'
        : /data check/.test(e.message ?? '')
          ? 'gzip: CRC32 mismatch in a gzip member (the compressed data is corrupt)'
          : /length check/.test(e.message ?? '')
            ? 'gzip: size mismatch in a gzip member trailer'
            : `gzip: corrupt compressed data (${e.message ?? 'data error'})`;
    default:
      return `gzip: ${e.message ?? String(error)}`;
  }
};

/**
 * Verifies a stream in one pass and constant memory: every gzip member decompressed and its CRC32
 * and size checked (zlib checks each member's trailer), nothing after the last member, the sha256
 * of the raw bytes, and the content itself.
 */
export const verifyStream = async (input: VerifyInput): Promise<Verification> => {
  const hash = createHash('sha256');
  let size = 0;
  let rawSize = 0;
  let gzip = false;
  let kind: Verification['kind'] | undefined;
  let binlog: BinlogVerifier | undefined;
  let dump: DumpVerifier | undefined;
  const reasons: string[] = [];
  let head = Buffer.alloc(0);

  const start = (chosen: 'binlog' | 'dump'): void => {
    kind = chosen;
    if (kind === 'binlog') binlog = new BinlogVerifier();
    else dump = new DumpVerifier();
    (binlog ?? dump)?.update(head);
  };
  // The kind comes from the first bytes; 8 of them tell a mangled magic from a dump's first line.
  const decide = (final: boolean): void => {
    if (head.length < 4 || (head.length < 8 && !final && !head.subarray(0, 4).equals(BINLOG_MAGIC))) return;
    const binlogLike = head.subarray(0, 4).equals(BINLOG_MAGIC) || kindFromName(input.file) === 'binlog' || mangledMagic(head);
    start(input.expectedKind ?? (binlogLike ? 'binlog' : 'dump'));
  };

  const onRaw = (chunk: Buffer): void => {
    rawSize += chunk.length;
    hash.update(chunk);
    if (kind === undefined) {
      head = Buffer.concat([head, chunk]);
      decide(false);
      return;
    }
    (binlog ?? dump)?.update(chunk);
  };

  const iterator = input.body[Symbol.asyncIterator]();
  let first = await iterator.next();
  // Peek at the first two bytes to tell gzip from raw.
  while (!first.done && first.value.length < 2) {
    const next = await iterator.next();
    if (next.done) break;
    first = { done: false, value: Buffer.concat([first.value, next.value]) };
  }
  // Every stored byte but the last SEAL_BYTES is hashed: those may be the seal that states the hash.
  const stored = createHash('sha256');
  let tail = Buffer.alloc(0);
  const take = (chunk: Uint8Array): Buffer => {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += buf.length;
    if (buf.length >= SEAL_BYTES) {
      // The held-back tail is now known not to be the seal; the chunk's own last bytes may be.
      stored.update(tail);
      stored.update(buf.subarray(0, buf.length - SEAL_BYTES));
      tail = Buffer.from(buf.subarray(buf.length - SEAL_BYTES));
    } else {
      const joined = Buffer.concat([tail, buf]);
      const cut = Math.max(0, joined.length - SEAL_BYTES);
      stored.update(joined.subarray(0, cut));
      tail = Buffer.from(joined.subarray(cut));
    }
    return buf;
  };
  async function* rest(): AsyncGenerator<Buffer> {
    if (!first.done) yield take(first.value);
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield take(next.value);
    }
  }
  gzip = !first.done && Buffer.from(first.value.subarray(0, 2)).equals(GZIP_MAGIC);

  if (gzip) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    try {
      await pipeline(Readable.from(rest()), gunzip, async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) onRaw(chunk);
      });
      // zlib stops quietly at zero bytes after the last member: anything it left unread is garbage.
      if (gunzip.bytesWritten < size) {
        reasons.push(`gzip: ${size - gunzip.bytesWritten} bytes of trailing garbage after the last gzip member`);
      }
    } catch (error) {
      reasons.push(describeGzipError(error));
    }
  } else {
    for await (const chunk of rest()) onRaw(chunk);
  }

  const seal = gzip ? readSeal(tail) : undefined;
  const gzipSound = reasons.length === 0;
  if (gzipSound && seal) {
    if (seal.compressedSha256 !== stored.digest('hex')) {
      reasons.push("the stored bytes differ from what binvault's seal states: the object was altered after it was written");
    }
  } else if (gzipSound && input.metadata?.['shipper-version'] !== undefined) {
    reasons.push("no binvault seal at the end: the object was cut short or altered");
  }

  if (kind === undefined) decide(true);
  const binlogFacts = binlog?.finish();
  const dumpFacts = dump?.finish();
  // Reasons a damaged binlog had beyond those it listed.
  let unlisted = 0;
  // A gzip failure already says why the content is short; its own complaints would only repeat it.
  if (reasons.length === 0) {
    reasons.push(...(binlogFacts?.problems ?? []), ...(dumpFacts?.problems ?? []));
    unlisted = binlogFacts ? binlogFacts.problemCount - binlogFacts.problems.length : 0;
  }
  if (kind === undefined) reasons.push(rawSize === 0 ? 'empty: the object holds no data' : 'too short to be a binlog or a dump');

  const sha256 = hash.digest('hex');
  if (seal && reasons.length === 0 && (seal.rawSha256 !== sha256 || seal.rawSize !== rawSize)) {
    reasons.push(`the content (sha256 ${sha256}, ${rawSize} bytes) differs from the seal's (${seal.rawSha256}, ${seal.rawSize} bytes)`);
  }
  const expectedSha256 = input.metadata?.sha256;
  const sha256Match = expectedSha256 !== undefined ? expectedSha256 === sha256 : undefined;
  // After a gzip failure the content is short by construction; a hash mismatch would only repeat it.
  if (sha256Match === false && gzipSound) {
    reasons.push(`sha256 of the content ${sha256} differs from the shipper's ${expectedSha256 ?? ''}: not the bytes that were shipped`);
  }
  const expectedRaw = input.metadata?.['raw-size'];
  if (expectedRaw !== undefined && reasons.length === 0 && Number(expectedRaw) !== rawSize) {
    reasons.push(`size ${rawSize} differs from the shipper's raw-size ${expectedRaw}`);
  }
  const expectedKind = input.metadata?.kind;
  if (expectedKind !== undefined && kind !== undefined && expectedKind !== kind && reasons.length === 0) {
    reasons.push(`the shipper says ${expectedKind}, the content is a ${kind}`);
  }

  const reasonCount = reasons.length + unlisted;
  return {
    file: input.file,
    kind: kind ?? 'unknown',
    status: reasonCount === 0 ? 'ok' : 'failed',
    reasons: reasons.slice(0, MAX_REASONS),
    reasonCount,
    size,
    rawSize,
    sha256,
    ...(expectedSha256 !== undefined ? { expectedSha256 } : {}),
    ...(sha256Match !== undefined ? { sha256Match } : {}),
    gzip,
    ...(seal ? { seal } : {}),
    ...(binlogFacts ? { binlog: binlogFacts } : {}),
    ...(dumpFacts ? { dump: dumpFacts } : {}),
  };
};

/** The design's `verify --json` line for a verdict. */
export const verificationJson = (v: Verification): Record<string, unknown> => ({
  file: v.file,
  kind: v.kind,
  status: v.status,
  reasons: v.reasons,
  // All the reasons found; `reasons` lists the first MAX_REASONS of them.
  reasonCount: v.reasonCount ?? v.reasons.length,
  ...(v.binlog
    ? {
        binlog: {
          serverVersion: v.binlog.serverVersion ?? null,
          checksum: v.binlog.checksum ?? null,
          events: v.binlog.events,
          firstEventTime: v.binlog.firstEventTime ?? null,
          lastEventTime: v.binlog.lastEventTime ?? null,
          end: v.binlog.end,
          rotateTo: v.binlog.rotateTo ?? null,
          gtids: v.binlog.gtids,
          previousGtids: v.binlog.previousGtids,
          firstPosition: v.binlog.firstPosition,
          lastPosition: v.binlog.lastPosition,
          serverIds: v.binlog.serverIds,
          crc: v.binlog.crc,
        },
      }
    : {}),
  ...(v.dump
    ? {
        dump: {
          serverVersion: v.dump.serverVersion ?? null,
          databases: v.dump.databases,
          binlogFile: v.dump.binlogFile ?? null,
          binlogPosition: v.dump.binlogPosition ?? null,
          gtids: v.dump.gtids ?? null,
          complete: v.dump.complete,
          tool: v.dump.tool ?? null,
        },
      }
    : {}),
  size: v.size,
  rawSize: v.rawSize,
  sha256: v.sha256,
  ...(v.sha256Match !== undefined ? { sha256Match: v.sha256Match } : {}),
});
