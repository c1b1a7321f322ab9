/** Regroups a stream of small chunks into buffers of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (pendingBytes + buf.length >= size) {
      const take = size - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending, size);
      buf = buf.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (buf.length > 0) {
      pending.push(Buffer.from(buf));
      pendingBytes += buf.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** S3's multipart limits: 10,000 parts of 5 MiB to 5 GiB each. */
export const S3_MAX_PARTS = 10_000;
const MIB = 1024 * 1024;
const MIN_PART = 8 * MIB;
const MAX_PART = 5 * 1024 * MIB;

/**
 * The part size for a streamed upload of about `expectedBytes`: 8 MiB (memory kept low: a part per
 * upload in flight, two at once), larger as the object is, so that it fits in 9,000 parts — a
 * tenth spare for an estimate that falls short. Whole MiB, at most S3's 5 GiB.
 *
 * @example partBytesFor(500e9) // 53 MiB: a 500 GB object in about 9,000 parts
 */
export const partBytesFor = (expectedBytes: number): number => {
  const needed = Math.ceil(Math.max(0, expectedBytes) / (S3_MAX_PARTS * 0.9) / MIB) * MIB;
  return Math.min(MAX_PART, Math.max(MIN_PART, needed));
};
