import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipMembers } from '../../../../shipper/lib/gzip.js';

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const collect = async (source: AsyncIterable<Buffer>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
};

describe('gzipMembers', () => {
  // Half random, half repetitive: members of both kinds, in an order that must be kept.
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(3 << 20, 'binlog event '), randomBytes(1234)]);

  it('round-trips through gunzip in order, whatever the member size and concurrency', async () => {
    for (const [memberBytes, concurrency] of [
      [1 << 20, 4],
      [4096, 2],
      [64 << 20, 1],
    ] as const) {
      const seen: number[] = [];
      const gz = await collect(gzipMembers(chunks(data, 65_536), { memberBytes, concurrency, onRaw: (b) => seen.push(b.length) }));
      expect(gunzipSync(gz).equals(data)).toBe(true);
      expect(seen.reduce((a, b) => a + b, 0)).toBe(data.length);
    }
  });

  it('is one stream that gzip -t accepts and zcat restores', async () => {
    const gz = await collect(gzipMembers(chunks(data, 100_000), { memberBytes: 1 << 20 }));
    const path = join(await mkdtemp(join(tmpdir(), 'binvault-gz-')), 'x.gz');
    await writeFile(path, gz);
    execFileSync('gzip', ['-t', path]);
    const restored = execFileSync('zcat', [path], { maxBuffer: 64 << 20 });
    expect(createHash('sha256').update(restored).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('makes a valid empty stream from an empty input', async () => {
    const gz = await collect(gzipMembers(chunks(Buffer.alloc(0), 10)));
    expect(gunzipSync(gz).length).toBe(0);
  });
});
