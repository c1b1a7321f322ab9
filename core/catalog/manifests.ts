import { WriteConflictError } from '../errors.js';
import { hostRoot, type HostScope } from '../layout.js';
import type { Clock, ObjectStore } from '../ports.js';
import type { ObjectRecord } from '../records.js';
import {
  buildCatalog,
  summarizeBinlog,
  summarizeDump,
  type BinlogSummary,
  type Catalog,
  type DumpSummary,
  type GapRecord,
} from './model.js';

/**
 * A day's manifest, `{prefix}/{host}/catalog/{day}.json`: the day's objects, the summaries of the
 * day's records (what the catalog needs of them), a link to the previous day's manifest, and the
 * host's catalog as of when it was built. Rebuilt from the records, never hand-edited.
 */
export interface DayManifest {
  manifestVersion: 1;
  host: string;
  day: string;
  previous: string | null;
  objects: string[];
  binlogs: Record<string, BinlogSummary>;
  dumps: Record<string, DumpSummary>;
  gapRecords: Record<string, GapRecord>;
  catalog: Catalog;
  builtAt: string;
}

export interface CatalogOptions {
  delayGraceSeconds?: number;
}

const catalogRoot = (scope: HostScope): string => `${hostRoot(scope)}/catalog/`;
export const manifestKey = (scope: HostScope, day: string): string => `${catalogRoot(scope)}${day}.json`;
const DAY = /(\d{4}-\d{2}-\d{2})\.json$/;

/** The hosts that have anything under the prefix. */
export const listHosts = async (store: ObjectStore, prefix: string): Promise<string[]> =>
  (await store.list(prefix === '' ? '' : `${prefix}/`, { delimiter: '/' })).prefixes
    .map((p) => p.slice(prefix === '' ? 0 : prefix.length + 1).replace(/\/$/, ''))
    .filter((h) => h !== '');

/** Every day manifest of a host, oldest first. */
export const readManifests = async (store: ObjectStore, scope: HostScope): Promise<DayManifest[]> => {
  const keys = (await store.list(catalogRoot(scope))).keys.map((k) => k.key).filter((k) => DAY.test(k)).sort();
  return Promise.all(keys.map(async (key) => JSON.parse((await store.getBytes(key)).toString()) as DayManifest));
};

/** The days that have records, oldest first. */
export const recordDays = async (store: ObjectStore, scope: HostScope): Promise<string[]> =>
  (await store.list(`${hostRoot(scope)}/records/`, { delimiter: '/' })).prefixes
    .map((p) => /(\d{4}-\d{2}-\d{2})\/$/.exec(p)?.[1] ?? '')
    .filter((d) => d !== '')
    .sort();

const build = (
  scope: HostScope,
  manifests: Pick<DayManifest, 'binlogs' | 'dumps' | 'gapRecords' | 'objects'>[],
  now: Date,
  options: CatalogOptions,
): Catalog => {
  const binlogs = manifests.flatMap((m) => Object.values(m.binlogs));
  const dumps = manifests.flatMap((m) => Object.values(m.dumps));
  const recorded = new Set([...binlogs.map((b) => b.key), ...dumps.map((d) => d.key)]);
  return buildCatalog({
    host: scope.host,
    binlogs,
    dumps,
    gapRecords: manifests.flatMap((m) => Object.values(m.gapRecords)),
    pending: manifests.flatMap((m) => m.objects).filter((k) => !recorded.has(k)),
    now,
    ...(options.delayGraceSeconds !== undefined ? { delayGraceSeconds: options.delayGraceSeconds } : {}),
  });
};

/** The host's catalog from its day manifests (what `status` and the watchdog read). */
export const loadCatalog = async (store: ObjectStore, scope: HostScope, now: Date, options: CatalogOptions = {}): Promise<Catalog> =>
  build(scope, await readManifests(store, scope), now, options);

/**
 * Rebuilds one day's manifest from that day's records and objects, reading only the records it
 * has not summarized yet (all of them with `fresh`). Safe under concurrent invocations: the write
 * is conditional on the version read (If-Match / If-None-Match) and retried on a conflict, so no
 * invocation can overwrite a record another one added.
 */
export const rebuildDay = async (
  store: ObjectStore,
  scope: HostScope,
  day: string,
  clock: Clock,
  options: CatalogOptions & { fresh?: boolean } = {},
): Promise<DayManifest> => {
  const key = manifestKey(scope, day);
  for (let attempt = 0; ; attempt++) {
    const current = await store.getVersioned(key);
    const existing = current && !options.fresh ? (JSON.parse(current.body.toString()) as DayManifest) : undefined;
    const binlogs: Record<string, BinlogSummary> = { ...existing?.binlogs };
    const dumps: Record<string, DumpSummary> = { ...existing?.dumps };
    const gapRecords: Record<string, GapRecord> = { ...existing?.gapRecords };

    const recordKeys = (await store.list(`${hostRoot(scope)}/records/${day}/`)).keys.map((k) => k.key);
    const present = new Set(recordKeys);
    // Records of objects that retention deleted are gone: so are their summaries.
    for (const table of [binlogs, dumps, gapRecords]) for (const k of Object.keys(table)) if (!present.has(k)) delete table[k];
    for (const recordKey of recordKeys) {
      if (recordKey in binlogs || recordKey in dumps || recordKey in gapRecords) continue;
      const body = JSON.parse((await store.getBytes(recordKey)).toString()) as ObjectRecord | (GapRecord & { kind: 'gap' });
      if ('kind' in body && body.kind === 'gap') gapRecords[recordKey] = body as GapRecord;
      else if ((body as ObjectRecord).key?.includes('/binlogs/')) binlogs[recordKey] = summarizeBinlog(body as ObjectRecord);
      else if ((body as ObjectRecord).key?.includes('/dumps/')) dumps[recordKey] = summarizeDump(body as ObjectRecord);
    }
    const objects = [
      ...(await store.list(`${hostRoot(scope)}/binlogs/${day}/`)).keys,
      ...(await store.list(`${hostRoot(scope)}/dumps/${day}/`)).keys,
    ].map((o) => o.key);

    const others = (await readManifests(store, scope)).filter((m) => m.day !== day);
    const previous = others.filter((m) => m.day < day).map((m) => manifestKey(scope, m.day)).pop() ?? null;
    const now = clock.now();
    const mine = { binlogs, dumps, gapRecords, objects };
    const manifest: DayManifest = {
      manifestVersion: 1,
      host: scope.host,
      day,
      previous,
      objects,
      binlogs,
      dumps,
      gapRecords,
      catalog: build(scope, [...others, mine], now, options),
      builtAt: now.toISOString(),
    };
    try {
      await store.put(key, JSON.stringify(manifest, null, 2), {
        contentType: 'application/json',
        ...(current ? { ifMatch: current.etag } : { ifAbsent: true }),
      });
      return manifest;
    } catch (error) {
      const conflict = error instanceof WriteConflictError || (error as Error).name === 'ObjectExistsError';
      if (!conflict || attempt >= 8) throw error;
    }
  }
};
