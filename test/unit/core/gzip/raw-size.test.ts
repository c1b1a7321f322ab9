import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeSeal, rawSizeOf } from '../../../../core/gzip/seal.js';
import { MemoryStore } from '../../../helpers/memory-store.js';

describe('the raw size of a stored object', () => {
  const raw = Buffer.alloc(300_000, 'x');
  const sealed = Buffer.concat([gzipSync(raw), makeSeal({ rawSize: raw.length, rawSha256: 'a'.repeat(64), compressedSha256: 'b'.repeat(64) })]);

  it('is its raw-size metadata when it has one (a binlog, a dump that fit one PUT)', async () => {
    const store = new MemoryStore();
    await store.put('k', sealed, { metadata: { 'raw-size': '12345' } });
    expect(await rawSizeOf(store, 'k')).toBe(12345);
  });

  it('is its seal’s when the metadata has none (a dump of many parts), read with one ranged GET of its end', async () => {
    const store = new MemoryStore();
    await store.put('k', sealed, { metadata: { kind: 'dump' } });
    const gets = store.requests.get;
    expect(await rawSizeOf(store, 'k')).toBe(300_000);
    expect(store.requests.get - gets).toBe(1);
  });

  it('is unknown for an object with neither, and for none at all', async () => {
    const store = new MemoryStore();
    await store.put('k', gzipSync(raw));
    expect(await rawSizeOf(store, 'k')).toBeUndefined();
    expect(await rawSizeOf(store, 'gone')).toBeUndefined();
  });
});
