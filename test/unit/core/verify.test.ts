import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { kindFromName, verificationJson, verifyStream, type Verification } from '../../../core/verify.js';
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

const verify = (bytes: Buffer, metadata?: Record<string, string>, file = 'test'): Promise<Verification> =>
  verifyStream({ file, body: chunks(bytes), ...(metadata ? { metadata } : {}) });

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

describe('verifyStream on a file that is not what its name says', () => {
  const raw = readFileSync(`${REAL_BINLOGS}mysql57-row-crc32-rotate.000001`);
  // What a text-mode copy (or any UTF-8 decode and re-encode) does to a binlog: every byte that is
  // not valid UTF-8, the magic's 0xfe first, becomes U+FFFD, ef bf bd.
  const textCopied = Buffer.from(raw.toString('utf8'));
  const mangled =
    'not a binlog: bad magic ef bf bd 62 69 6e ef bf ("...bin..") where a binlog starts with fe 62 69 6e; ' +
    'U+FFFD in place of the 0xfe byte: the file went through a text-mode copy or a UTF-8 conversion';

  it('says a binlog-named file whose magic a text-mode copy mangled is not a binlog, and what its first bytes are', async () => {
    const verdict = await verify(textCopied, undefined, '/var/backups/mysql-bin.000042');
    expect(verdict).toMatchObject({ kind: 'binlog', status: 'failed', reasons: [mangled], reasonCount: 1 });
  });

  it('knows the mangled magic without a binlog name too, and gzipped', async () => {
    expect((await verify(textCopied, undefined, 'copy-from-windows')).reasons).toEqual([mangled]);
    expect((await verify(gzipSync(textCopied), undefined, 'copy-from-windows.gz')).reasons).toEqual([mangled]);
  });

  it('says a dump stored under a binlog name is the start of a dump', async () => {
    const dump = readFileSync(`${REAL_DUMPS}mysql80-master-data2-commented-single-db.sql`);
    const verdict = await verify(dump, undefined, 's3://bucket/mysql/db1/binlogs/2026-11-20/binlog.000123.gz');
    expect(verdict.kind).toBe('binlog');
    expect(verdict.reasons).toEqual([
      'not a binlog: bad magic 2d 2d 20 4d 79 53 51 4c ("-- MySQL") where a binlog starts with fe 62 69 6e; the start of a dump or an SQL script, not of a binlog',
    ]);
  });

  it('tells binlog and dump names apart', () => {
    expect(kindFromName('s3://b/mysql/db1/binlogs/2026-11-20/binlog.000123.gz')).toBe('binlog');
    expect(kindFromName('mysql/db1/binlogs/2026-11-21/binlog.000001~20261121T001500Z.gz')).toBe('binlog');
    expect(kindFromName('mysql51-mixed-nochecksum-loaddata-stop.001')).toBe('binlog');
    expect(kindFromName('db1-20261120T150000Z.sql.gz')).toBe('dump');
    expect(kindFromName('notes.txt')).toBeUndefined();
  });
});

describe('verifyStream on a badly damaged binlog', () => {
  // 14,137 events; one byte changed in the body of every event after the FDE: every CRC32 fails.
  const raw = readFileSync(`${REAL_BINLOGS}mysql80-row-crc32-large-stop.000001`);
  const damaged = Buffer.from(raw);
  let events = 0;
  for (let position = 4 + raw.readUInt32LE(4 + 9); position < raw.length; position += raw.readUInt32LE(position + 9)) {
    const at = position + 19;
    damaged[at] = (damaged[at] ?? 0) ^ 0x01;
    events++;
  }

  it('lists the first 100 reasons and counts them all, in the verdict and its JSON line', async () => {
    const verdict = await verify(damaged);
    expect(verdict.reasons).toHaveLength(100);
    expect(verdict.reasons[0]).toBe(`CRC32 mismatch in PREVIOUS_GTIDS event at ${4 + raw.readUInt32LE(4 + 9)}`);
    expect(verdict.reasonCount).toBe(events);
    expect(verificationJson(verdict)).toMatchObject({ status: 'failed', reasonCount: events });
    expect(events).toBe(14_136);
  });
});
