import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DumpDatabaseFilter } from '../../../../core/dump/filter.js';
import { REAL_DUMPS } from '../../../helpers/fixtures.js';

const filterAll = (text: Buffer, databases: string[], chunk: number): { kept: string; seen: string[] } => {
  const filter = new DumpDatabaseFilter(databases);
  const out: Buffer[] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...filter.push(text.subarray(i, i + chunk)));
  out.push(...filter.end());
  return { kept: Buffer.concat(out).toString('utf8'), seen: filter.seen };
};

describe.each(['percona80-master-data2-multidb-views-routines.sql', 'mariadb114-master-data2-deferred-gtid-multidb.sql', 'percona84-change-replication-source-multidb.sql'])(
  'DumpDatabaseFilter on the real dump %s (databases billing, shop, we`ird, ünï)',
  (name) => {
    const text = readFileSync(join(REAL_DUMPS, name));

    it('keeps the header, the selected database’s whole sections and the trailer’s session resets; nothing of the others', () => {
      const { kept, seen } = filterAll(text, ['shop'], 1 << 20);

      expect(seen).toEqual(['billing', 'shop', 'we`ird', 'ünï', 'billing', 'shop', 'we`ird', 'ünï']);
      expect(kept).toContain('CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`');
      expect(kept).toContain('CREATE TABLE `items`');
      // A string that holds the marker's text is a row of shop, not a section of billing.
      expect(kept).toContain("(1,'line one\\n-- Current Database: `billing`\\nline three')");
      expect(kept).not.toMatch(/CREATE DATABASE [^\n]*`(billing|we``ird|ünï)`/);
      expect(kept).not.toMatch(/^USE `(billing|we``ird|ünï)`;/m);
      expect(kept.startsWith(text.subarray(0, text.indexOf('-- Current Database:')).toString('utf8'))).toBe(true);
      expect(kept).toContain('SET SQL_MODE=@OLD_SQL_MODE');
      expect(kept).toContain('SET TIME_ZONE=@OLD_TIME_ZONE');
    });

    it('keeps a database whose name needs quoting', () => {
      const { kept } = filterAll(text, ['we`ird'], 1 << 20);
      expect(kept).toMatch(/^USE `we``ird`;/m);
      expect(kept).not.toMatch(/^USE `shop`;/m);
    });

    it('gives the same bytes whatever the chunking, and the whole dump when every database is selected', () => {
      const whole = filterAll(text, ['shop', 'ünï'], 1 << 20).kept;
      for (const size of [1, 7, 22, 300, 4096]) expect(filterAll(text, ['shop', 'ünï'], size).kept).toBe(whole);
      expect(filterAll(text, ['billing', 'shop', 'we`ird', 'ünï'], 13).kept).toBe(text.toString('utf8'));
    });
  },
);
