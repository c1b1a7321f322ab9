import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, evaluate } from '../../../../core/alerts/conditions.js';
import { watch } from '../../../../core/alerts/watch.js';
import { buildCatalog } from '../../../../core/catalog/model.js';
import type { Alert, ObjectStore } from '../../../../core/ports.js';
import { at, binlogSeries, dumpAt, T0 } from '../../../helpers/catalog.js';

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
  /** A plain in-memory object store: enough of the port for the watchdog's state. */
  const memoryStore = (): ObjectStore & { objects: Map<string, string> } => {
    const objects = new Map<string, string>();
    let version = 0;
    const etags = new Map<string, string>();
    return {
      objects,
      head: async (key) => (objects.has(key) ? { key, size: 0, metadata: {} } : undefined),
      get: async () => (async function* () {})(),
      getBytes: async (key) => Buffer.from(objects.get(key) ?? ''),
      getVersioned: async (key) => (objects.has(key) ? { body: Buffer.from(objects.get(key) ?? ''), etag: etags.get(key) ?? '' } : undefined),
      put: async (key, body, options = {}) => {
        if (options.ifMatch !== undefined && etags.get(key) !== options.ifMatch) throw Object.assign(new Error('conflict'), { name: 'WriteConflictError' });
        objects.set(key, body.toString());
        etags.set(key, String(++version));
      },
      putStream: async () => ({ bytes: 0 }),
      list: async (prefix) => ({
        keys: [...objects.keys()].filter((k) => k.startsWith(prefix)).map((key) => ({ key, size: 0, metadata: {} })),
        prefixes: [],
      }),
      listMultipartUploads: async () => [],
      abortMultipartUpload: async () => undefined,
      delete: async (key) => void objects.delete(key),
      tag: async () => undefined,
      url: (key) => `mem://${key}`,
    };
  };

  it('announces a condition once when it starts and once when it clears, across many passes', async () => {
    const store = memoryStore();
    const published: Alert[] = [];
    const alerts = { publish: async (a: Alert) => void published.push(a) };
    // No manifests: the catalog is empty, nothing holds…
    let now = T0;
    const clock = { now: () => new Date(now * 1000) };
    const manifest = (dumps: ReturnType<typeof dumpAt>[]) =>
      JSON.stringify({ manifestVersion: 1, host: 'db1', day: '2026-11-01', previous: null, objects: [], binlogs: Object.fromEntries(binlogSeries({ count: 10 }).map((b) => [b.key, b])), dumps: Object.fromEntries(dumps.map((d) => [d.key, d])), gapRecords: {}, catalog: {}, builtAt: at(T0) });
    store.objects.set('mysql/db1/catalog/2026-11-01.json', manifest([dumpAt(T0 + 30, 'binlog.000001')]));
    const options = { prefix: 'mysql', thresholds: DEFAULT_THRESHOLDS, hosts: ['db1'] };

    now = T0 + 700;
    await watch({ store, alerts, clock }, options);
    expect(published).toEqual([]);
    now = T0 + 2000;
    for (let i = 0; i < 5; i++) await watch({ store, alerts, clock }, options);
    expect(published.map((a) => `${a.type}:${a.state}`)).toEqual(['shipping-stale:started']);

    // The shipper catches up: more binlogs arrive.
    const more = binlogSeries({ count: 40 });
    store.objects.set('mysql/db1/catalog/2026-11-01.json', manifest([dumpAt(T0 + 30, 'binlog.000001')]).replace(/"binlogs":\{.*?\},"dumps"/s, `"binlogs":${JSON.stringify(Object.fromEntries(more.map((b) => [b.key, b])))},"dumps"`));
    now = T0 + 2400;
    for (let i = 0; i < 3; i++) await watch({ store, alerts, clock }, options);
    expect(published.map((a) => `${a.type}:${a.state}`)).toEqual(['shipping-stale:started', 'shipping-stale:cleared']);
  });
});
