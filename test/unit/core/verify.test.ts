import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { verifyStream, type Verification } from '../../../core/verify.js';
import { selectCompressor } from '../../../shipper/lib/compress.js';
import { sealedGzip } from '../../../shipper/lib/gzip.js';
import { REAL_BINLOGS, REAL_DUMPS } from '../../helpers/fixtures.js';

async function* chunks(data: Buffer, size = 4096): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Gzips as the shipper does: parallel members with a header CRC, then the seal. */
const shipGzip = async (raw: Buffer, memberBytes = 16 * 1024): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const member of sealedGzip(chunks(raw), { memberBytes })) parts.push(member);
  return Buffer.concat(parts);
};

/** Gzips as the shipper does where ISA-L is installed: one igzip member with a header CRC, then the seal. */
const shipIgzip = async (raw: Buffer): Promise<Buffer> => {
  const compressor = await selectCompressor({ compressor: 'igzip', maxCores: 1 });
  const parts: Buffer[] = [];
  for await (const member of sealedGzip(chunks(raw), { compressor })) parts.push(member);
  return Buffer.concat(parts);
};

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const verify = (bytes: Buffer, metadata?: Record<string, string>): Promise<Verification> =>
  verifyStream({ file: 'test', body: chunks(bytes), ...(metadata ? { metadata } : {}) });

const binlogs = readdirSync(REAL_BINLOGS).filter((n) => /\.\d+$/.test(n));
const dumps = readdirSync(REAL_DUMPS).filter((n) => /\.sql(\.gz)?$/.test(n));
const soundBinlogs = binlogs.filter((n) => !n.includes('truncated'));

describe('verifyStream', () => {
  it('finds every real binlog and dump sound, raw and gzipped as shipped, with the shipper’s sha256: zero false alarms', async () => {
    for (const name of [...soundBinlogs, ...dumps]) {
      const stored = readFileSync(`${name.endsWith('.sql') || name.endsWith('.sql.gz') ? REAL_DUMPS : REAL_BINLOGS}${name}`);
      const raw = name.endsWith('.gz') ? (await import('node:zlib')).gunzipSync(stored) : stored;
      const metadata = { sha256: sha256(raw), 'raw-size': String(raw.length) };
      for (const bytes of [stored, await shipGzip(raw), await shipIgzip(raw), gzipSync(raw)]) {
        const verdict = await verify(bytes, metadata);
        expect(verdict.reasons, name).toEqual([]);
        expect(verdict).toMatchObject({ status: 'ok', sha256Match: true, kind: name.includes('.sql') ? 'dump' : 'binlog' });
      }
    }
  });

  describe('corruption', () => {
    const raw = readFileSync(`${REAL_BINLOGS}mysql57-row-crc32-rotate.000001`);
    const metadata = { sha256: sha256(raw), 'raw-size': String(raw.length), kind: 'binlog', 'shipper-version': '0.1.0' };

    it('detects a single-bit flip at every byte of a shipped gzip object (header, data, trailer of every member)', async () => {
      for (const gz of [await shipGzip(raw, 4096), await shipIgzip(raw)]) {
        const missed: number[] = [];
        for (let byte = 0; byte < gz.length; byte++) {
          const bit = byte % 8;
          const flipped = Buffer.from(gz);
          flipped[byte] = (flipped[byte] ?? 0) ^ (1 << bit);
          const verdict = await verify(flipped, metadata);
          if (verdict.status !== 'failed') missed.push(byte);
        }
        expect(missed).toEqual([]);
      }
    });

    it('detects a single-bit flip at every byte of CRC32 binlogs, raw and without metadata (but the in-use flag, which servers flip themselves)', async () => {
      for (const name of ['mysql80-gtidchain-row-crc32-rotate.000001', 'mariadb118-empty-crc32-stop.000001', 'mysql96-tagged-gtid-crc32-rotate.000001', 'percona56-row-crc32-rotate.003320']) {
        const file = readFileSync(`${REAL_BINLOGS}${name}`);
        const missed: string[] = [];
        for (let byte = 0; byte < file.length; byte++) {
          for (const bit of [byte % 8, (byte + 3) % 8]) {
            // Byte 21 holds the FDE's LOG_EVENT_BINLOG_IN_USE_F: by design outside its CRC.
            if (byte === 4 + 17 && bit === 0) continue;
            const flipped = Buffer.from(file);
            flipped[byte] = (flipped[byte] ?? 0) ^ (1 << bit);
            if ((await verify(flipped)).status !== 'failed') missed.push(`${byte}:${bit}`);
          }
        }
        expect(missed, name).toEqual([]);
      }
    });

    it('detects truncation anywhere', async () => {
      for (const gz of [await shipGzip(raw, 4096), await shipIgzip(raw)]) {
        for (const cut of [1, 5, 11, gz.length >> 1, gz.length - 9, gz.length - 1]) {
          const verdict = await verify(gz.subarray(0, cut), metadata);
          expect(verdict.status, `cut at ${cut}`).toBe('failed');
        }
      }
      for (const cut of [3, 19, 200, raw.length - 1]) {
        expect((await verify(raw.subarray(0, cut))).status, `raw cut at ${cut}`).toBe('failed');
      }
    });

    it('detects trailing garbage and trailing zeros after the last gzip member', async () => {
      const gz = await shipGzip(raw, 4096);
      const garbage = await verify(Buffer.concat([gz, Buffer.from('junk after the end')]), metadata);
      expect(garbage.reasons).toEqual(['gzip: trailing garbage or a corrupt member header after a gzip member']);
      const zeros = await verify(Buffer.concat([gz, Buffer.alloc(512)]), metadata);
      expect(zeros.reasons).toEqual(['gzip: 512 bytes of trailing garbage after the last gzip member']);
    });

    it('detects a dump without its trailer', async () => {
      const dump = readFileSync(`${REAL_DUMPS}mysql80-master-data2-commented-single-db.sql`);
      const cut = dump.subarray(0, dump.lastIndexOf('-- Dump completed'));
      const verdict = await verify(await shipGzip(cut), { sha256: sha256(cut) });
      expect(verdict.reasons).toEqual(['the dump has no "-- Dump completed" trailer: it was cut short']);
    });

    it('detects an object swapped for another’s content', async () => {
      const other = readFileSync(`${REAL_BINLOGS}mysql57-row-nochecksum-stop.000001`);
      const verdict = await verify(await shipGzip(other), metadata);
      expect(verdict.status).toBe('failed');
      expect(verdict.reasons[0]).toMatch(/^sha256 of the content [0-9a-f]{64} differs from the shipper's [0-9a-f]{64}: not the bytes that were shipped$/);
    });

    it('says an empty object is empty', async () => {
      expect((await verify(Buffer.alloc(0))).reasons).toEqual(['empty: the object holds no data']);
    });
  });
});
