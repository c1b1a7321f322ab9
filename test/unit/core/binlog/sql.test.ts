import { describe, expect, it } from 'vitest';
import { eventChange, qualifiers, tokens } from '../../../../core/binlog/sql.js';

describe('what binvault reads of a logged statement', () => {
  it('tells strings, quoted identifiers and comments apart from the words', () => {
    expect(tokens("UPDATE `a``b`.t SET v = 'x.y -- z' /* c.d */ WHERE id = 1 -- e.f\n")).toEqual(['UPDATE', '`a`b', '.', 't', 'SET', 'v', '=', "'", 'WHERE', 'id', '=', '1']);
    // What an executable comment holds, the server runs: it is read.
    expect(tokens('/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t')).toEqual(['CREATE', 'DEFINER', '=', '`root', '@', '`localhost', 'TRIGGER', 't']);
  });

  it('finds the names a statement qualifies something with, strings and comments aside', () => {
    expect(qualifiers("INSERT INTO billing.invoices SELECT o.id FROM `shop`.orders o WHERE note = 'other.t' /* x.y */")).toEqual(['billing', 'o', 'shop']);
    expect(qualifiers('UPDATE a.t JOIN b.u ON a.t.id = b.u.id SET a.t.v = 1')).toEqual(['a', 'b']);
    expect(qualifiers('DELETE FROM t WHERE id = 3.5')).toEqual([]);
  });

  it('reads what a statement does to a scheduled event', () => {
    expect(eventChange("CREATE DEFINER=`root`@`localhost` EVENT `shop`.`tick` ON SCHEDULE AT '2026-11-20 15:00:00' DO INSERT INTO t VALUES ('DISABLE')")).toEqual({ kind: 'set', database: 'shop', name: 'tick', state: 'ENABLE' });
    expect(eventChange('CREATE EVENT IF NOT EXISTS tick ON SCHEDULE EVERY 1 HOUR DISABLE DO DELETE FROM t')).toEqual({ kind: 'set', name: 'tick', state: 'DISABLE' });
    expect(eventChange('ALTER EVENT tick ON SCHEDULE EVERY 2 HOUR')).toEqual({ kind: 'set', name: 'tick' });
    expect(eventChange('ALTER DEFINER=`u`@`%` EVENT shop.tick RENAME TO shop.tock ENABLE')).toEqual({ kind: 'set', database: 'shop', name: 'tick', state: 'ENABLE', renamed: { database: 'shop', name: 'tock' } });
    expect(eventChange('DROP EVENT IF EXISTS `shop`.`tick`')).toEqual({ kind: 'drop', database: 'shop', name: 'tick' });
    expect(eventChange('CREATE TABLE event (id INT)')).toBeUndefined();
    expect(eventChange('INSERT INTO event VALUES (1)')).toBeUndefined();
  });
});
