import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DumpVerifier, type DumpFacts } from '../../../../core/dump/verify.js';
import { REAL_DUMPS } from '../../../helpers/fixtures.js';

interface Expected {
  tool: string;
  toolVersion: string;
  serverVersion: string;
  binlogFile: string | null;
  binlogPosition: number | null;
  coordinatesCommented: boolean | null;
  gtids: string | null;
  gtidsCommented: boolean | null;
  databases: string[];
  headerDatabase: string;
  complete: boolean;
  completedAt: string;
}

const expected = JSON.parse(readFileSync(`${REAL_DUMPS}expected.json`, 'utf8')) as Record<string, Expected>;

const scan = (bytes: Buffer, chunk: number): DumpFacts => {
  const verifier = new DumpVerifier();
  for (let i = 0; i < bytes.length; i += chunk) verifier.update(bytes.subarray(i, i + chunk));
  return verifier.finish();
};

describe('DumpVerifier on real dumps of mysqldump and mariadb-dump (MySQL 5.6–8.4, Percona, MariaDB 5.5–11.8)', () => {
  describe.each(Object.keys(expected))('%s', (name) => {
    const want = expected[name] as Expected;
    const stored = readFileSync(`${REAL_DUMPS}${name}`);
    const bytes = name.endsWith('.gz') ? gunzipSync(stored) : stored;

    it('reads tool, server, coordinates, GTIDs, databases and the trailer as expected', () => {
      const facts = scan(bytes, 65_536);
      expect(facts).toMatchObject({
        tool: want.tool,
        toolVersion: want.toolVersion,
        serverVersion: want.serverVersion,
        databases: want.databases,
        headerDatabase: want.headerDatabase,
        complete: want.complete,
        completedAt: want.completedAt,
      });
      expect(facts.binlogFile ?? null).toBe(want.binlogFile);
      expect(facts.binlogPosition ?? null).toBe(want.binlogPosition);
      expect(facts.coordinatesCommented ?? null).toBe(want.coordinatesCommented);
      expect(facts.gtids ?? null).toBe(want.gtids);
      expect(facts.gtidsCommented ?? null).toBe(want.gtidsCommented);
      expect(facts.problems).toEqual([]);
    });

    it('gives the same facts whatever the chunking', () => {
      expect(scan(bytes, 3)).toEqual(scan(bytes, 65_536));
    });

    it('fails the same dump without its trailer', () => {
      const cut = bytes.subarray(0, bytes.lastIndexOf('-- Dump completed'));
      expect(scan(cut, 65_536).problems).toEqual(['the dump has no "-- Dump completed" trailer: it was cut short']);
    });
  });
});

describe('DumpVerifier on the header of a MySQL 5.0 client', () => {
  // mysqldump 10.11 (MySQL 5.0) wrote `-- MySQL dump 10.11` and nothing after it: no distribution,
  // no platform. Made from a real dump by editing that one line; the rest is as the server wrote it.
  const real = readFileSync(`${REAL_DUMPS}mysql80-master-data2-commented-single-db.sql`);
  const firstLine = real.subarray(0, real.indexOf(10)).toString();
  const old = Buffer.concat([Buffer.from('-- MySQL dump 10.11'), real.subarray(real.indexOf(10))]);

  it('reads it as a mysqldump header with no distribution version, and the dump as sound', () => {
    expect(firstLine).toBe('-- MySQL dump 10.13  Distrib 8.0.35, for Win64 (x86_64)');
    const facts = scan(old, 65_536);
    expect(facts.problems).toEqual([]);
    expect(facts).toMatchObject({ tool: 'mysqldump', serverVersion: '8.0.35', complete: true, headerDatabase: 'warehouse_org1_test2' });
    expect(facts.toolVersion).toBeUndefined();
  });

  it('still refuses a first line that only starts like one', () => {
    const odd = Buffer.concat([Buffer.from('-- MySQL dump 10.11 of something else'), real.subarray(real.indexOf(10))]);
    expect(scan(odd, 65_536).problems).toEqual(['not a dump: no "-- MySQL dump" or "-- MariaDB dump" header']);
  });
});
