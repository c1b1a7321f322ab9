import { describe, expect, it } from 'vitest';
import { binlogKey, binlogNameOfKey, dayIn, isValidTimeZone, recordKey } from '../../../core/layout.js';

describe('object layout', () => {
  const scope = { prefix: 'mysql', host: 'db1' };

  it('builds the design keys', () => {
    expect(binlogKey(scope, '2026-11-20', 'binlog.000123')).toBe('mysql/db1/binlogs/2026-11-20/binlog.000123.gz');
    expect(recordKey(scope, '2026-11-20', 'binlog.000123.gz')).toBe('mysql/db1/records/2026-11-20/binlog.000123.gz.json');
  });

  it('reads the binlog name back from a key, and nothing from other keys', () => {
    expect(binlogNameOfKey('mysql/db1/binlogs/2026-11-20/binlog.000123.gz')).toBe('binlog.000123');
    expect(binlogNameOfKey('mysql/db1/dumps/2026-11-20/db1-20261120T150000Z.sql.gz')).toBeUndefined();
  });

  it('puts an instant in the day of the configured time zone', () => {
    const instant = new Date('2026-11-20T15:30:00Z');
    expect(dayIn(instant)).toBe('2026-11-20');
    // 00:30 the next day in Seoul (UTC+9), where the first users run.
    expect(dayIn(instant, 'Asia/Seoul')).toBe('2026-11-21');
    expect(dayIn(instant, 'America/Los_Angeles')).toBe('2026-11-20');
  });

  it('knows real time zones from typos', () => {
    expect(isValidTimeZone('Asia/Seoul')).toBe(true);
    expect(isValidTimeZone('Asia/Soul')).toBe(false);
  });
});
