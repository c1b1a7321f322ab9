import { describe, expect, it } from 'vitest';
import { loadCatalog, readCatalogParts, rebuildHost } from '../../../../core/catalog/manifests.js';
import { checkpointKeyOf, parseObjectKey, recordKeyOf } from '../../../../core/layout.js';
import type { Alert } from '../../../../core/ports.js';
import { runRetention } from '../../../../core/retention/run.js';
import { binlogSeries, dumpAt, putShipped, T0 } from '../../../helpers/catalog.js';
import { MemoryStore } from '../../../helpers/memory-store.js';

const DAY = 86_400;
const scope = { prefix: 'mysql', host: 'db1' };
const policy = { recoveryWindowSeconds: DAY, weeklyDumps: 0, monthlyDumps: 0 };

/** Three days of hourly binlogs, a dump early each day, the catalog built: what the functions leave. */
const threeDays = async (): Promise<{ store: MemoryStore; dumps: ReturnType<typeof dumpAt>[] }> => {
  const store = new MemoryStore();
  const binlogs = binlogSeries({ count: 72, span: 3600 });
  const dumps = [0, 1, 2].map((d) => dumpAt(T0 + d * DAY + 1800, binlogs[d * 24]?.name ?? ''));
  await putShipped(store, [...binlogs, ...dumps]);
  await rebuildHost(store, scope, { now: () => new Date((T0 + 3 * DAY) * 1000) });
  return { store, dumps };
};

describe('runRetention, with the ObjectStore port in memory', () => {
  const clock = { now: () => new Date((T0 + 2 * DAY + 12 * 3600) * 1000) };

  it('deletes nothing on a dry run, and says what it would delete', async () => {
    const { store } = await threeDays();
    const keys = store.keys();

    const [result] = await runRetention({ store, alerts: { publish: async () => undefined }, clock }, { prefix: 'mysql', policy, dryRun: true });

    expect(result?.plan.delete.dumps.length).toBeGreaterThan(0);
    expect(result?.plan.delete.binlogs.length).toBeGreaterThan(0);
    expect(result?.deleted).toEqual([]);
    expect(store.keys()).toEqual(keys);
  });

  it('deletes what the plan may delete, with its records, and the promised window stays restorable', async () => {
    const { store, dumps } = await threeDays();
    const alerts: Alert[] = [];
    const before = await loadCatalog(store, scope, clock.now());
    // A verify of the oldest dump that went on in steps and left its checkpoint (its chain died).
    const oldest = parseObjectKey(dumps[0]?.key ?? '');
    if (oldest) await store.put(checkpointKeyOf(oldest), '{}');

    const [result] = await runRetention({ store, alerts: { publish: async (a) => void alerts.push(a) }, clock }, { prefix: 'mysql', policy, dryRun: false });

    const planned = [...(result?.plan.delete.dumps ?? []), ...(result?.plan.delete.binlogs ?? [])];
    expect(result?.deleted.sort()).toEqual(planned.sort());
    expect(planned).toContain(dumps[0]?.key);
    for (const key of planned) {
      const ref = parseObjectKey(key);
      expect(store.objects.has(key), key).toBe(false);
      expect(ref && store.objects.has(recordKeyOf(ref)), `record of ${key}`).toBe(false);
      expect(ref && store.objects.has(checkpointKeyOf(ref)), `checkpoint of ${key}`).toBe(false);
    }
    for (const key of [...(result?.plan.keep.dumps ?? []), ...(result?.plan.keep.binlogs ?? [])]) expect(store.objects.has(key), key).toBe(true);
    const after = await loadCatalog(store, scope, clock.now());
    const promisedFrom = (clock.now().getTime() / 1000 - DAY) * 1000;
    expect(Date.parse(after.earliestRestorableTime ?? '')).toBeLessThanOrEqual(promisedFrom);
    expect(after.latestRestorableTime).toBe(before.latestRestorableTime);
    expect(after.gaps).toEqual([]);
    expect(alerts).toEqual([]);
  });

  it('deletes nothing and announces retention-blocked once when the plan cannot keep its promise', async () => {
    const { store } = await threeDays();
    const alerts: Alert[] = [];
    const deps = { store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock };
    const keys = store.keys();
    // The record of the binlog the newest dump before the window starts in is gone (verification
    // lost, say): the chain no longer holds the dump's coordinates, and nothing can be proven.
    await store.delete('mysql/db1/records/2026-11-02/binlog.000025.gz.json');
    await rebuildHost(store, scope, clock);

    const [first] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });

    expect(first?.plan.blocked).toMatch(/^the binlog binlog.000025 of the dump .* is not in the chain$/);
    expect(first?.deleted).toEqual([]);
    expect(store.keys('mysql/db1/binlogs/')).toEqual(keys.filter((k) => k.startsWith('mysql/db1/binlogs/')));
    expect(alerts.map((a) => `${a.type}:${a.state}`)).toEqual(['retention-blocked:started']);
  });

  it('tells a lock (held, kept, no alert) from a refused delete with no lock (failed, retention-failed once, cleared when it goes)', async () => {
    const { store } = await threeDays();
    const alerts: Alert[] = [];
    const deps = { store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock };
    const [locked, refused] = store.keys('mysql/db1/binlogs/2026-11-01/');
    store.locks.set(locked ?? '', { legalHold: true });
    store.failing = { pattern: new RegExp(`^${refused}$`), error: new Error(`delete memory://${refused} failed: access denied`) };

    const [first] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    store.failing = undefined;
    const [second] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });

    expect(first?.held).toEqual([locked]);
    expect(first?.failed).toEqual([{ key: refused, reason: `delete memory://${refused} failed: access denied` }]);
    expect(second?.held).toEqual([locked]);
    expect(second?.failed).toEqual([]);
    expect(store.objects.has(locked ?? '')).toBe(true);
    expect(store.objects.has(refused ?? '')).toBe(false);
    expect(alerts.map((a) => `${a.type}:${a.state}`)).toEqual(['retention-failed:started', 'retention-failed:cleared']);
  });

  it('purges on a later run the record and checkpoint a lock held when their object went, through the same guarded purge, for one listing a run', async () => {
    const { store, dumps } = await threeDays();
    const alerts: Alert[] = [];
    const deps = { store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock };
    const oldest = parseObjectKey(dumps[0]?.key ?? '') as NonNullable<ReturnType<typeof parseObjectKey>>;
    const [record, checkpoint] = [recordKeyOf(oldest), checkpointKeyOf(oldest)];
    await store.put(checkpoint, '{}');
    store.locks.set(record, { legalHold: true });
    store.locks.set(checkpoint, { legalHold: true });

    const [first] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    expect(first?.deleted).toContain(oldest.key);
    expect(first?.held.sort()).toEqual([checkpoint, record].sort());
    expect(first?.orphans).toEqual([]);
    expect(store.objects.has(oldest.key)).toBe(false);

    expect((await readCatalogParts(store, scope)).some((p) => record in p.dumps)).toBe(false);
    // A `catalog rebuild` takes the held record in again: the catalog lists a dump whose object is gone.
    await rebuildHost(store, scope, clock);
    expect((await readCatalogParts(store, scope)).some((p) => record in p.dumps)).toBe(true);

    // Still locked: held again on the next run (found by the listing, not failed, no alert), the
    // catalog forgets it again, the rest untouched.
    const [second] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    expect((await readCatalogParts(store, scope)).some((p) => record in p.dumps)).toBe(false);
    expect(second?.held.sort()).toEqual([checkpoint, record].sort());
    expect(second?.failed).toEqual([]);
    // A dry run says what it would purge and purges nothing.
    store.locks.clear();
    const keys = store.keys();
    const [dry] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: true });
    expect(dry?.orphans.sort()).toEqual([checkpoint, record].sort());
    expect(store.keys()).toEqual(keys);

    // The lock over: the next run purges both, and nothing else.
    const before = { ...store.requests };
    const [third] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    expect(third?.orphans.sort()).toEqual([checkpoint, record].sort());
    expect(third?.held).toEqual([]);
    expect(third?.failed).toEqual([]);
    expect(store.keys()).toEqual(keys.filter((k) => k !== record && k !== checkpoint));
    expect(alerts).toEqual([]);
    const cost = (from: typeof before): Record<string, number> =>
      Object.fromEntries(Object.entries(store.requests).map(([kind, n]) => [kind, n - from[kind as keyof typeof from]]));
    const purging = cost(before);

    // A run with nothing left to purge: the sweep costs its one listing of the records area.
    const idle = { ...store.requests };
    const [fourth] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    expect(fourth?.orphans).toEqual([]);
    expect(store.keys()).toEqual(keys.filter((k) => k !== record && k !== checkpoint));
    const steady = cost(idle);
    // Lists: the hosts, the catalog, the head's newest day of binlogs and of dumps, the records (the
    // sweep's one), the binlogs, the dumps, the drills. The gets are the catalog's and the drill records'.
    expect(steady).toEqual({ get: 52, head: 0, put: 0, list: 8, delete: 0, tag: 0 });
    // The two purges are the only difference (a delete each).
    expect({ ...purging, delete: (purging.delete ?? 0) - 2 }).toEqual(steady);
  });

  it('an orphaned record whose purge is refused with no lock is failed (retention-failed once, cleared when it goes)', async () => {
    const { store, dumps } = await threeDays();
    const alerts: Alert[] = [];
    const deps = { store, alerts: { publish: async (a: Alert) => void alerts.push(a) }, clock };
    const record = recordKeyOf(parseObjectKey(dumps[0]?.key ?? '') as NonNullable<ReturnType<typeof parseObjectKey>>);
    store.locks.set(record, { legalHold: true });
    await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    store.locks.clear();
    store.failing = { pattern: new RegExp(`^${record}$`), error: new Error(`delete memory://${record} failed: access denied`) };

    const [refused] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });
    store.failing = undefined;
    const [next] = await runRetention(deps, { prefix: 'mysql', policy, dryRun: false });

    expect(refused?.failed).toEqual([{ key: record, reason: `delete memory://${record} failed: access denied` }]);
    expect(refused?.orphans).toEqual([]);
    expect(next?.orphans).toEqual([record]);
    expect(next?.failed).toEqual([]);
    expect(store.objects.has(record)).toBe(false);
    expect(alerts.map((a) => `${a.type}:${a.state}`)).toEqual(['retention-failed:started', 'retention-failed:cleared']);
  });
});
