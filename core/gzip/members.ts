import { createInflateRaw, crc32 } from 'node:zlib';

/**
 * A gunzip that knows where each gzip member ends in the stored bytes: the only places a verify can
 * stop and later resume (Node cannot save an inflater's state). Each member's header is parsed
 * here (magic, method, flags, FEXTRA, FNAME, FCOMMENT, FHCRC), its deflate data inflated by an
 * InflateRaw (which stops at the end of the deflate stream: its `bytesWritten` is then what it
 * consumed), and its trailer (CRC32 of the output, ISIZE) checked here. The reasons are the words
 * a whole-stream gunzip gave for the same faults.
 */

/** Where a member ended: the offset just past its trailer in the stored object, and its index. */
export interface MemberEnd {
  index: number;
  storedOffset: number;
}

export interface GunzipMembersOptions {
  /** Every raw (decompressed) chunk, in order. */
  onRaw: (chunk: Buffer) => void;
  /** Every stored byte the gunzip consumed, in order (not the bytes it read ahead and gave back). */
  onStored: (chunk: Buffer) => void;
  /** After each sound member: return true to stop there (the next member is not read). */
  onMemberEnd?: (end: MemberEnd) => boolean;
  /** Where `source` starts in the stored object (a resumed read), and the index of its first member. @default 0 */
  start?: MemberEnd;
  /** Decompressed bytes per output chunk. @default 256 KiB */
  chunkSize?: number;
}

export interface GunzipMembersResult {
  /** Why the gzip container is not sound, in the verifier's words; undefined when it is. */
  reason?: string;
  /** Set when onMemberEnd stopped the read: where the next member starts. */
  stoppedAt?: MemberEnd;
  /** Stored bytes consumed from `source` (garbage after the last member included). */
  consumed: number;
  /** Members read. */
  members: number;
}

const TRUNCATED = 'gzip: unexpected end of data (the object is truncated)';
const BAD_HEADER = 'gzip: trailing garbage or a corrupt member header after a gzip member';
const CRC_MISMATCH = 'gzip: CRC32 mismatch in a gzip member (the compressed data is corrupt)';
const SIZE_MISMATCH = 'gzip: size mismatch in a gzip member trailer';
const corrupt = (what: string): string => `gzip: corrupt compressed data (${what})`;
const garbage = (bytes: number): string => `gzip: ${bytes} bytes of trailing garbage after the last gzip member`;

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const RESERVED = 0xe0;

/** Pulls chunks from an iterator, with bytes given back (read ahead of a member's end) served first. */
class ByteSource {
  private readonly held: Buffer[] = [];
  public constructor(private readonly iterator: AsyncIterator<Uint8Array>) {}

  public async chunk(): Promise<Buffer | undefined> {
    const held = this.held.shift();
    if (held) return held;
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return undefined;
      if (next.value.byteLength > 0) return Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  }

  public giveBack(bytes: Buffer): void {
    if (bytes.length > 0) this.held.unshift(bytes);
  }

  /** Exactly `n` bytes, or fewer at the end of the stream. */
  public async take(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const chunk = await this.chunk();
      if (!chunk) break;
      const want = n - got;
      if (chunk.length > want) {
        this.giveBack(chunk.subarray(want));
        parts.push(chunk.subarray(0, want));
        got += want;
      } else {
        parts.push(chunk);
        got += chunk.length;
      }
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, got);
  }

  /** The bytes up to and including the next NUL, or what is left at the end (no NUL then). */
  public async through(nul: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const chunk = await this.chunk();
      if (!chunk) return Buffer.concat(parts);
      const at = chunk.indexOf(nul);
      if (at < 0) {
        parts.push(chunk);
        continue;
      }
      this.giveBack(chunk.subarray(at + 1));
      parts.push(chunk.subarray(0, at + 1));
      return Buffer.concat(parts);
    }
  }
}

type Step<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Reads one member header (the first two bytes already known to be `1f 8b` or not); the bytes it
 * consumed go to `stored`.
 */
const readHeader = async (bytes: ByteSource, stored: (b: Buffer) => void): Promise<Step<undefined>> => {
  const fixed = await bytes.take(10);
  stored(fixed);
  if (fixed.length >= 2 && (fixed[0] !== 0x1f || fixed[1] !== 0x8b)) return { ok: false, reason: BAD_HEADER };
  if (fixed.length >= 3 && fixed[2] !== 8) return { ok: false, reason: corrupt('unknown compression method') };
  if (fixed.length >= 4 && ((fixed[3] ?? 0) & RESERVED) !== 0) return { ok: false, reason: corrupt('unknown header flags set') };
  if (fixed.length < 10) return { ok: false, reason: TRUNCATED };
  const flags = fixed[3] ?? 0;
  let crc = crc32(fixed);
  if (flags & FEXTRA) {
    const xlen = await bytes.take(2);
    stored(xlen);
    crc = crc32(xlen, crc);
    if (xlen.length < 2) return { ok: false, reason: TRUNCATED };
    const extra = await bytes.take(xlen.readUInt16LE(0));
    stored(extra);
    crc = crc32(extra, crc);
    if (extra.length < xlen.readUInt16LE(0)) return { ok: false, reason: TRUNCATED };
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const text = await bytes.through(0);
    stored(text);
    crc = crc32(text, crc);
    if (text.at(-1) !== 0) return { ok: false, reason: TRUNCATED };
  }
  if (flags & FHCRC) {
    const check = await bytes.take(2);
    stored(check);
    if (check.length < 2) return { ok: false, reason: TRUNCATED };
    if (check.readUInt16LE(0) !== (crc & 0xffff)) return { ok: false, reason: corrupt('header crc mismatch') };
  }
  return { ok: true, value: undefined };
};

/**
 * One member's deflate data, inflated; the bytes read past its end are given back to `bytes`.
 * Chunks are written without waiting for each to be inflated (as a pipe would: the inflater works
 * on its thread while this one hashes and parses), so the bytes written but not yet known consumed
 * are kept until `bytesWritten` passes them; a write past the end of the deflate stream is
 * harmless (the inflater takes nothing more).
 */
const inflateMember = async (
  bytes: ByteSource,
  options: GunzipMembersOptions,
): Promise<Step<{ crc: number; size: number }>> => {
  const inflater = createInflateRaw({ chunkSize: options.chunkSize ?? 256 * 1024 });
  let crc = 0;
  let size = 0;
  inflater.on('data', (chunk: Buffer) => {
    crc = crc32(chunk, crc);
    size += chunk.length;
    options.onRaw(chunk);
  });
  let ended = false;
  const finished = new Promise<(Error & { code?: string }) | undefined>((resolve) => {
    inflater.once('end', () => {
      ended = true;
      resolve(undefined);
    });
    inflater.once('error', (error: Error) => {
      ended = true;
      resolve(error);
    });
  });
  // Written, not yet known consumed: [chunk, its offset in the member's deflate data].
  const unsure: [Buffer, number][] = [];
  let written = 0;
  const settle = (consumed: number): void => {
    for (let first = unsure[0]; first && first[1] + first[0].length <= consumed; first = unsure[0]) {
      options.onStored(first[0]);
      unsure.shift();
    }
  };
  try {
    while (!ended) {
      const chunk = await bytes.chunk();
      if (ended) {
        if (chunk) bytes.giveBack(chunk);
        break;
      }
      if (!chunk) {
        inflater.end();
        break;
      }
      unsure.push([chunk, written]);
      written += chunk.length;
      const more = inflater.write(chunk);
      settle(inflater.bytesWritten);
      if (!more) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            inflater.off('drain', done);
            resolve();
          };
          inflater.on('drain', done);
          void finished.then(done);
        });
      }
    }
    const failure = await finished;
    if (failure) {
      if (failure.code === 'Z_BUF_ERROR') return { ok: false, reason: TRUNCATED };
      return { ok: false, reason: failure.code === 'Z_DATA_ERROR' ? corrupt(failure.message) : `gzip: ${failure.message}` };
    }
    // The deflate stream ended: what the inflater did not take is the trailer and on.
    const consumed = inflater.bytesWritten;
    settle(consumed);
    const partial = unsure.shift();
    if (partial) {
      const used = consumed - partial[1];
      options.onStored(partial[0].subarray(0, used));
      for (const [chunk] of unsure.reverse()) bytes.giveBack(chunk);
      bytes.giveBack(partial[0].subarray(used));
    }
    return { ok: true, value: { crc: crc >>> 0, size } };
  } finally {
    inflater.destroy();
  }
};

/**
 * Gunzips `source` member by member (see the module's comment), calling `onMemberEnd` after each
 * sound member; stops at the first fault with its reason. After the last member, bytes that do not
 * start another member are trailing garbage, counted to the end.
 */
export const gunzipMembers = async (source: AsyncIterable<Uint8Array>, options: GunzipMembersOptions): Promise<GunzipMembersResult> => {
  const bytes = new ByteSource(source[Symbol.asyncIterator]());
  let consumed = 0;
  const stored = (chunk: Buffer): void => {
    consumed += chunk.length;
    if (chunk.length > 0) options.onStored(chunk);
  };
  const base = options.start ?? { index: 0, storedOffset: 0 };
  let index = base.index;
  const result = (extra: Partial<GunzipMembersResult>): GunzipMembersResult => ({ consumed, members: index - base.index, ...extra });
  for (;;) {
    const first = await bytes.chunk();
    if (!first) return index === 0 ? result({ reason: TRUNCATED }) : result({});
    bytes.giveBack(first);
    // After a member, a zero byte ends the stream (zlib's gunzip stops quietly there, and what is
    // left is garbage); anything else must be the next member's header.
    if (index > 0 && first[0] === 0x00) {
      let rest = 0;
      for (let chunk = await bytes.chunk(); chunk; chunk = await bytes.chunk()) {
        rest += chunk.length;
        stored(chunk);
      }
      return result({ reason: garbage(rest) });
    }
    const header = await readHeader(bytes, stored);
    if (!header.ok) return result({ reason: header.reason });
    const inflated = await inflateMember(bytes, { ...options, onStored: stored });
    if (!inflated.ok) return result({ reason: inflated.reason });
    const trailer = await bytes.take(8);
    stored(trailer);
    if (trailer.length < 8) return result({ reason: TRUNCATED });
    if (trailer.readUInt32LE(0) !== inflated.value.crc) return result({ reason: CRC_MISMATCH });
    if (trailer.readUInt32LE(4) !== inflated.value.size % 2 ** 32) return result({ reason: SIZE_MISMATCH });
    index++;
    const end = { index, storedOffset: base.storedOffset + consumed };
    if (options.onMemberEnd?.(end)) {
      // Only stop where something follows: a stop after the last member would resume at nothing.
      const next = await bytes.chunk();
      if (next) {
        bytes.giveBack(next);
        return result({ stoppedAt: end });
      }
      return result({});
    }
  }
};
