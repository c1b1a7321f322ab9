import { crc32 } from 'node:zlib';
import type { ObjectStore } from '../ports.js';

/**
 * binvault's seal: one last, empty gzip member whose header (FEXTRA, subfield `BV`) states the
 * sha256 of every compressed byte before it, and the sha256 and size of the raw content. Every
 * gunzip and `gzip -t` read it as an empty member; binvault's verifier checks it, so a flipped bit
 * anywhere in a stored object is seen — also the ones deflate itself cannot notice (padding bits,
 * unused Huffman code lengths) — and a streamed object carries its own raw sha256.
 *
 * Layout (101 bytes): 1f 8b 08 FLG=06 (FEXTRA|FHCRC) MTIME=0 XFL=0 OS=ff, XLEN=77,
 * `B` `V` LEN=73 [version=1, raw size u64, raw sha256, compressed sha256], CRC16 of the header,
 * an empty final deflate block (03 00), CRC32=0, ISIZE=0.
 */
export interface Seal {
  rawSize: number;
  rawSha256: string;
  compressedSha256: string;
}

export const SEAL_BYTES = 101;
const PAYLOAD = 73;

export const makeSeal = (seal: Seal): Buffer => {
  const out = Buffer.alloc(SEAL_BYTES);
  Buffer.from([0x1f, 0x8b, 0x08, 0x06, 0, 0, 0, 0, 0, 0xff]).copy(out, 0);
  out.writeUInt16LE(4 + PAYLOAD, 10);
  out.write('BV', 12, 'latin1');
  out.writeUInt16LE(PAYLOAD, 14);
  out.writeUInt8(1, 16);
  out.writeBigUInt64LE(BigInt(seal.rawSize), 17);
  Buffer.from(seal.rawSha256, 'hex').copy(out, 25);
  Buffer.from(seal.compressedSha256, 'hex').copy(out, 57);
  out.writeUInt16LE(crc32(out.subarray(0, 89)) & 0xffff, 89);
  out[91] = 0x03; // BFINAL=1, BTYPE=01 (fixed Huffman), end-of-block: an empty block
  out[92] = 0x00;
  return out; // CRC32 and ISIZE of nothing: eight zero bytes, already there
};

/** The seal in the last SEAL_BYTES of an object, or undefined when there is none (or it is damaged). */
export const readSeal = (tail: Buffer): Seal | undefined => {
  if (tail.length !== SEAL_BYTES) return undefined;
  const expected = makeSeal({ rawSize: 0, rawSha256: '0'.repeat(64), compressedSha256: '0'.repeat(64) });
  const same = (from: number, to: number): boolean => tail.subarray(from, to).equals(expected.subarray(from, to));
  if (!same(0, 17) || !same(91, SEAL_BYTES)) return undefined;
  if ((crc32(tail.subarray(0, 89)) & 0xffff) !== tail.readUInt16LE(89)) return undefined;
  return {
    rawSize: Number(tail.readBigUInt64LE(17)),
    rawSha256: tail.subarray(25, 57).toString('hex'),
    compressedSha256: tail.subarray(57, 89).toString('hex'),
  };
};

/**
 * The raw size of a stored object: its `raw-size` metadata, else what its seal states (one ranged
 * GET of the last {@link SEAL_BYTES}): a dump larger than one part is created before its size is
 * known, and only its seal carries it. Undefined when the object is gone or neither tells.
 */
export const rawSizeOf = async (store: Pick<ObjectStore, 'head' | 'get'>, key: string): Promise<number | undefined> => {
  const head = await store.head(key);
  if (!head) return undefined;
  const stated = Number(head.metadata['raw-size'] ?? 0);
  if (stated > 0) return stated;
  if (head.size < SEAL_BYTES) return undefined;
  const tail: Buffer[] = [];
  for await (const chunk of await store.get(key, { from: head.size - SEAL_BYTES, ...(head.etag ? { ifMatch: head.etag } : {}) })) tail.push(Buffer.from(chunk));
  return readSeal(Buffer.concat(tail))?.rawSize;
};
