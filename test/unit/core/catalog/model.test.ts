import { describe, expect, it } from 'vitest';
import { buildCatalog, type BinlogSummary, type CatalogInput } from '../../../../core/catalog/model.js';
import { at, binlogSeries, dumpAt, T0 } from '../../../helpers/catalog.js';

const base = (over: Partial<CatalogInput>): CatalogInput => ({
  host: 'db1',
  binlogs: [],
  dumps: [],
  gapRecords: [],
  pending: [],
  now: new Date((T0 + 3600 * 24) * 1000),
  ...over,
});

describe('buildCatalog', () => {
  it('links an unbroken chain and opens one window from the dump’s completion to the last event', () => {
    const binlogs = binlogSeries({ count: 10 });
    const catalog = buildCatalog(base({ binlogs, dumps: [dumpAt(T0 + 90, 'binlog.000002')] }));

    expect(catalog.gaps).toEqual([]);
    expect(catalog.chain.map((l) => l.name)).toEqual(binlogs.map((b) => b.name));
    expect(catalog.windows).toEqual([{ from: at(T0 + 90), to: at(T0 + 600), dump: expect.any(String) }]);
    expect(catalog.earliestRestorableTime).toBe(at(T0 + 90));
    expect(catalog.latestRestorableTime).toBe(at(T0 + 600));
    expect(catalog.lagSeconds).toBe(3600 * 24 - 600);
    expect(catalog.lastBinlog?.name).toBe('binlog.000010');
  });

  it('orders by the logs’ own content, whatever order the records come in', () => {
    const binlogs = binlogSeries({ count: 30 });
    const shuffled = [...binlogs].sort((a, b) => (a.key.length * 7919 + a.name.charCodeAt(12)) % 13 - (b.key.length * 7919 + b.name.charCodeAt(12)) % 13);
    expect(buildCatalog(base({ binlogs: shuffled, dumps: [dumpAt(T0 + 10, 'binlog.000001')] }))).toEqual(
      buildCatalog(base({ binlogs, dumps: [dumpAt(T0 + 10, 'binlog.000001')] })),
    );
  });

  it('ends the window at binlogs the shipper recorded as purged, and a new dump opens a new window', () => {
    const binlogs = binlogSeries({ count: 10 }).filter((b) => b.name !== 'binlog.000005' && b.name !== 'binlog.000006');
    const catalog = buildCatalog(
      base({
        binlogs,
        dumps: [dumpAt(T0 + 30, 'binlog.000001'), dumpAt(T0 + 400, 'binlog.000007')],
        gapRecords: [{ kind: 'gap', missing: ['binlog.000005', 'binlog.000006'], after: 'binlog.000004', before: 'binlog.000007', detectedAt: at(T0 + 500) }],
      }),
    );
    expect(catalog.gaps).toEqual([
      expect.objectContaining({ kind: 'missing', after: 'binlog.000004', before: 'binlog.000007', since: at(T0 + 240), missing: ['binlog.000005', 'binlog.000006'] }),
    ]);
    expect(catalog.windows.map((w) => [w.from, w.to])).toEqual([
      [at(T0 + 30), at(T0 + 240)],
      [at(T0 + 400), at(T0 + 600)],
    ]);
  });

  it('calls a fresh hole delayed, and missing once the grace has passed', () => {
    const binlogs = binlogSeries({ count: 6 }).filter((b) => b.name !== 'binlog.000004');
    const justNow = new Date((T0 + 370) * 1000);
    expect(buildCatalog(base({ binlogs, now: justNow })).gaps[0]?.kind).toBe('delayed');
    expect(buildCatalog(base({ binlogs, now: new Date((T0 + 370 + 601) * 1000) })).gaps[0]?.kind).toBe('missing');
    // The hole's object is in the bucket, not verified yet: delayed whatever the time.
    expect(buildCatalog(base({ binlogs, pending: ['mysql/db1/binlogs/2026-11-01/binlog.000004.gz'] })).gaps[0]?.kind).toBe('delayed');
  });

  it('marks a failed binlog corrupt and breaks the window there', () => {
    const binlogs = binlogSeries({ count: 6 }).map((b) => (b.name === 'binlog.000004' ? { ...b, status: 'failed' as const, reasons: ['CRC32 mismatch'] } : b));
    const catalog = buildCatalog(base({ binlogs, dumps: [dumpAt(T0 + 10, 'binlog.000001')] }));
    expect(catalog.gaps).toEqual([expect.objectContaining({ kind: 'corrupt', after: 'binlog.000003', before: 'binlog.000005' })]);
    expect(catalog.windows.map((w) => w.to)).toEqual([at(T0 + 180)]);
    expect(catalog.failedObjects).toEqual([{ key: expect.stringContaining('binlog.000004'), reasons: ['CRC32 mismatch'] }]);
  });

  it('places a binlog that failed before it could be read by its name', () => {
    const binlogs: BinlogSummary[] = binlogSeries({ count: 5 }).map((b) => {
      if (b.name !== 'binlog.000003') return b;
      const { firstEventTime: _f, lastEventTime: _l, end: _e, rotateTo: _r, ...rest } = b;
      return { ...rest, status: 'failed', reasons: ['gzip: unexpected end of data'], gtids: '', previousGtids: '' };
    });
    const catalog = buildCatalog(base({ binlogs }));
    expect(catalog.chain.map((l) => `${l.name}:${l.status}`)).toEqual([
      'binlog.000001:ok',
      'binlog.000002:ok',
      'binlog.000003:corrupt',
      'binlog.000004:ok',
      'binlog.000005:ok',
    ]);
  });

  it('starts a new lineage on RESET MASTER and on a new server identity, without calling it an error', () => {
    const before = binlogSeries({ count: 3 });
    const after = binlogSeries({ count: 3, start: T0 + 1000, seq0: 0 });
    const catalog = buildCatalog(base({ binlogs: [...before, ...after], dumps: [dumpAt(T0 + 10, 'binlog.000001'), dumpAt(T0 + 1030, 'binlog.000001')] }));
    expect(catalog.gaps).toEqual([expect.objectContaining({ kind: 'reset', after: 'binlog.000003', before: 'binlog.000001' })]);
    expect(catalog.windows.map((w) => [w.from, w.to])).toEqual([
      [at(T0 + 10), at(T0 + 180)],
      [at(T0 + 1030), at(T0 + 1180)],
    ]);
    const other = binlogSeries({ count: 2, from: 4, start: T0 + 200, serverId: 7 });
    expect(buildCatalog(base({ binlogs: [...before, ...other] })).gaps[0]?.reason).toMatch(/new server identity/);
  });

  it('breaks the chain where GTIDs do not continue, even when names do', () => {
    const binlogs = binlogSeries({ count: 4 }).map((b) => (b.name === 'binlog.000003' ? { ...b, previousGtids: '0-1-5' } : b));
    expect(buildCatalog(base({ binlogs })).gaps).toEqual([expect.objectContaining({ kind: 'missing', reason: 'GTIDs do not continue from binlog.000002 to binlog.000003' })]);
  });

  it('checks MySQL GTID sets across files, and a transaction count in each file', () => {
    const uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    const mk = (n: number, prev: string, gtids: string): BinlogSummary => ({
      key: `mysql/db1/binlogs/2026-11-01/binlog.00000${n}.gz`,
      day: '2026-11-01',
      name: `binlog.00000${n}`,
      status: 'ok',
      reasons: [],
      serverUuid: uuid,
      serverIds: [1],
      flavor: 'mysql',
      firstEventTime: at(T0 + n * 60),
      lastEventTime: at(T0 + n * 60 + 60),
      end: 'rotate',
      rotateTo: `binlog.00000${n + 1}`,
      gtids,
      previousGtids: prev,
      verifiedAt: at(T0 + n * 60 + 61),
    });
    const ok = [mk(1, '', `${uuid}:1-5`), mk(2, `${uuid}:1-5`, `${uuid}:6-9`), mk(3, `${uuid}:1-9`, '')];
    expect(buildCatalog(base({ binlogs: ok })).gaps).toEqual([]);
    const lost = [mk(1, '', `${uuid}:1-5`), mk(2, `${uuid}:1-5`, `${uuid}:6-9`), mk(3, `${uuid}:1-7`, '')];
    expect(buildCatalog(base({ binlogs: lost })).gaps.map((g) => g.kind)).toEqual(['missing']);
  });

  it('builds 20 days × 200 binlogs per day correctly', () => {
    const binlogs = binlogSeries({ count: 20 * 200, span: 432 });
    const dumps = Array.from({ length: 20 }, (_, d) => dumpAt(T0 + d * 86_400 + 10, binlogs[d * 200]?.name ?? ''));
    const catalog = buildCatalog(base({ binlogs, dumps, now: new Date((T0 + 20 * 86_400) * 1000) }));
    expect(catalog.gaps).toEqual([]);
    expect(catalog.windows).toHaveLength(1);
    expect(catalog.chain).toHaveLength(4000);
  });
});
