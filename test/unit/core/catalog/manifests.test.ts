import { describe, expect, it } from 'vitest';
import { catalogRecord, forgetRecords, loadCatalog, rebuildHost } from '../../../../core/catalog/manifests.js';
import { summarizeBinlog, summarizeDump } from '../../../../core/catalog/model.js';
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

/** A clock the test moves. */
const movable = (start: number) => {
  let t = start;
  return { now: () => new Date(t * 1000), set: (seconds: number) => void (t = seconds) };
};

const recordOf = (record: ObjectRecord): string => recordKey(scope, DAY, record.name);

describe('the catalog, with the ObjectStore port in memory', () => {
  it('takes each record in with four requests: its summary, then the head (a conditional write)', async () => {
    const store = new MemoryStore();
    const c = movable(T0 + 3600);
    await ship(store, dumpRecord());
    await catalogRecord(store, recordOf(dumpRecord()), c);
    for (let n = 1; n <= 5; n++) {
      await ship(store, binlogRecord(n));
      const before = { ...store.requests };
      const update = await catalogRecord(store, recordOf(binlogRecord(n)), c);
      expect(update?.sealed).toEqual([]);
      expect({ get: store.requests.get - before.get, put: store.requests.put - before.put, list: store.requests.list - before.list }).toEqual({ get: 2, put: 2, list: 0 });
    }
    const hour = new Date((T0 + 3600) * 1000).toISOString().slice(0, 13);
    expect(store.keys('mysql/db1/catalog/open/')).toHaveLength(6);
    expect(JSON.parse(store.objects.get('mysql/db1/catalog/head.jsonl')?.body.toString() ?? '')).toMatchObject({ headVersion: 1, open: [hour], records: 6 });
    const catalog = await loadCatalog(store, scope, clock.now());
    expect(catalog.gaps).toEqual([]);
    expect(catalog.windows.map((w) => [w.from, w.to])).toEqual([[at(T0 + 90), at(T0 + 359)]]);
  });

  it('seals an hour once it is over: one segment, the summaries gone, the same catalog; the cost per record stays flat', async () => {
    const store = new MemoryStore();
    const c = movable(T0 + 3600);
    await ship(store, dumpRecord());
    await catalogRecord(store, recordOf(dumpRecord()), c);
    for (let n = 1; n <= 3; n++) {
      await ship(store, binlogRecord(n));
      await catalogRecord(store, recordOf(binlogRecord(n)), c);
    }
    const hour = new Date((T0 + 3600) * 1000).toISOString().slice(0, 13);
    c.set(T0 + 2 * 3600 + 301);
    await ship(store, binlogRecord(4));
    const update = await catalogRecord(store, recordOf(binlogRecord(4)), c);

    expect(update?.sealed).toEqual([hour]);
    expect(store.keys('mysql/db1/catalog/segments/')).toEqual([`mysql/db1/catalog/segments/${hour}.jsonl`]);
    expect(store.objects.get(`mysql/db1/catalog/segments/${hour}.jsonl`)?.body.toString().trim().split('\n')).toHaveLength(4);
    expect(store.keys('mysql/db1/catalog/open/')).toHaveLength(1);
    expect(update?.head.open).toEqual([new Date((T0 + 2 * 3600 + 301) * 1000).toISOString().slice(0, 13)]);
    expect((await loadCatalog(store, scope, clock.now())).windows.map((w) => w.to)).toEqual([at(T0 + 299)]);

    // A long history changes nothing of what one more record costs.
    for (let h = 0; h < 30 * 24; h++) await store.put(`mysql/db1/catalog/segments/2026-09-${String(1 + Math.floor(h / 24)).padStart(2, '0')}T${String(h % 24).padStart(2, '0')}.jsonl`, '');
    await ship(store, binlogRecord(5));
    const before = { ...store.requests };
    await catalogRecord(store, recordOf(binlogRecord(5)), c);
    expect(Object.entries(store.requests).reduce((sum, [k, v]) => sum + v - before[k as keyof typeof before], 0)).toBe(4);
  });

  it('merges the hour segments of a day that is over into one day segment, with the same catalog', async () => {
    const store = new MemoryStore();
    const c = movable(T0 + 3600);
    await ship(store, dumpRecord());
    await catalogRecord(store, recordOf(dumpRecord()), c);
    for (let n = 1; n <= 4; n++) {
      await ship(store, binlogRecord(n));
      c.set(T0 + 3600 * (2 * n) + 400);
      await catalogRecord(store, recordOf(binlogRecord(n)), c);
    }
    expect(store.keys('mysql/db1/catalog/segments/').length).toBeGreaterThan(1);
    const before = await loadCatalog(store, scope, clock.now());

    c.set(T0 + 86_400 + 3600 + 301);
    await ship(store, binlogRecord(5));
    const update = await catalogRecord(store, recordOf(binlogRecord(5)), c);

    expect(update?.compacted).toEqual([DAY]);
    expect(store.keys('mysql/db1/catalog/segments/')).toEqual([`mysql/db1/catalog/segments/${DAY}.jsonl`]);
    const after = await loadCatalog(store, scope, clock.now());
    expect(after.chain.map((l) => l.name)).toEqual([...before.chain.map((l) => l.name), 'binlog.000005']);
  });

  it('takes a duplicate event in without change', async () => {
    const store = new MemoryStore();
    const c = movable(T0 + 3600);
    for (let n = 1; n <= 3; n++) await ship(store, binlogRecord(n));
    for (const n of [1, 2, 3, 2, 1]) await catalogRecord(store, recordOf(binlogRecord(n)), c);
    c.set(T0 + 3 * 3600);
    await catalogRecord(store, recordOf(binlogRecord(3)), c);
    expect((await loadCatalog(store, scope, clock.now())).chain.map((l) => l.name)).toEqual(['binlog.000001', 'binlog.000002', 'binlog.000003']);
  });

  it('loses no hour to a concurrent writer: a lost conditional write of the head is read again and retried', async () => {
    const store = new MemoryStore();
    const c = movable(T0 + 3600);
    for (let n = 1; n <= 2; n++) await ship(store, binlogRecord(n));
    await catalogRecord(store, recordOf(binlogRecord(1)), c);
    const put = store.put.bind(store);
    let raced = false;
    store.put = async (key, body, options) => {
      if (!raced && key.endsWith('catalog/head.jsonl')) {
        raced = true;
        // Another invocation, an hour later, writes the head between this one's read and its write.
        const other = movable(T0 + 2 * 3600);
        store.put = put;
        await catalogRecord(store, recordOf(binlogRecord(1)), other);
      }
      return put(key, body, options);
    };

    const update = await catalogRecord(store, recordOf(binlogRecord(2)), c);

    expect(raced).toBe(true);
    expect(update?.head.open).toHaveLength(2);
    expect(update?.head.records).toBe(3);
  });

  it('reads the day manifests of the old layout, and catalog rebuild replaces them with segments', async () => {
    const store = new MemoryStore();
    await ship(store, dumpRecord());
    for (let n = 1; n <= 5; n++) await ship(store, binlogRecord(n));
    const old = Object.fromEntries(
      [dumpRecord(), ...[1, 2, 3, 4, 5].map(binlogRecord)].map((r) => [recordOf(r), r.kind === 'dump' ? summarizeDump(r) : summarizeBinlog(r)]),
    );
    const manifest = {
      manifestVersion: 1,
      host: 'db1',
      day: DAY,
      previous: null,
      objects: [],
      binlogs: Object.fromEntries(Object.entries(old).filter(([k]) => k.includes('binlog'))),
      dumps: Object.fromEntries(Object.entries(old).filter(([k]) => !k.includes('binlog'))),
      gapRecords: {},
      catalog: {},
      builtAt: at(T0),
    };
    await store.put(`mysql/db1/catalog/${DAY}.json`, JSON.stringify(manifest));
    const before = await loadCatalog(store, scope, clock.now());
    expect(before.windows.map((w) => [w.from, w.to])).toEqual([[at(T0 + 90), at(T0 + 359)]]);

    const rebuilt = await rebuildHost(store, scope, clock);

    expect(rebuilt).toMatchObject({ records: 6, binlogs: 5, dumps: 1 });
    expect(store.keys('mysql/db1/catalog/').filter((k) => k.endsWith('.json'))).toEqual([]);
    expect(store.keys('mysql/db1/catalog/segments/').length).toBeGreaterThan(0);
    expect(await loadCatalog(store, scope, clock.now())).toEqual(before);
  });

  it('forgets the records retention deleted, in segments and in open summaries', async () => {
    const store = new MemoryStore();
    const c = movable(T0 + 3600);
    for (let n = 1; n <= 4; n++) await ship(store, binlogRecord(n));
    await rebuildHost(store, scope, c);
    await catalogRecord(store, recordOf(binlogRecord(4)), c);

    await forgetRecords(store, scope, new Set([recordOf(binlogRecord(1)), recordOf(binlogRecord(4))]));

    expect((await loadCatalog(store, scope, clock.now())).chain.map((l) => l.name)).toEqual(['binlog.000002', 'binlog.000003']);
  });
});
