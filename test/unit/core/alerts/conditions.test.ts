import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, evaluate } from '../../../../core/alerts/conditions.js';
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
