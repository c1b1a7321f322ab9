import { describe, expect, it } from 'vitest';
import { rtoCondition, evaluate, assess, DEFAULT_THRESHOLDS } from '../../../../core/alerts/conditions.js';
import type { Catalog } from '../../../../core/catalog/model.js';
import { DEFAULT_RATES, RestoreEta, dumpDue, estimateHost, estimateRto, readRates, recordRates, ratesKey, type RtoEstimate } from '../../../../core/restore/rto.js';
import { MemoryStore } from '../../../helpers/memory-store.js';

const scope = { prefix: 'mysql', host: 'db1' };
const DUMP = 'mysql/db1/dumps/2026-12-04/db1-20261204T000000Z.sql.gz';
const now = new Date('2026-12-04T06:00:00Z');

const catalogOf = (lastDump: Catalog['lastDump']): Catalog => ({
  host: 'db1',
  chain: [],
  gaps: [],
  windows: [],
  earliestRestorableTime: '2026-12-04T00:00:00Z',
  latestRestorableTime: '2026-12-04T05:59:30Z',
  lagSeconds: 30,
  lastDump,
  lastBinlog: null,
  failedObjects: [],
  builtAt: now.toISOString(),
});

const estimate = (binlogBytes: number, completedAt = '2026-12-04T00:00:00Z'): RtoEstimate =>
  estimateRto({ dump: { key: DUMP, bytes: 30e6, completedAt }, binlogBytes, binlogs: 3 }, { loadBytesPerSecond: 3e6, replayBytesPerSecond: 1e6, source: 'measured' });

describe('estimateRto: load of the dump + replay of the binlogs since it, at the host’s rates', () => {
  it('adds the two phases', () => {
    const e = estimate(600e6);
    expect(e).toMatchObject({ loadSeconds: 10, replaySeconds: 600, seconds: 610 });
  });
});

describe('rates of a host, kept in the bucket', () => {
  it('are the conservative defaults before any restore measured them', async () => {
    expect(await readRates(new MemoryStore(), scope)).toEqual(DEFAULT_RATES);
  });

  it('are the slowest of the last five measurements; a phase of under a second (or 4 MB) is not a measurement', async () => {
    const store = new MemoryStore();
    const at = now;
    await recordRates(store, scope, { execution: 'r1', at, load: { bytes: 30e6, seconds: 10 }, replay: { bytes: 10e6, seconds: 5 } });
    await recordRates(store, scope, { execution: 'r2', at, load: { bytes: 30e6, seconds: 6 }, replay: { bytes: 1e6, seconds: 0.2 } });
    for (let i = 0; i < 5; i++) await recordRates(store, scope, { execution: `later-${i}`, at, replay: { bytes: 8e6, seconds: 2 } });

    const rates = await readRates(store, scope);

    // The 2 MB/s replay was pushed out by five newer 4 MB/s ones; the 0.2 s replay never counted.
    expect(rates).toEqual({ loadBytesPerSecond: 3e6, replayBytesPerSecond: 4e6, source: 'measured' });
    expect(store.objects.has(ratesKey(scope))).toBe(true);
  });
});

describe('estimateHost: the newest verified dump and the binlogs shipped since its coordinates, from the listing', () => {
  it('counts every binlog from the dump’s binlog on, verified or not yet, and none before', async () => {
    const store = new MemoryStore();
    await store.put(DUMP, Buffer.alloc(3e6));
    await store.put('mysql/db1/binlogs/2026-12-03/binlog.000006.gz', Buffer.alloc(5e5));
    await store.put('mysql/db1/binlogs/2026-12-04/binlog.000007.gz', Buffer.alloc(1e6));
    await store.put('mysql/db1/binlogs/2026-12-04/binlog.000008.gz', Buffer.alloc(2e6));

    const e = await estimateHost(store, scope, catalogOf({ key: DUMP, completedAt: '2026-12-04T00:00:00Z', binlogFile: 'binlog.000007', binlogPosition: 4 }));

    expect(e).toMatchObject({ dump: { bytes: 3e6 }, binlogBytes: 3e6, binlogs: 2, loadSeconds: 1, replaySeconds: 6, seconds: 7, rates: { source: 'default' } });
  });

  it('lists only the day folders from the dump’s day on, not the whole history kept', async () => {
    const store = new MemoryStore();
    await store.put(DUMP, Buffer.alloc(3e6));
    for (let d = 1; d <= 3; d++) await store.put(`mysql/db1/binlogs/2026-12-0${d}/binlog.00000${d}.gz`, Buffer.alloc(1e5));
    await store.put('mysql/db1/binlogs/2026-12-04/binlog.000007.gz', Buffer.alloc(1e6));
    const listed: string[] = [];
    const list = store.list.bind(store);
    store.list = async (prefix, options) => (listed.push(prefix), list(prefix, options));

    await estimateHost(store, scope, catalogOf({ key: DUMP, completedAt: '2026-12-04T00:00:00Z', binlogFile: 'binlog.000007', binlogPosition: 4 }));

    expect(listed.filter((p) => p.includes('/binlogs/'))).toEqual(['mysql/db1/binlogs/', 'mysql/db1/binlogs/2026-12-04/']);
  });

  it('has nothing to estimate without a verified dump', async () => {
    expect(await estimateHost(new MemoryStore(), scope, catalogOf(null))).toBeUndefined();
  });
});

describe('rto-at-risk', () => {
  it('holds when the estimate passes the budget, and is a warning in status', () => {
    const catalog = catalogOf({ key: DUMP, completedAt: '2026-12-04T00:00:00Z' });
    expect(rtoCondition(estimate(2_000e6), DEFAULT_THRESHOLDS)).toMatchObject({ id: 'rto-at-risk', type: 'rto-at-risk', details: { estimateSeconds: 2010, budgetSeconds: 1800 } });
    expect(rtoCondition(estimate(100e6), DEFAULT_THRESHOLDS)).toBeUndefined();
    expect(evaluate(catalog, now, DEFAULT_THRESHOLDS, { rto: estimate(2_000e6) }).map((c) => c.type)).toEqual(['rto-at-risk']);
    expect(assess(catalog, now, DEFAULT_THRESHOLDS, { rto: estimate(2_000e6) })).toMatchObject({ health: 'warning', findings: [{ severity: 'warning', type: 'rto-at-risk' }] });
  });
});

describe('dumpDue: a dump when the estimate would pass the budget before the next scheduled one', () => {
  const base = { budgetSeconds: 1800, dumpIntervalSeconds: 86_400, minIntervalSeconds: 3600, now };

  it('is not due while the pace of writes keeps the estimate within the budget until the next dump', () => {
    // 6 h since the dump: 60 MB, 60 s of replay; 18 h more at that pace: 180 s more.
    expect(dumpDue({ ...base, estimate: estimate(60e6) })).toMatchObject({ due: false, projectedSeconds: 250 });
  });

  it('is due when the projection passes the budget, though the estimate does not yet', () => {
    // 600 s of replay in 6 h: 1,800 s more by midnight.
    const decision = dumpDue({ ...base, estimate: estimate(600e6) });
    expect(decision).toMatchObject({ due: true, projectedSeconds: 2410 });
    expect(decision.reason).toBe('a restore would take about 2410 s by the next scheduled dump, past the 1800 s RTO budget');
  });

  it('waits out BINVAULT_DUMP_MIN_INTERVAL from the last dump, the catalog’s or the one the shipper took itself', () => {
    expect(dumpDue({ ...base, estimate: estimate(3_000e6, '2026-12-04T05:30:00Z') })).toMatchObject({ due: false });
    expect(dumpDue({ ...base, estimate: estimate(3_000e6), lastTakenAt: '2026-12-04T05:10:00Z' }).reason).toBe(
      'the last dump is 3000 s old, less than BINVAULT_DUMP_MIN_INTERVAL (3600 s)',
    );
    expect(dumpDue({ ...base, estimate: estimate(3_000e6), lastTakenAt: '2026-12-04T04:59:00Z' })).toMatchObject({ due: true });
  });
});

describe('RestoreEta: the time left of a restore from its estimate', () => {
  it('the load’s share left plus the replay; while downloading, the replay less the time spent; then the share left of the apply', () => {
    let now = 0;
    const eta = new RestoreEta({ loadSeconds: 100, replaySeconds: 300 }, () => now);

    expect(eta.update({ phase: 'load', bytes: 0, total: 1000 })).toBe(400);
    expect(eta.update({ phase: 'load', bytes: 750, total: 1000 })).toBe(325);
    now = 100_000;
    expect(eta.update({ phase: 'download', bytes: 0, total: 50 })).toBe(300);
    now = 160_000;
    expect(eta.update({ phase: 'download', bytes: 50, total: 50 })).toBe(240);
    expect(eta.update({ phase: 'replay', bytes: 0, total: 200 })).toBe(240);
    now = 200_000;
    expect(eta.update({ phase: 'replay', bytes: 150, total: 200 })).toBe(60);
    expect(eta.update({ phase: 'replay', bytes: 200, total: 200 })).toBe(0);
  });
});
