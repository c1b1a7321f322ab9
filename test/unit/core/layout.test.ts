import { describe, expect, it } from 'vitest';
import {
  alertStateKey,
  binlogKey,
  checkKey,
  isHostFolder,
  dayIn,
  dumpFileName,
  dumpKey,
  eventTarget,
  gapRecordName,
  manifestKey,
  notificationFilters,
  catalogHeadKey,
  hourOf,
  segmentKey,
  summaryKey,
  parseKey,
  parseObjectKey,
  parseS3Url,
  recordKey,
  recordKeyOf,
  restoreKey,
  stagingKey,
  type HostScope,
} from '../../../core/layout.js';
import { isValidTimeZone } from '../../../core/time.js';

describe('object layout', () => {
  const scope = { prefix: 'mysql', host: 'db1' };
  const day = '2026-11-20';

  it('builds the design keys', () => {
    expect(binlogKey(scope, day, 'binlog.000123')).toBe('mysql/db1/binlogs/2026-11-20/binlog.000123.gz');
    expect(binlogKey(scope, day, 'binlog.000001', '20261121T001500Z')).toBe('mysql/db1/binlogs/2026-11-20/binlog.000001~20261121T001500Z.gz');
    expect(dumpKey(scope, day, dumpFileName('db1', new Date('2026-11-20T15:00:00.250Z')))).toBe('mysql/db1/dumps/2026-11-20/db1-20261120T150000Z.sql.gz');
    expect(stagingKey(scope, 'db1-20261120T150000Z.sql.gz')).toBe('mysql/db1/staging/db1-20261120T150000Z.sql.gz');
    expect(recordKey(scope, day, 'binlog.000123.gz')).toBe('mysql/db1/records/2026-11-20/binlog.000123.gz.json');
    expect(recordKey(scope, day, gapRecordName(['binlog.000004', 'binlog.000006']))).toBe('mysql/db1/records/2026-11-20/gap.binlog.000004.binlog.000006.json');
    expect(manifestKey(scope, day)).toBe('mysql/db1/catalog/2026-11-20.json');
    expect(catalogHeadKey(scope)).toBe('mysql/db1/catalog/head.jsonl');
    expect(segmentKey(scope, hourOf(new Date('2026-11-20T15:59:59Z')))).toBe('mysql/db1/catalog/segments/2026-11-20T15.jsonl');
    expect(summaryKey(scope, '2026-11-20T15', day, 'binlog.000123.gz')).toBe('mysql/db1/catalog/open/2026-11-20T15/2026-11-20.binlog.000123.gz.jsonl');
    // The catalog's own objects invoke no function: the stack's catalog filter is the suffix .json.
    for (const key of [catalogHeadKey(scope), segmentKey(scope, '2026-11-20T15'), summaryKey(scope, '2026-11-20T15', day, 'x.gz')]) {
      expect(key.endsWith(notificationFilters('mysql').catalog.suffix) || key.endsWith(notificationFilters('mysql').verify.suffix)).toBe(false);
    }
    expect(alertStateKey(scope)).toBe('mysql/db1/alerts/state.json');
    expect(restoreKey(scope, 'restore-20261120T151000Z-abc123', 'plan.json')).toBe('mysql/db1/restores/restore-20261120T151000Z-abc123/plan.json');
  });

  it.each<[string, HostScope]>([
    ['a one-word prefix', { prefix: 'mysql', host: 'db1' }],
    ['a prefix of several folders', { prefix: 'backups/prod/mysql', host: 'db-1.example' }],
    ['no prefix', { prefix: '', host: 'db1' }],
  ])('reads back every key it builds, with %s', (_, s) => {
    expect(parseKey(binlogKey(s, day, 'binlog.000123'))).toMatchObject({ ...s, area: 'binlogs', day, name: 'binlog.000123.gz', binlog: 'binlog.000123' });
    expect(parseKey(binlogKey(s, day, 'mysql-bin.000001', '20261121T001500Z'))).toMatchObject({ ...s, binlog: 'mysql-bin.000001', lineage: '20261121T001500Z' });
    expect(parseKey(dumpKey(s, day, 'db1-20261120T150000Z.sql.gz'))).toMatchObject({ ...s, area: 'dumps', day, name: 'db1-20261120T150000Z.sql.gz' });
    expect(parseKey(stagingKey(s, 'x.sql.gz'))).toMatchObject({ ...s, area: 'staging', name: 'x.sql.gz' });
    expect(parseKey(recordKey(s, day, 'binlog.000123.gz'))).toMatchObject({ ...s, area: 'records', day, name: 'binlog.000123.gz', of: 'object' });
    expect(parseKey(recordKey(s, day, gapRecordName(['binlog.000004'])))).toMatchObject({ ...s, area: 'records', of: 'gap' });
    expect(parseKey(manifestKey(s, day))).toMatchObject({ ...s, area: 'catalog', kind: 'day', day });
    expect(parseKey(catalogHeadKey(s))).toMatchObject({ ...s, area: 'catalog', kind: 'head' });
    expect(parseKey(segmentKey(s, '2026-11-20T15'))).toMatchObject({ ...s, area: 'catalog', kind: 'segment', period: '2026-11-20T15' });
    expect(parseKey(segmentKey(s, day))).toMatchObject({ ...s, area: 'catalog', kind: 'segment', period: day });
    expect(parseKey(summaryKey(s, '2026-11-20T15', day, 'binlog.000123.gz'))).toMatchObject({ ...s, area: 'catalog', kind: 'summary', hour: '2026-11-20T15', day, name: 'binlog.000123.gz' });
    expect(parseKey(alertStateKey(s))).toMatchObject({ ...s, area: 'alerts', name: 'state.json' });
    expect(parseKey(restoreKey(s, 'restore-1', 'report.json'))).toMatchObject({ ...s, area: 'restores', execution: 'restore-1', name: 'report.json' });
    expect(parseKey(checkKey(s, new Date('2026-11-20T15:00:00Z'), 'a1b2c3'))).toMatchObject({ ...s, area: 'check', name: '20261120T150000Z-a1b2c3.txt' });
  });

  it("puts check's probe beside the hosts, where no host can be and no function is invoked", () => {
    const key = checkKey(scope, new Date('2026-11-20T15:00:00Z'), 'a1b2c3');

    expect(key).toBe('mysql/_check/db1/20261120T150000Z-a1b2c3.txt');
    expect(eventTarget(key)).toBeUndefined();
    expect(isHostFolder('_check')).toBe(false);
    expect(isHostFolder('db1')).toBe(true);
  });

  it('reads the record key of an object from the object key alone', () => {
    const ref = parseObjectKey('mysql/db1/binlogs/2026-11-20/binlog.000123.gz');
    expect(ref && recordKeyOf(ref)).toBe('mysql/db1/records/2026-11-20/binlog.000123.gz.json');
    expect(parseObjectKey('mysql/db1/records/2026-11-20/binlog.000123.gz.json')).toBeUndefined();
  });

  it.each([
    'mysql/db1/binlogs/2026-11-20/nested/binlog.000123.gz',
    'mysql/db1/binlogs/20261120/binlog.000123.gz',
    'mysql/db1/binlogs/2026-11-20/binlog.000123',
    'mysql/db1/catalog/latest.json',
    'mysql/db1/elsewhere/file',
    'db1',
  ])('reads nothing from a key outside the layout: %s', (key) => {
    expect(parseKey(key)).toBeUndefined();
  });

  it('routes S3 events: binlogs and dumps to verify, records to the catalog, the rest nowhere', () => {
    expect(eventTarget('mysql/db1/binlogs/2026-11-20/binlog.000123.gz')).toBe('verify');
    expect(eventTarget('mysql/db1/dumps/2026-11-20/db1-20261120T150000Z.sql.gz')).toBe('verify');
    expect(eventTarget('mysql/db1/records/2026-11-20/binlog.000123.gz.json')).toBe('catalog');
    expect(eventTarget('mysql/db1/records/2026-11-20/gap.binlog.000004.binlog.000004.json')).toBe('catalog');
    for (const other of ['mysql/db1/catalog/2026-11-20.json', 'mysql/db1/staging/x.sql.gz', 'mysql/db1/alerts/state.json', 'mysql/db1/restores/r/plan.json']) {
      expect(eventTarget(other), other).toBeUndefined();
    }
  });

  it('reads s3:// addresses', () => {
    expect(parseS3Url('s3://acme-backups/mysql/db1/binlogs/2026-11-20/binlog.000001.gz')).toEqual({ bucket: 'acme-backups', key: 'mysql/db1/binlogs/2026-11-20/binlog.000001.gz' });
    expect(parseS3Url('s3://acme-backups/')).toBeUndefined();
    expect(parseS3Url('/tmp/file')).toBeUndefined();
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
