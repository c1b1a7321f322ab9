import { describe, expect, it } from 'vitest';
import { sizeRestoreInstance } from '../../../../core/restore/sizing.js';

const GiB = 1024 ** 3;

describe('sizeRestoreInstance', () => {
  it('gives a small restore the smallest instance and the 30 GiB floor', () => {
    expect(sizeRestoreInstance({ dump: { size: 100 * 1024 ** 2 }, bytes: 150 * 1024 ** 2 })).toEqual({ instanceType: 'm7i.large', volumeGiB: 30 });
  });

  it('sizes the volume from the dump’s raw size twice, the binlogs once, and 20 % headroom', () => {
    // 50 GiB stored dump → 150 GiB raw; 10 GiB stored binlogs → 30 GiB raw.
    const sized = sizeRestoreInstance({ dump: { size: 50 * GiB }, bytes: 60 * GiB });
    expect(sized.volumeGiB).toBe(Math.ceil(10 + (2 * 150 + 30) * 1.2));
    expect(sized.instanceType).toBe('m7i.xlarge');
  });

  it('takes a larger instance for a large dump', () => {
    expect(sizeRestoreInstance({ dump: { size: 400 * GiB }, bytes: 400 * GiB }).instanceType).toBe('m7i.4xlarge');
  });
});
