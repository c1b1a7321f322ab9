import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { crc32, gzip, gzipSync } from 'node:zlib';
import { BinvaultError } from '../../core/errors.js';
import { makeSeal, type Seal } from '../../core/gzip/seal.js';
import { rechunk } from '../../core/streams.js';
import { headerWithCrc, igzipStream, type Compressor } from './compress.js';

const gzipAsync = promisify(gzip);

/**
 * Options of {@link gzipMembers}.
 */
export interface ParallelGzipOptions {
  /** zlib level. @default 1 (what the first users' `gzip -1` pipeline chose: the host also runs the app) */
  level?: number;
  /** Members compressed at once, each on a libuv worker thread. @default the number of cores */
  concurrency?: number;
  /** Uncompressed bytes per gzip member: 1 MiB costs 0.1 % in size and keeps memory low. @default 1 MiB */
  memberBytes?: number;
  /** Sees every raw block, in order, before it is compressed (for hashing and counting). */
  onRaw?: (block: Buffer) => void;
}

/**
 * Compresses a stream as consecutive gzip members compressed in parallel (pigz's approach,
 * without the shared dictionary): the concatenation is one valid gzip stream that `gzip -t`,
 * `zcat` and every gunzip accept. Memory stays bounded by `2 × concurrency × memberBytes`.
 */
export async function* gzipMembers(
  source: AsyncIterable<Uint8Array>,
  options: ParallelGzipOptions = {},
): AsyncGenerator<Buffer> {
  const level = options.level ?? 1;
  const concurrency = Math.max(1, options.concurrency ?? availableParallelism());
  const pending: Promise<Buffer>[] = [];
  let any = false;
  const memberBytes = options.memberBytes ?? 1024 * 1024;
  // One output buffer that holds the whole member: zlib compresses it in one pass on its worker
  // thread. With the default 16 KiB, every 16 KiB of output comes back to this thread for the next
  // buffer (measured: 1.4 s of this thread's time per 500 MB of dump, now gone).
  const chunkSize = memberBytes + (memberBytes >> 3) + 1024;
  for await (const block of rechunk(source, memberBytes)) {
    any = true;
    options.onRaw?.(block);
    const member = gzipAsync(block, { level, chunkSize }).then(withHeaderCrc);
    // Awaited in order below; this only keeps a failure that happens early from going unhandled.
    member.catch(() => undefined);
    pending.push(member);
    // Twice as many members in flight as workers: the next ones are queued while a result is
    // handed on, so neither the workers nor the reader ever wait for each other.
    if (pending.length >= concurrency * 2) yield await (pending.shift() as Promise<Buffer>);
  }
  while (pending.length > 0) yield await (pending.shift() as Promise<Buffer>);
  // An empty input still makes a valid (empty) gzip stream.
  if (!any) yield withHeaderCrc(gzipSync(Buffer.alloc(0), { level }));
}

/**
 * zlib's member with its 10-byte header rewritten to carry FHCRC (see {@link headerWithCrc}): zlib
 * checks the trailer's CRC32 of the data but nothing guards the header (MTIME, XFL, OS); with FHCRC
 * every decoder (gzip -t, zlib) rejects a flipped bit there too, so no single-bit flip in a shipped
 * object can go unseen. It costs 2 bytes per member.
 */
const withHeaderCrc = (member: Buffer): Buffer => Buffer.concat([headerWithCrc(member.subarray(0, 10)), member.subarray(10)]);

/** The raw bytes changed between the read that hashed them and the read that compressed them. */
export class SourceChangedError extends BinvaultError {
  public override readonly name: string = 'SourceChangedError';
}

/** The raw bytes: a stream, or a file (which igzip then reads itself). */
export type RawSource = AsyncIterable<Uint8Array> | { path: string };

export interface SealedGzipOptions extends ParallelGzipOptions {
  /** Who compresses (see compress.ts). @default zlib on `concurrency` threads */
  compressor?: Compressor;
  /**
   * The raw bytes' sha256, size and CRC32 from an earlier read (a binlog hashed before its upload
   * started): the seal states that sha256 without hashing the bytes again, and the bytes compressed
   * must have the same size and CRC32 — else {@link SourceChangedError} before the seal is sent. A
   * change that kept both would leave a seal the verifier rejects: never a silently wrong object.
   */
  knownRaw?: { sha256: string; size: number; crc32: number };
  /** Called before the seal is sent; throwing stops the stream there. */
  onSeal?: (seal: Seal & { rawCrc32?: number }) => void;
  /** The compressor process's peak RSS, when one ran. */
  onCompressorEnd?: (result: { peakRss: number }) => void;
  /** Kills a compressor process at once. */
  signal?: AbortSignal;
  /**
   * igzip: raw bytes per gzip member (one igzip process each, one after the other). A member
   * boundary is where a verify longer than one Lambda invocation can pause and go on (core/gzip/
   * members.ts); zlib's members (`memberBytes`) are far smaller anyway.
   * @default IGZIP_MEMBER_BYTES (1 GiB)
   */
  igzipMemberBytes?: number;
}

/**
 * Raw bytes per igzip member: a new process per GiB costs nothing measurable, and a member of a
 * GiB (some 300 MB stored) inflates in a few seconds, far less than an invocation's time.
 */
const IGZIP_MEMBER_BYTES = 1024 ** 3;

/**
 * A stream cut into consecutive streams of `size` bytes (the last may be shorter); each must be
 * read to its end before the next is asked for. No stream at all for an empty source.
 */
async function* segments(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<AsyncIterable<Buffer>> {
  const iterator = source[Symbol.asyncIterator]();
  let carry: Buffer | undefined;
  const pull = async (): Promise<Buffer | undefined> => {
    if (carry) {
      const held = carry;
      carry = undefined;
      return held;
    }
    const next = await iterator.next();
    return next.done ? undefined : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  };
  async function* segment(): AsyncGenerator<Buffer> {
    for (let left = size; left > 0; ) {
      let chunk = await pull();
      if (!chunk) return;
      if (chunk.length > left) {
        carry = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      yield chunk;
    }
  }
  for (;;) {
    const first = await pull();
    if (!first) return;
    carry = first;
    yield segment();
  }
}

/** igzip members of `memberBytes` raw bytes each, from one process per member. */
async function* igzipMembers(compressor: Compressor, source: AsyncIterable<Uint8Array>, memberBytes: number, onRaw: (block: Buffer) => void, options: SealedGzipOptions): AsyncGenerator<Buffer> {
  let any = false;
  let peakRss = 0;
  const run = (input: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> =>
    igzipStream(compressor, { source: input, onRaw }, {
      ...(options.signal ? { signal: options.signal } : {}),
      onEnd: (result) => {
        peakRss = Math.max(peakRss, result.peakRss);
      },
    });
  for await (const segment of segments(source, memberBytes)) {
    any = true;
    yield* run(segment);
  }
  // An empty input still makes a valid (empty) gzip stream.
  if (!any) yield* run((async function* () {})());
  options.onCompressorEnd?.({ peakRss });
}

/**
 * The raw bytes compressed ({@link gzipMembers} on zlib threads, or one igzip process: see
 * compress.ts), followed by binvault's seal: the sha256 and size of the raw bytes and the sha256 of
 * every compressed byte, in a last empty member (core/gzip/seal.ts). Every member header has FHCRC.
 */
export async function* sealedGzip(source: RawSource, options: SealedGzipOptions = {}): AsyncGenerator<Buffer> {
  const known = options.knownRaw;
  const raw = known ? undefined : createHash('sha256');
  const stored = createHash('sha256');
  let rawSize = 0;
  let rawCrc = 0;
  // The CRC32 of the raw bytes is read only against a known source's (each member's compressor
  // checks its own trailer already): a dump's bytes are not summed a second time.
  const onRaw = (block: Buffer): void => {
    raw?.update(block);
    if (known) rawCrc = crc32(block, rawCrc);
    rawSize += block.length;
    options.onRaw?.(block);
  };
  const stream = (path: string): AsyncIterable<Uint8Array> => createReadStream(path, { highWaterMark: 1 << 20, ...(options.signal ? { signal: options.signal } : {}) });
  let members: AsyncIterable<Buffer>;
  let trailer: { rawCrc32: number; isize: number } | undefined;
  if (options.compressor?.name === 'igzip') {
    // A file whose hash is already known goes to igzip directly when it fits in one member: its bytes
    // never pass through here, and igzip's trailer (CRC32, ISIZE) says what it read.
    const memberBytes = options.igzipMemberBytes ?? IGZIP_MEMBER_BYTES;
    const direct = known !== undefined && !(Symbol.asyncIterator in source) && known.size <= memberBytes;
    if (direct) {
      members = igzipStream(options.compressor, source, {
        ...(options.signal ? { signal: options.signal } : {}),
        onEnd: (result) => {
          trailer = result;
          options.onCompressorEnd?.({ peakRss: result.peakRss });
        },
      });
      rawCrc = -1;
    } else {
      members = igzipMembers(options.compressor, Symbol.asyncIterator in source ? source : stream(source.path), memberBytes, onRaw, options);
    }
  } else {
    const input = Symbol.asyncIterator in source ? source : stream(source.path);
    members = gzipMembers(input, { ...options, ...(options.compressor ? { concurrency: options.compressor.threads } : {}), onRaw });
  }
  for await (const member of members) {
    stored.update(member);
    yield member;
  }
  if (rawCrc === -1 && known && trailer) {
    // What igzip read, as its trailer states it.
    rawCrc = trailer.rawCrc32;
    rawSize = trailer.isize === known.size % 2 ** 32 ? known.size : trailer.isize;
  }
  rawCrc = rawCrc >>> 0;
  if (known && (rawSize !== known.size || rawCrc !== known.crc32 >>> 0)) {
    throw new SourceChangedError(
      `the raw bytes changed between two reads (${known.size} bytes, CRC32 ${(known.crc32 >>> 0).toString(16)}, then ${rawSize} bytes, CRC32 ${rawCrc.toString(16)}); nothing was stored`,
    );
  }
  const seal = { rawSize, rawSha256: known ? known.sha256 : (raw?.digest('hex') ?? ''), compressedSha256: stored.digest('hex') };
  options.onSeal?.({ ...seal, ...(known ? { rawCrc32: rawCrc } : {}) });
  yield makeSeal(seal);
}
