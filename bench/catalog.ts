/**
 * bench/catalog: what one new object costs the catalog — S3 requests, bytes read and written, time —
 * at 100, 1,000 and 10,000 objects a day with 30 and 365 days of history, against the local S3
 * endpoint, through a counting ObjectStore. The baseline, in the same run, is the catalog before
 * issue 17 (bench/baseline/day-manifests.ts: every day manifest read and the day's rewritten on
 * every record), where seeding its history is feasible here.
 *
 * New catalog, per configuration: the history seeded as it is left (one compacted segment per day,
 * real summaries — at most BENCH_SEGMENT_LINES of them per hour, since nothing here reads them;
 * the run asserts that no key outside the head, this hour's summaries and the record is touched),
 * then one whole hour of records (objects/day ÷ 24) taken in, and the first record of the next hour,
 * which seals it: the cost per object includes the sealing. Not included: merging a day's hour
 * segments once the day is over (about 24 GETs, 1 PUT and 24 DELETEs a day, whatever the objects).
 *
 *   npm run bench:catalog        # BENCH_BASELINE=0 / BENCH_NEW=0 skip a side; BENCH_SEGMENT_LINES (default 42)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogRecord, type CatalogLine } from '../core/catalog/manifests.js';
import { buildCatalog, type BinlogSummary, type DumpSummary } from '../core/catalog/model.js';
import { catalogHeadKey, hourOf, manifestKey, parseObjectKey, recordKeyOf, segmentKey, segmentsRoot } from '../core/layout.js';
import type { ListOptions, ObjectStore, PutOptions } from '../core/ports.js';
import { S3Store } from '../drivers/aws/s3.js';
import { startLocalEndpoint } from '../local/s3-endpoint.js';
import { binlogSeries, dumpAt, recordOf, T0 } from '../test/helpers/catalog.js';
import { rebuildDay } from './baseline/day-manifests.js';

/** Counts what passes through to the store: requests by kind, bytes each way, and the keys touched. */
class CountingStore {
  public requests = { get: 0, put: 0, list: 0, delete: 0, head: 0 };
  public bytesRead = 0;
  public bytesWritten = 0;
  public touched = new Set<string>();
  public constructor(private readonly inner: ObjectStore) {}
  public reset(): void {
    this.requests = { get: 0, put: 0, list: 0, delete: 0, head: 0 };
    this.bytesRead = 0;
    this.bytesWritten = 0;
    this.touched.clear();
  }
  public total(): number {
    return Object.values(this.requests).reduce((a, b) => a + b, 0);
  }
  public store(): ObjectStore {
    const inner = this.inner;
    const self = this;
    return {
      putStream: (key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions) => inner.putStream(key, body, options),
      listMultipartUploads: (prefix: string) => inner.listMultipartUploads(prefix),
      abortMultipartUpload: (key: string, id: string) => inner.abortMultipartUpload(key, id),
      tag: (key: string, tags: Record<string, string>) => inner.tag(key, tags),
      url: (k: string) => inner.url(k),
      head: async (key: string) => (self.requests.head++, self.touched.add(key), inner.head(key)),
      get: async (key: string) => (self.requests.get++, self.touched.add(key), inner.get(key)),
      getBytes: async (key: string) => {
        self.requests.get++;
        self.touched.add(key);
        const body = await inner.getBytes(key);
        self.bytesRead += body.length;
        return body;
      },
      getVersioned: async (key: string) => {
        self.requests.get++;
        self.touched.add(key);
        const body = await inner.getVersioned(key);
        self.bytesRead += body?.body.length ?? 0;
        return body;
      },
      put: async (key: string, body: Buffer | string, options?: PutOptions) => {
        self.requests.put++;
        self.touched.add(key);
        self.bytesWritten += Buffer.byteLength(body);
        return inner.put(key, body, options);
      },
      list: async (prefix: string, options?: ListOptions) => {
        const result = await inner.list(prefix, options);
        // One request per 1,000 keys, as S3's ListObjectsV2 pages.
        self.requests.list += Math.max(1, Math.ceil((result.keys.length + result.prefixes.length) / 1000));
        self.touched.add(`${prefix}*`);
        return result;
      },
      delete: async (key: string) => (self.requests.delete++, self.touched.add(key), inner.delete(key)),
      purge: async (key: string) => (self.requests.delete++, self.touched.add(key), inner.purge(key)),
      lockOf: async (key: string) => (self.requests.head++, inner.lockOf(key)),
    };
  }
}

const SEGMENT_LINES = Number(process.env.BENCH_SEGMENT_LINES ?? 42);
const configs: { perDay: number; days: number }[] = [
  { perDay: 100, days: 30 },
  { perDay: 100, days: 365 },
  { perDay: 1000, days: 30 },
  { perDay: 1000, days: 365 },
  { perDay: 10_000, days: 30 },
  { perDay: 10_000, days: 365 },
];
/** Where the baseline's history can be seeded here (its manifests hold the whole chain each). */
const baselineConfigs = process.env.BENCH_BASELINE === '0' ? [] : [{ perDay: 100, days: 30 }, { perDay: 1000, days: 30 }];
/** BENCH_NEW=0 runs the baseline alone. */
const newConfigs = process.env.BENCH_NEW === '0' ? [] : configs;

const withStore = async <T>(run: (store: S3Store) => Promise<T>): Promise<T> => {
  const directory = await mkdtemp(join(tmpdir(), 'bv-bench-catalog-'));
  const endpoint = await startLocalEndpoint({ directory, buckets: ['bench'], port: 0 });
  try {
    return await run(S3Store.fromConfig({ bucket: 'bench', s3Endpoint: endpoint.url }));
  } finally {
    await endpoint.close();
    await rm(directory, { recursive: true, force: true });
  }
};

const scope = { prefix: 'mysql', host: 'db1' };

/** Puts a binlog's object and record, as the shipper and the verify function would (not counted). */
const ship = async (store: ObjectStore, summary: BinlogSummary | DumpSummary): Promise<string> => {
  const ref = parseObjectKey(summary.key);
  if (!ref) throw new Error(`not an object key: ${summary.key}`);
  await store.put(summary.key, Buffer.alloc(100));
  await store.put(recordKeyOf(ref), JSON.stringify(recordOf(summary)));
  return recordKeyOf(ref);
};

interface Cost {
  objects: number;
  requests: number;
  byKind: Record<string, number>;
  readKB: number;
  writtenKB: number;
  ms: number;
}

const perObject = (counter: CountingStore, objects: number, ms: number): Cost => ({
  objects,
  requests: Number((counter.total() / objects).toFixed(2)),
  byKind: Object.fromEntries(Object.entries(counter.requests).map(([k, v]) => [k, Number((v / objects).toFixed(2))])),
  readKB: Number((counter.bytesRead / objects / 1000).toFixed(2)),
  writtenKB: Number((counter.bytesWritten / objects / 1000).toFixed(2)),
  ms: Number((ms / objects).toFixed(1)),
});

const measureNew = async (perDay: number, days: number): Promise<Cost & { seededSegments: number }> =>
  withStore(async (s3) => {
    const perHour = Math.max(1, Math.round(perDay / 24));
    const span = Math.floor(86_400 / perDay);
    const start = T0;
    // History: one compacted segment per day (its hours' segments merged once the day is over),
    // real summaries of a continuous chain.
    const lines = Math.min(perHour, SEGMENT_LINES);
    let n = 1;
    const seed: Promise<void>[] = [];
    for (let d = 0; d < days; d++) {
      let text = '';
      for (let h = 0; h < 24; h++) {
        const at = start + d * 86_400 + h * 3600;
        const series = binlogSeries({ count: lines, from: n, start: at, span: Math.floor(3600 / lines), seq0: (n - 1) * 10 });
        n += perHour;
        text += series.map((b) => `${JSON.stringify({ record: `mysql/db1/records/${b.day}/${b.name}.gz.json`, binlog: b } satisfies CatalogLine)}\n`).join('');
      }
      seed.push(s3.put(segmentKey(scope, new Date((start + d * 86_400) * 1000).toISOString().slice(0, 10)), text));
      if (seed.length >= 8) await Promise.all(seed.splice(0));
    }
    await Promise.all(seed);
    await s3.put(catalogHeadKey(scope), `${JSON.stringify({ headVersion: 1, host: 'db1', open: [], last: null, records: 0, updatedAt: new Date().toISOString() })}\n`);

    // One hour of new records, then the first of the next hour (which seals it).
    const hourStart = start + days * 86_400;
    const fresh = binlogSeries({ count: perHour + 1, from: n, start: hourStart, span, seq0: (n - 1) * 10 });
    const counter = new CountingStore(s3);
    const store = counter.store();
    let ms = 0;
    for (let i = 0; i < fresh.length; i++) {
      const b = fresh[i] as BinlogSummary;
      const key = await ship(s3, b);
      const now = i < perHour ? new Date((hourStart + 60 + i * (3000 / perHour)) * 1000) : new Date((hourStart + 3600 + 301) * 1000);
      const started = performance.now();
      const update = await catalogRecord(store, key, { now: () => now });
      ms += performance.now() - started;
      if (i === perHour && update?.sealed.length !== 1) throw new Error('the hour was not sealed');
    }
    // The segments are listed (one request per 1,000: a day's segment each) to find days to merge; none is read.
    const outside = [...counter.touched].filter((k) => !k.includes('/catalog/open/') && !k.includes('/records/') && k !== catalogHeadKey(scope) && k !== `${segmentsRoot(scope)}*` && !k.includes(`/catalog/segments/${hourOf(new Date(hourStart * 1000))}`));
    if (outside.length > 0) throw new Error(`the new catalog touched history: ${outside.slice(0, 3).join(', ')}`);
    return { ...perObject(counter, fresh.length, ms), seededSegments: days };
  });

const measureBaseline = async (perDay: number, days: number): Promise<Cost> =>
  withStore(async (s3) => {
    const span = Math.floor(86_400 / perDay);
    // Exactly perDay binlogs in each day, the chain continuous across days.
    const all = Array.from({ length: days + 1 }, (_, d) => binlogSeries({ count: perDay, from: d * perDay + 1, start: T0 + d * 86_400, span, seq0: d * perDay * 10 })).flat();
    const dumps = Array.from({ length: days + 1 }, (_, d) => dumpAt(T0 + d * 86_400 + 30, all[d * perDay]?.name ?? ''));
    // History: the day manifests the old catalog function left, each with the host's catalog as of its day.
    for (let d = 0; d < days; d++) {
      const day = all[d * perDay]?.day ?? '';
      const mine = all.slice(d * perDay, (d + 1) * perDay);
      const upTo = all.slice(0, (d + 1) * perDay);
      const key = (b: BinlogSummary | DumpSummary): string => recordKeyOf(parseObjectKey(b.key) as NonNullable<ReturnType<typeof parseObjectKey>>);
      const catalog = buildCatalog({ host: 'db1', binlogs: upTo, dumps: dumps.slice(0, d + 1), gapRecords: [], pending: [], now: new Date((T0 + (d + 1) * 86_400) * 1000) });
      const manifest = {
        manifestVersion: 1,
        host: 'db1',
        day,
        previous: null,
        objects: [],
        binlogs: Object.fromEntries(mine.map((b) => [key(b), b])),
        dumps: Object.fromEntries([[key(dumps[d] as DumpSummary), dumps[d]]]),
        gapRecords: {},
        catalog,
        builtAt: new Date().toISOString(),
      };
      await s3.put(manifestKey(scope, day), JSON.stringify(manifest, null, 2));
    }
    // Today: half a day of records already taken in, then the measured ones.
    const today = all.slice(days * perDay);
    const half = Math.floor(perDay / 2);
    const clock = { now: () => new Date((T0 + (days + 1) * 86_400) * 1000) };
    for (const b of today.slice(0, half)) await ship(s3, b);
    await rebuildDay(s3, scope, today[0]?.day ?? '', clock);
    const counter = new CountingStore(s3);
    const store = counter.store();
    const measured = today.slice(half, half + 5);
    let ms = 0;
    for (const b of measured) {
      await ship(s3, b);
      const started = performance.now();
      await rebuildDay(store, scope, b.day, clock);
      ms += performance.now() - started;
    }
    return perObject(counter, measured.length, ms);
  });

const results: unknown[] = [];
for (const { perDay, days } of baselineConfigs) {
  const cost = await measureBaseline(perDay, days);
  const line = { bench: 'catalog', catalog: 'baseline: day manifests', perDay, days, ...cost };
  results.push(line);
  console.log(JSON.stringify(line));
}
for (const { perDay, days } of newConfigs) {
  const cost = await measureNew(perDay, days);
  const line = { bench: 'catalog', catalog: 'head + hour segments', perDay, days, ...cost };
  results.push(line);
  console.log(JSON.stringify(line));
}
console.log('\nper object (new records of a whole hour, the sealing of that hour included):');
console.log('catalog                  objects/day  days  requests  read KB  written KB  ms');
for (const r of results as (Cost & { catalog: string; perDay: number; days: number })[]) {
  console.log(`${r.catalog.padEnd(24)} ${String(r.perDay).padStart(11)} ${String(r.days).padStart(5)} ${String(r.requests).padStart(9)} ${String(r.readKB).padStart(8)} ${String(r.writtenKB).padStart(11)} ${String(r.ms).padStart(4)}`);
}
