import { describe, expect, it } from 'vitest';
import { assess, DEFAULT_THRESHOLDS, drillStale, evaluate } from '../../../../core/alerts/conditions.js';
import { watch } from '../../../../core/alerts/watch.js';
import { buildCatalog } from '../../../../core/catalog/model.js';
import type { Alert } from '../../../../core/ports.js';
import { at, binlogSeries, dumpAt, T0 } from '../../../helpers/catalog.js';
import { MemoryStore } from '../../../helpers/memory-store.js';

const catalogAt = (now: number, over: { dumps?: ReturnType<typeof dumpAt>[] } = {}) =>
  buildCatalog({ host: 'db1', binlogs: binlogSeries({ count: 10 }), dumps: over.dumps ?? [dumpAt(T0 + 30, 'binlog.000001')], gapRecords: [], pending: [], now: new Date(now * 1000) });

describe('evaluate', () => {
  it('holds nothing for a fresh, complete host', () => {
    expect(evaluate(catalogAt(T0 + 700), new Date((T0 + 700) * 1000))).toEqual([]);
  });

  it('raises shipping-stale past the threshold', () => {
    const now = T0 + 600 + DEFAULT_THRESHOLDS.staleSeconds + 1;
    expect(evaluate(catalogAt(now), new Date(now * 1000)).map((c) => c.type)).toEqual(['shipping-stale']);
  });

  it('raises dump-missed 24 h + grace after the last verified dump (fake clock)', () => {
    const limit = T0 + 30 + DEFAULT_THRESHOLDS.dumpIntervalSeconds + DEFAULT_THRESHOLDS.dumpGraceSeconds;
    expect(evaluate(catalogAt(limit - 1), new Date((limit - 1) * 1000)).map((c) => c.type)).not.toContain('dump-missed');
    expect(evaluate(catalogAt(limit + 1), new Date((limit + 1) * 1000)).map((c) => c.type)).toContain('dump-missed');
  });
});

describe('watch', () => {
  it('announces a condition once when it starts and once when it clears, across many passes', async () => {
    const store = new MemoryStore();
    const published: Alert[] = [];
    const alerts = { publish: async (a: Alert) => void published.push(a) };
    // No manifests: the catalog is empty, nothing holds…
    let now = T0;
    const clock = { now: () => new Date(now * 1000) };
    const manifest = (dumps: ReturnType<typeof dumpAt>[]) =>
      JSON.stringify({ manifestVersion: 1, host: 'db1', day: '2026-11-01', previous: null, objects: [], binlogs: Object.fromEntries(binlogSeries({ count: 10 }).map((b) => [b.key, b])), dumps: Object.fromEntries(dumps.map((d) => [d.key, d])), gapRecords: {}, catalog: {}, builtAt: at(T0) });
    await store.put('mysql/db1/catalog/2026-11-01.json', manifest([dumpAt(T0 + 30, 'binlog.000001')]));
    const options = { prefix: 'mysql', thresholds: DEFAULT_THRESHOLDS, hosts: ['db1'] };

    now = T0 + 700;
    await watch({ store, alerts, clock }, options);
    expect(published).toEqual([]);
    now = T0 + 2000;
    for (let i = 0; i < 5; i++) await watch({ store, alerts, clock }, options);
    expect(published.map((a) => `${a.type}:${a.state}`)).toEqual(['shipping-stale:started']);

    // The shipper catches up: more binlogs arrive.
    const more = binlogSeries({ count: 40 });
    await store.put('mysql/db1/catalog/2026-11-01.json', manifest([dumpAt(T0 + 30, 'binlog.000001')]).replace(/"binlogs":\{.*?\},"dumps"/s, `"binlogs":${JSON.stringify(Object.fromEntries(more.map((b) => [b.key, b])))},"dumps"`));
    now = T0 + 2400;
    for (let i = 0; i < 3; i++) await watch({ store, alerts, clock }, options);
    expect(published.map((a) => `${a.type}:${a.state}`)).toEqual(['shipping-stale:started', 'shipping-stale:cleared']);
  });
});

describe('assess (what status reports and exits with)', () => {
  it('is ok for a fresh, complete host', () => {
    expect(assess(catalogAt(T0 + 700), new Date((T0 + 700) * 1000))).toEqual({ health: 'ok', findings: [] });
  });

  it('warns when the lag passes half the stale threshold, and is critical past it, as the watchdog alerts', () => {
    const half = T0 + 600 + DEFAULT_THRESHOLDS.staleSeconds / 2 + 1;
    const stale = T0 + 600 + DEFAULT_THRESHOLDS.staleSeconds + 1;

    expect(assess(catalogAt(half), new Date(half * 1000)).findings.map((f) => `${f.severity} ${f.type}`)).toEqual(['warning lagging']);
    const past = assess(catalogAt(stale), new Date(stale * 1000));
    expect(past.health).toBe('critical');
    expect(past.findings.map((f) => f.type)).toEqual(evaluate(catalogAt(stale), new Date(stale * 1000)).map((c) => c.type));
  });

  it('a missing binlog is critical; one still on its way is a warning', () => {
    const binlogs = binlogSeries({ count: 10 }).filter((b) => b.name !== 'binlog.000005');
    const build = (now: number) => buildCatalog({ host: 'db1', binlogs, dumps: [dumpAt(T0 + 30, 'binlog.000001')], gapRecords: [], pending: [], now: new Date(now * 1000) });
    // binlog.000006 was verified at T0 + 365: within the delay grace the hole is delayed, later missing.
    expect(assess(build(T0 + 600), new Date((T0 + 600) * 1000))).toMatchObject({
      health: 'warning',
      findings: expect.arrayContaining([{ severity: 'warning', type: 'delayed', message: 'binlog.000005: not here yet: being shipped or verified' }]),
    });
    expect(assess(build(T0 + 1000), new Date((T0 + 1000) * 1000))).toMatchObject({ health: 'critical', findings: expect.arrayContaining([expect.objectContaining({ type: 'gap' })]) });
  });

  it('binlogs without a dump: a warning within the schedule, critical after it; nothing at all is critical', () => {
    const limit = T0 + DEFAULT_THRESHOLDS.dumpIntervalSeconds + DEFAULT_THRESHOLDS.dumpGraceSeconds;
    const noDump = (now: number) => buildCatalog({ host: 'db1', binlogs: binlogSeries({ count: 10 }), dumps: [], gapRecords: [], pending: [], now: new Date(now * 1000) });

    expect(assess(noDump(T0 + 650), new Date((T0 + 650) * 1000)).findings.map((f) => `${f.severity} ${f.type}`)).toEqual(['warning nothing-restorable']);
    expect(assess(noDump(limit + 1), new Date((limit + 1) * 1000)).findings.map((f) => `${f.severity} ${f.type}`)).toEqual(['critical dump-missed', 'critical shipping-stale']);
    const empty = buildCatalog({ host: 'nosuch', binlogs: [], dumps: [], gapRecords: [], pending: [], now: new Date(T0 * 1000) });
    expect(assess(empty, new Date(T0 * 1000))).toMatchObject({ health: 'critical', findings: [{ type: 'nothing-shipped' }] });
  });

  it('a failed object is critical', () => {
    const binlogs = binlogSeries({ count: 10 }).map((b) => (b.name === 'binlog.000003' ? { ...b, status: 'failed' as const, reasons: ['CRC32 mismatch at 1234'] } : b));
    const catalog = buildCatalog({ host: 'db1', binlogs, dumps: [dumpAt(T0 + 30, 'binlog.000001')], gapRecords: [], pending: [], now: new Date((T0 + 700) * 1000) });
    expect(assess(catalog, new Date((T0 + 700) * 1000))).toMatchObject({ health: 'critical', findings: expect.arrayContaining([{ severity: 'critical', type: 'verification-failed', message: expect.stringContaining('CRC32 mismatch') }]) });
  });
});

describe('drill-stale', () => {
  const DAY = 86_400;
  const interval = DEFAULT_THRESHOLDS.drillIntervalSeconds;
  const grace = DEFAULT_THRESHOLDS.dumpGraceSeconds;
  // Two dumps: the window between them is one a drill can prove, from the second dump on.
  const twoDumps = (now: number) =>
    buildCatalog({ host: 'db1', binlogs: binlogSeries({ count: 10 }), dumps: [dumpAt(T0 + 30, 'binlog.000001'), dumpAt(T0 + 300, 'binlog.000004')], gapRecords: [], pending: [], now: new Date(now * 1000) });
  const types = (now: number, drills: { lastProvenAt?: string } | undefined, thresholds = DEFAULT_THRESHOLDS) =>
    evaluate(twoDumps(now), new Date(now * 1000), thresholds, drills ? { drills } : {}).map((c) => c.type).filter((t) => t === 'drill-stale');

  it('holds once a window could be drilled and none was proven within the interval and grace, counted from the earliest restorable time', () => {
    const since = Date.parse(twoDumps(T0 + 700).earliestRestorableTime ?? '') / 1000;
    expect(since).toBe(T0 + 30);
    expect(types(since + interval + grace - 1, {})).toEqual([]);
    expect(types(since + interval + grace + 1, {})).toEqual(['drill-stale']);
    const condition = drillStale(twoDumps(since + interval + grace + 1), {}, new Date((since + interval + grace + 1) * 1000));
    expect(condition?.message).toMatch(/^no drill has ever proven a window of db1, restorable since 2026-11-01T00:00:30Z \(7 days ago; drills are due every 7 days\)/);
  });

  it('is counted from the last proven drill, and clears with a new one', () => {
    const proven = T0 + 10 * DAY;
    expect(types(proven + interval + grace - 1, { lastProvenAt: at(proven) })).toEqual([]);
    expect(types(proven + interval + grace + 1, { lastProvenAt: at(proven) })).toEqual(['drill-stale']);
    expect(types(proven + interval + grace + 1, { lastProvenAt: at(proven + DAY) })).toEqual([]);
  });

  it('never holds for one dump, without drill records read, or with drills not scheduled (interval 0)', () => {
    const late = T0 + 100 * DAY;
    expect(evaluate(catalogAt(late, { dumps: [dumpAt(T0 + 30, 'binlog.000001')] }), new Date(late * 1000), DEFAULT_THRESHOLDS, { drills: {} }).map((c) => c.type)).not.toContain('drill-stale');
    expect(types(late, undefined)).toEqual([]);
    expect(types(late, {}, { ...DEFAULT_THRESHOLDS, drillIntervalSeconds: 0 })).toEqual([]);
  });

  it('status counts it a warning (the windows are restorable, only not proven lately)', () => {
    const now = T0 + 30 + interval + grace + 1;
    // Past the dump schedule as well: dump-missed is critical, drill-stale stays a warning.
    expect(assess(twoDumps(now), new Date(now * 1000), DEFAULT_THRESHOLDS, { drills: {} }).findings.filter((f) => f.type === 'drill-stale').map((f) => f.severity)).toEqual(['warning']);
  });

  it('the watchdog raises it once, and clears it when a drill proves a window', async () => {
    const store = new MemoryStore();
    const published: Alert[] = [];
    const alerts = { publish: async (a: Alert) => void published.push(a) };
    const dumps = [dumpAt(T0 + 30, 'binlog.000001'), dumpAt(T0 + 300, 'binlog.000004')];
    await store.put(
      'mysql/db1/catalog/2026-11-01.json',
      JSON.stringify({ manifestVersion: 1, host: 'db1', day: '2026-11-01', previous: null, objects: [], binlogs: Object.fromEntries(binlogSeries({ count: 10 }).map((b) => [b.key, b])), dumps: Object.fromEntries(dumps.map((d) => [d.key, d])), gapRecords: {}, catalog: {}, builtAt: at(T0) }),
    );
    let now = T0 + interval + grace + 1000;
    const clock = { now: () => new Date(now * 1000) };
    let history: { lastProvenAt?: string } = {};
    // Only drill-stale matters here (the binlogs stopped long ago: shipping-stale and dump-missed hold too).
    const options = { prefix: 'mysql', thresholds: DEFAULT_THRESHOLDS, hosts: ['db1'], drillHistory: async () => history };
    for (let i = 0; i < 3; i++) await watch({ store, alerts, clock }, options);
    const drillAlerts = () => published.filter((a) => a.type === 'drill-stale').map((a) => `${a.state}:${a.severity}`);
    expect(drillAlerts()).toEqual(['started:warning']);
    history = { lastProvenAt: at(now - 60) };
    now += 300;
    for (let i = 0; i < 3; i++) await watch({ store, alerts, clock }, options);
    expect(drillAlerts()).toEqual(['started:warning', 'cleared:info']);
  });
});
