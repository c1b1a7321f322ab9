import { describe, expect, it } from 'vitest';
import { loadCatalog, rebuildDay, type DayManifest } from '../../../../core/catalog/manifests.js';
import { recordKey } from '../../../../core/layout.js';
import type { ObjectRecord } from '../../../../core/records.js';
import { at, T0 } from '../../../helpers/catalog.js';
import { MemoryStore } from '../../../helpers/memory-store.js';

const scope = { prefix: 'mysql', host: 'db1' };
const DAY = '2026-11-01';
const clock = { now: () => new Date((T0 + 3600) * 1000) };

/** A verified binlog's record: file n covers [T0 + 60n, T0 + 60n + 59], GTIDs 0-1-10n. */
const binlogRecord = (n: number): ObjectRecord => {
  const name = `binlog.${String(n).padStart(6, '0')}`;
  return {
    recordVersion: 1,
    kind: 'binlog',
    key: `mysql/db1/binlogs/${DAY}/${name}.gz`,
    host: 'db1',
    day: DAY,
    name: `${name}.gz`,
    status: 'ok',
    reasons: [],
    size: 1000,
    rawSize: 3000,
    sha256: 'x',
    gzip: { ok: true, sealed: true },
    metadata: { 'server-id': '1' },
    binlog: {
      flavor: 'mariadb',
      serverIds: [1],
      firstEventTime: at(T0 + 60 * n),
      lastEventTime: at(T0 + 60 * n + 59),
      end: 'rotate',
      rotateTo: `binlog.${String(n + 1).padStart(6, '0')}`,
      gtids: `0-1-${10 * n}`,
      previousGtids: n === 1 ? '' : `0-1-${10 * (n - 1)}`,
    } as ObjectRecord['binlog'],
    verifiedAt: at(T0 + 60 * n + 65),
    verifierVersion: 'test',
  };
};

const dumpRecord = (): ObjectRecord => ({
  ...binlogRecord(1),
  kind: 'dump',
  key: `mysql/db1/dumps/${DAY}/db1-20261101T000030Z.sql.gz`,
  name: 'db1-20261101T000030Z.sql.gz',
  binlog: undefined,
  dump: { completedAt: '2026-11-01 00:01:30', binlogFile: 'binlog.000001', binlogPosition: 1234, databases: ['shop'], complete: true } as unknown as ObjectRecord['dump'],
});

const ship = async (store: MemoryStore, record: ObjectRecord): Promise<void> => {
  await store.put(record.key, 'object');
  await store.put(recordKey(scope, DAY, record.name), JSON.stringify(record));
};

describe('rebuildDay, with the ObjectStore port in memory', () => {
  it('summarizes the day’s records into its manifest, with the host’s catalog and window', async () => {
    const store = new MemoryStore();
    await ship(store, dumpRecord());
    for (let n = 1; n <= 5; n++) await ship(store, binlogRecord(n));

    const manifest = await rebuildDay(store, scope, DAY, clock);

    expect(Object.keys(manifest.binlogs)).toHaveLength(5);
    expect(Object.keys(manifest.dumps)).toHaveLength(1);
    expect(manifest.objects).toHaveLength(6);
    expect(manifest.catalog.gaps).toEqual([]);
    expect(manifest.catalog.windows.map((w) => [w.from, w.to])).toEqual([[at(T0 + 90), at(T0 + 359)]]);
    expect(store.json<DayManifest>(`mysql/db1/catalog/${DAY}.json`)).toEqual(manifest);
    expect((await loadCatalog(store, scope, clock.now())).latestRestorableTime).toBe(at(T0 + 359));
  });

  it('reads only the records it has not summarized yet', async () => {
    const store = new MemoryStore();
    for (let n = 1; n <= 5; n++) await ship(store, binlogRecord(n));
    await rebuildDay(store, scope, DAY, clock);
    await ship(store, binlogRecord(6));
    const before = store.requests.get;

    const manifest = await rebuildDay(store, scope, DAY, clock);

    // The manifest itself, the one new record, and the day manifests of the host (one).
    expect(store.requests.get - before).toBe(3);
    expect(Object.keys(manifest.binlogs)).toHaveLength(6);
  });

  it('drops the summary of a record retention deleted', async () => {
    const store = new MemoryStore();
    for (let n = 1; n <= 3; n++) await ship(store, binlogRecord(n));
    await rebuildDay(store, scope, DAY, clock);
    await store.delete(recordKey(scope, DAY, 'binlog.000001.gz'));

    const manifest = await rebuildDay(store, scope, DAY, clock);

    expect(Object.values(manifest.binlogs).map((b) => b.name)).toEqual(['binlog.000002', 'binlog.000003']);
  });

  it('loses no record to a concurrent writer: a lost conditional write is read again and retried', async () => {
    const store = new MemoryStore();
    for (let n = 1; n <= 2; n++) await ship(store, binlogRecord(n));
    await rebuildDay(store, scope, DAY, clock);
    // Another invocation writes the manifest (with record 3) between this one's read and its write.
    await ship(store, binlogRecord(3));
    const put = store.put.bind(store);
    let raced = false;
    store.put = async (key, body, options) => {
      if (!raced && key.endsWith(`catalog/${DAY}.json`)) {
        raced = true;
        await ship(store, binlogRecord(4));
        await put(key, JSON.stringify({ ...store.json<DayManifest>(key), builtAt: 'by the other invocation' }));
      }
      return put(key, body, options);
    };

    const manifest = await rebuildDay(store, scope, DAY, clock);

    expect(raced).toBe(true);
    expect(Object.values(manifest.binlogs).map((b) => b.name)).toEqual(['binlog.000001', 'binlog.000002', 'binlog.000003', 'binlog.000004']);
    expect(store.json<DayManifest>(`mysql/db1/catalog/${DAY}.json`).builtAt).toBe(manifest.builtAt);
  });
});
