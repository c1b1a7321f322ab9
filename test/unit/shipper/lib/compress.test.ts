import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../core/config.js';
import { verifyStream } from '../../../../core/verify.js';
import { CompressorError, onPath, selectCompressor, type Compressor } from '../../../../shipper/lib/compress.js';
import { sealedGzip, SourceChangedError, type RawSource, type SealedGzipOptions } from '../../../../shipper/lib/gzip.js';
import { fakeIgzip } from '../../../helpers/compressor.js';

async function* chunks(data: Buffer, size = 65_536): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const collect = async (source: AsyncIterable<Buffer>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
};

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Every gzip member's FLG byte, walking the stream member by member (raw inflate says where each deflate stream ends). */
const memberFlags = (gz: Buffer): number[] => {
  const flags: number[] = [];
  let at = 0;
  while (at < gz.length) {
    const flg = gz[at + 3] ?? 0;
    flags.push(flg);
    let header = 10;
    if (flg & 0x04) header += 2 + gz.readUInt16LE(at + 10);
    if (flg & 0x02) header += 2;
    const { engine } = inflateRawSync(gz.subarray(at + header), { info: true }) as unknown as { engine: { bytesWritten: number } };
    at += header + engine.bytesWritten + 8;
  }
  return flags;
};

const igzip = onPath('igzip', '/usr/bin:/bin');
const igzipCompressor = async (): Promise<Compressor> => {
  if (!igzip) throw new Error('igzip is not installed here: apt-get install isal (.ci/run does)');
  return selectCompressor({ compressor: 'igzip', maxCores: 1 });
};

const path = process.env.PATH;
afterEach(() => {
  process.env.PATH = path;
});

describe('the shipping settings (core/config.ts)', () => {
  const DEFAULTS = { hostname: 'db1', home: '/root', stateDir: '/var/lib/binvault', cores: 8 };

  it('defaults to auto, half the cores (at least one) and nice 10', () => {
    expect(parseConfig({}, DEFAULTS).shipping).toMatchObject({ compressor: 'auto', maxCores: 4, nice: 10 });
    expect(parseConfig({}, { ...DEFAULTS, cores: 1 }).shipping.maxCores).toBe(1);
  });

  it('names what is wrong', () => {
    const of = (values: Record<string, string>) => () => parseConfig(values, DEFAULTS);
    expect(of({ BINVAULT_COMPRESSOR: 'pigz' })).toThrow("BINVAULT_COMPRESSOR 'pigz' is not one of auto, zlib, igzip");
    expect(of({ BINVAULT_MAX_CORES: '0' })).toThrow("BINVAULT_MAX_CORES '0' is not a whole number from 1 to 1024");
    expect(of({ BINVAULT_MAX_CORES: '1.5' })).toThrow('BINVAULT_MAX_CORES');
    expect(of({ BINVAULT_NICE: '20' })).toThrow("BINVAULT_NICE '20' is not a whole number from 0 to 19");
    expect(parseConfig({ BINVAULT_COMPRESSOR: 'zlib', BINVAULT_MAX_CORES: '3', BINVAULT_NICE: '0' }, DEFAULTS).shipping).toMatchObject({ compressor: 'zlib', maxCores: 3, nice: 0 });
  });
});

describe('selectCompressor', () => {
  it('takes igzip when it is on PATH, and says which', async () => {
    process.env.PATH = '/usr/bin:/bin';
    const chosen = await selectCompressor({ compressor: 'auto', maxCores: 2 });
    expect(chosen).toMatchObject({ name: 'igzip', path: '/usr/bin/igzip', threads: 1 });
    expect(chosen.description).toMatch(/^igzip \d+\.\d+\.\d+ \(\/usr\/bin\/igzip\), 1 process$/);
  });

  it('falls back to zlib on up to maxCores threads where there is no igzip', async () => {
    process.env.PATH = await mkdtemp(join(tmpdir(), 'binvault-empty-path-'));
    expect(await selectCompressor({ compressor: 'auto', maxCores: 3 })).toMatchObject({ name: 'zlib', threads: 3 });
    expect(await selectCompressor({ compressor: 'zlib', maxCores: 1 })).toMatchObject({ name: 'zlib', threads: 1 });
  });

  it('refuses a forced igzip that is not there, in one line that says how to install it', async () => {
    process.env.PATH = await mkdtemp(join(tmpdir(), 'binvault-empty-path-'));
    const forced = selectCompressor({ compressor: 'igzip', maxCores: 1 });
    await expect(forced).rejects.toThrow(CompressorError);
    await expect(forced).rejects.toThrow(/^BINVAULT_COMPRESSOR=igzip, but there is no igzip on PATH \(Debian\/Ubuntu: apt-get install isal; .*\)$/);
  });

  it('an igzip that cannot run: auto falls back to zlib and says why, forced is an error', async () => {
    process.env.PATH = `${await fakeIgzip('broken')}:/usr/bin:/bin`;
    const auto = await selectCompressor({ compressor: 'auto', maxCores: 1 });
    expect(auto.name).toBe('zlib');
    expect(auto.fallback).toMatch(/^igzip at .*\/igzip does not run \(igzip: error while loading shared libraries: libisal\.so\.2/);
    await expect(selectCompressor({ compressor: 'igzip', maxCores: 1 })).rejects.toThrow(/^igzip at .*\/igzip does not run/);
  });
});

describe('sealedGzip', () => {
  // Half random, half repetitive, and not a multiple of any block size.
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(3 << 20, 'INSERT INTO t VALUES (1);\n'), randomBytes(1234)]);

  const seal = async (source: RawSource, options: SealedGzipOptions): Promise<Buffer> => collect(sealedGzip(source, options));

  for (const name of ['igzip', 'zlib'] as const) {
    describe(`with ${name}`, () => {
      const compressor = async (): Promise<Compressor> => (name === 'igzip' ? igzipCompressor() : selectCompressor({ compressor: 'zlib', maxCores: 2 }));

      it('writes one gzip stream that round-trips, carries FHCRC on every member and the seal, and verifies', async () => {
        const gz = await seal(chunks(data), { compressor: await compressor() });
        expect(gunzipSync(gz).equals(data)).toBe(true);
        const flags = memberFlags(gz);
        expect(flags.length).toBeGreaterThanOrEqual(2);
        for (const flag of flags) expect(flag & 0x02).toBe(0x02);
        const file = join(await mkdtemp(join(tmpdir(), 'binvault-gz-')), 'x.gz');
        await writeFile(file, gz);
        execFileSync('gzip', ['-t', file]);
        const verdict = await verifyStream({ file, body: chunks(gz), metadata: { sha256: sha256(data), 'raw-size': String(data.length), 'shipper-version': 'test' }, expectedKind: 'dump' });
        expect(verdict.seal).toEqual({ rawSize: data.length, rawSha256: sha256(data), compressedSha256: sha256(gz.subarray(0, gz.length - 101)) });
        expect(verdict.sha256Match).toBe(true);
        // Random bytes are no dump: that is the only complaint.
        expect(verdict.reasons).toEqual(['not a dump: no "-- MySQL dump" or "-- MariaDB dump" header']);
      });

      it('compresses a file whose hash is known without hashing it again, and refuses one that changed', async () => {
        const file = join(await mkdtemp(join(tmpdir(), 'binvault-raw-')), 'binlog.000001');
        await writeFile(file, data);
        const knownRaw = { sha256: sha256(data), size: data.length, crc32: crc32(data) };
        let sealed: { rawCrc32?: number; rawSha256: string } | undefined;
        const gz = await seal({ path: file }, { compressor: await compressor(), knownRaw, onSeal: (s) => (sealed = s) });
        expect(gunzipSync(gz).equals(data)).toBe(true);
        expect(sealed).toMatchObject({ rawCrc32: crc32(data), rawSha256: sha256(data) });

        const changed = seal({ path: file }, { compressor: await compressor(), knownRaw: { ...knownRaw, crc32: knownRaw.crc32 ^ 1 } });
        await expect(changed).rejects.toThrow(SourceChangedError);
        await expect(seal({ path: file }, { compressor: await compressor(), knownRaw: { ...knownRaw, size: data.length + 1 } })).rejects.toThrow(
          /^the raw bytes changed between two reads/,
        );
      });

      it('makes a valid empty stream from an empty input', async () => {
        const gz = await seal(chunks(Buffer.alloc(0)), { compressor: await compressor() });
        expect(gunzipSync(gz).length).toBe(0);
        const verdict = await verifyStream({ file: 'empty', body: chunks(gz) });
        expect(verdict.seal?.rawSize).toBe(0);
        expect(verdict.reasons).toEqual(['empty: the object holds no data']);
      });
    });
  }

  describe('a compressor that fails', () => {
    it('dies mid-stream: the stream ends with one clear error and never reaches the seal', async () => {
      process.env.PATH = `${await fakeIgzip('dies')}:/usr/bin:/bin`;
      const compressor = await selectCompressor({ compressor: 'igzip', maxCores: 1 });
      let sealed = false;
      const stream = seal(chunks(data), { compressor, onSeal: () => (sealed = true) });
      await expect(stream).rejects.toThrow(CompressorError);
      await expect(seal(chunks(data), { compressor })).rejects.toThrow(/^.*\/igzip was killed by SIGKILL; nothing was stored$/);
      expect(sealed).toBe(false);
    });

    it('exits non-zero: its own last line is in the error', async () => {
      process.env.PATH = `${await fakeIgzip('fails')}:/usr/bin:/bin`;
      const compressor = await selectCompressor({ compressor: 'igzip', maxCores: 1 });
      await expect(seal(chunks(data), { compressor })).rejects.toThrow(
        /^.*\/igzip exited with code 2: igzip: cannot allocate the compression state; nothing was stored$/,
      );
    });

    it('is killed when the stream is aborted', async () => {
      const controller = new AbortController();
      async function* slow(): AsyncGenerator<Buffer> {
        yield data.subarray(0, 1 << 20);
        controller.abort(new Error('stopped by SIGTERM'));
        await new Promise((r) => setTimeout(r, 50));
        yield data.subarray(1 << 20);
      }
      await expect(seal(slow(), { compressor: await igzipCompressor(), signal: controller.signal })).rejects.toThrow('stopped by SIGTERM');
    });
  });
});
