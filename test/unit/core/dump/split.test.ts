import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DumpSplitter, type DumpPiece } from '../../../../core/dump/split.js';
import { REAL_DUMPS } from '../../../helpers/fixtures.js';

const split = (bytes: Buffer, chunk: number): { pieces: DumpPiece[]; preamble: string } => {
  const splitter = new DumpSplitter();
  const pieces: DumpPiece[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(...splitter.push(bytes.subarray(i, i + chunk)));
  pieces.push(...splitter.end());
  return { pieces, preamble: splitter.preamble.toString() };
};

const sqlOf = (pieces: DumpPiece[], kinds: DumpPiece['kind'][]): string =>
  pieces
    .filter((p) => kinds.includes(p.kind) && 'sql' in p)
    .map((p) => (p as { sql: Buffer }).sql.toString('latin1'))
    .join('');

const DUMPS = readdirSync(REAL_DUMPS).filter((n) => /\.sql(\.gz)?$/.test(n));
const read = (name: string): Buffer => {
  const stored = readFileSync(`${REAL_DUMPS}${name}`);
  return name.endsWith('.gz') ? gunzipSync(stored) : stored;
};

describe('DumpSplitter on real dumps of mysqldump and mariadb-dump', () => {
  describe.each(DUMPS)('%s', (name) => {
    const bytes = read(name);

    it('loses, adds and reorders nothing: its pieces, in order, are the dump byte for byte', () => {
      const { pieces } = split(bytes, 65_536);
      expect(Buffer.from(sqlOf(pieces, ['main', 'rows', 'deferred']), 'latin1').equals(bytes)).toBe(true);
    });

    it('splits the same whatever the chunking', () => {
      const whole = split(bytes, bytes.length + 1).pieces;
      for (const chunk of [1, 7, 4096]) {
        const pieces = split(bytes, chunk).pieces;
        for (const kind of ['main', 'rows', 'deferred'] as const) expect(sqlOf(pieces, [kind])).toBe(sqlOf(whole, [kind]));
        expect(pieces.filter((p) => p.kind === 'table')).toEqual(whole.filter((p) => p.kind === 'table'));
      }
    });

    it('sends every row to a table’s session where the dump says which database, and nothing else there', () => {
      const { pieces } = split(bytes, 65_536);
      const main = sqlOf(pieces, ['main', 'deferred']);
      const rows = sqlOf(pieces, ['rows']);
      const inserts = bytes.toString('latin1').match(/^INSERT /gm)?.length ?? 0;
      if (!/^USE `/m.test(bytes.toString('latin1'))) {
        expect(pieces.every((p) => p.kind === 'main')).toBe(true);
        return;
      }
      expect(main).not.toMatch(/^INSERT /m);
      expect(rows.match(/^INSERT /gm)?.length ?? 0).toBe(inserts);
      // Rows may go on over lines (newer mariadb-dump), but never hold a definition or a section.
      expect(rows).not.toMatch(/^(CREATE|DELIMITER|USE |\/\*!50003|-- (Table structure|Current Database|Dumping (events|routines)))/m);
    });
  });

  it('holds back a table’s triggers until every table’s rows are in, and names the tables', () => {
    // A single database dumped without --databases has no USE: given one, its rows can go in parallel.
    const sakila = read('mariadb55-master-data1-sakila-triggers-routines.sql.gz').toString('latin1').replace(/^(--\n-- Table structure)/m, 'USE `sakila`;\n$1');
    const { pieces, preamble } = split(Buffer.from(sakila, 'latin1'), 65_536);
    const tables = pieces.filter((p) => p.kind === 'table');
    expect(tables.map((t) => `${t.database}.${t.table}`)).toContain('sakila.payment');
    expect(tables.every((t) => t.use?.toString().startsWith('USE `'))).toBe(true);
    const deferred = sqlOf(pieces, ['deferred']);
    expect(deferred.match(/TRIGGER `/g)?.length).toBe(sqlOf(pieces, ['main', 'rows', 'deferred']).match(/TRIGGER `/g)?.length);
    expect(sqlOf(pieces, ['main'])).not.toMatch(/CREATE\*\/.*TRIGGER/);
    expect(pieces.some((p) => p.kind === 'wait')).toBe(false);
    expect(preamble).toMatch(/SET NAMES utf8/);
    expect(preamble).toMatch(/TIME_ZONE='\+00:00'/);
    expect(preamble).toMatch(/FOREIGN_KEY_CHECKS=0/);
    expect(preamble).not.toMatch(/GLOBAL/i);
  });

  const crafted = (after: string): DumpPiece[] =>
    split(
      Buffer.from(
        [
          '/*!40101 SET NAMES utf8mb4 */;',
          'USE `d`;',
          '--',
          '-- Table structure for table `t`',
          '--',
          'CREATE TABLE `t` (a int);',
          '--',
          '-- Dumping data for table `t`',
          '--',
          '',
          'LOCK TABLES `t` WRITE;',
          'INSERT INTO `t` VALUES (1),',
          '(2);',
          'UNLOCK TABLES;',
          after,
          '-- Dump completed on 2026-11-21 10:00:00',
          '',
        ].join('\n'),
      ),
      16,
    ).pieces;

  it('makes anything else after a table’s rows wait for them', () => {
    const pieces = crafted('UPDATE `t` SET a = a + 1;');
    const kinds = pieces.map((p) => p.kind);
    expect(kinds.indexOf('wait')).toBeGreaterThan(kinds.indexOf('rows-end'));
    expect(sqlOf(pieces.slice(kinds.indexOf('wait')), ['main'])).toContain('UPDATE `t`');
    expect(sqlOf(pieces, ['rows'])).toContain('(1),\n(2);\n');
  });

  it('leaves the mysql database’s rows in order: the dump’s routines and events are rows there', () => {
    const pieces = split(
      Buffer.from('USE `mysql`;\n-- Dumping data for table `proc`\nLOCK TABLES `proc` WRITE;\nINSERT INTO `proc` VALUES (1);\nUNLOCK TABLES;\nUSE `shop`;\n-- Dumping data for table `t`\nINSERT INTO `t` VALUES (1);\n'),
      9,
    ).pieces;
    expect(pieces.filter((p) => p.kind === 'table').map((p) => p.kind === 'table' && `${p.database}.${p.table}`)).toEqual(['shop.t']);
    expect(sqlOf(pieces, ['main'])).toContain('INSERT INTO `proc`');
  });

  it('leaves a table without rows, and a dump without section comments, to the main session', () => {
    const empty = split(Buffer.from('USE `d`;\n-- Dumping data for table `t`\n--\n\nLOCK TABLES `t` WRITE;\nUNLOCK TABLES;\n'), 5).pieces;
    expect(empty.every((p) => p.kind === 'main')).toBe(true);
    const bare = split(Buffer.from('CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n'), 3).pieces;
    expect(bare.every((p) => p.kind === 'main')).toBe(true);
  });
});
