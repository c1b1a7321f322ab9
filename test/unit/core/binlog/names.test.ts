import { describe, expect, it } from 'vitest';
import { compareBinlogNames, namesBetween, parseBinlogName } from '../../../../core/binlog/names.js';

describe('binlog names', () => {
  it('orders by sequence, not by text', () => {
    const a = parseBinlogName('mysql-bin.999999');
    const b = parseBinlogName('mysql-bin.1000000');
    expect(a && b && compareBinlogNames(a, b)).toBeLessThan(0);
  });

  it('names the files between two binlogs with the same width', () => {
    const after = parseBinlogName('binlog.000009');
    const before = parseBinlogName('binlog.000012');
    expect(after && before && namesBetween(after, before)).toEqual(['binlog.000010', 'binlog.000011']);
  });

  it('rejects names without a sequence', () => {
    expect(parseBinlogName('binlog.index')).toBeUndefined();
  });
});
