import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipMembers } from '../../../../core/gzip/members.js';
import { verifyStream } from '../../../../core/verify.js';
import { selectCompressor } from '../../../../shipper/lib/compress.js';
import { gzipMembers, sealedGzip } from '../../../../shipper/lib/gzip.js';

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

describe('sealedGzip with igzip', () => {
  const data = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(1 << 20, '-- a dump line\n')]);

  it('starts a new member (a new igzip process) every igzipMemberBytes raw bytes: one stream gzip -t accepts, that verifies', async () => {
    const compressor = await selectCompressor({ compressor: 'igzip', maxCores: 1 });
    const gz = await collect(sealedGzip(chunks(data, 100_000), { compressor, igzipMemberBytes: 256 * 1024 }));

    const path = join(await mkdtemp(join(tmpdir(), 'binvault-gz-')), 'x.gz');
    await writeFile(path, gz);
    execFileSync('gzip', ['-t', path]);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    const read = await gunzipMembers(chunks(gz, 65_536), { onRaw: () => undefined, onStored: () => undefined });
    // 8 of 256 KiB, and the seal.
    expect(read).toMatchObject({ members: 9, consumed: gz.length });
    expect(read.reason).toBeUndefined();
    const verdict = await verifyStream({ file: 'x.sql.gz', body: chunks(gz, 65_536), metadata: { sha256: createHash('sha256').update(data).digest('hex') } });
    expect(verdict).toMatchObject({ sha256Match: true, seal: { rawSize: data.length } });
  });

  it('keeps one member per object by default (a GiB), and for an empty input makes a valid stream', async () => {
    const compressor = await selectCompressor({ compressor: 'igzip', maxCores: 1 });
    const one = await collect(sealedGzip(chunks(data, 100_000), { compressor }));
    expect((await gunzipMembers(chunks(one, 65_536), { onRaw: () => undefined, onStored: () => undefined })).members).toBe(2);
    const empty = await collect(sealedGzip(chunks(Buffer.alloc(0), 1), { compressor, igzipMemberBytes: 1024 }));
    expect(gunzipSync(empty).length).toBe(0);
  });
});
