import { describe, expect, it } from 'vitest';
import { partBytesFor, S3_MAX_PARTS } from '../../../core/streams.js';

const MIB = 1024 ** 2;
const GB = 1e9;

describe('partBytesFor: the part size of a streamed upload from its expected size', () => {
  it('keeps 8 MiB parts (low memory) for what fits in 9,000 of them', () => {
    expect(partBytesFor(0)).toBe(8 * MIB);
    expect(partBytesFor(1 * GB)).toBe(8 * MIB);
    expect(partBytesFor(9000 * 8 * MIB)).toBe(8 * MIB);
  });

  it('grows the parts with the object so that a 500 GB dump — and 2 TB — stays within S3’s 10,000 parts, a tenth spare', () => {
    for (const size of [100 * GB, 500 * GB, 2000 * GB]) {
      const part = partBytesFor(size);
      expect(part % MIB, `${size}`).toBe(0);
      expect(Math.ceil(size / part), `${size}`).toBeLessThanOrEqual(S3_MAX_PARTS * 0.9);
      // An object 10 % larger than expected still fits.
      expect(Math.ceil((size * 1.1) / part), `${size}`).toBeLessThanOrEqual(S3_MAX_PARTS);
    }
    expect(partBytesFor(500 * GB)).toBe(53 * MIB);
  });

  it('never exceeds S3’s 5 GiB part', () => {
    expect(partBytesFor(100e12)).toBe(5 * 1024 * MIB);
  });
});
