/** The catalog of main before issue 17 (core/catalog/manifests.ts, one manifest per day rebuilt on every record): the baseline of bench/catalog. */
import { areaRoot, hostsRoot, isHostFolder, manifestKey, parseKey, type HostScope } from '../../core/layout.js';
import { updateJson } from '../../core/update-json.js';
import type { Clock, ObjectStore } from '../../core/ports.js';
import type { ObjectRecord } from '../../core/records.js';
import {
  buildCatalog,
  summarizeBinlog,
  summarizeDump,
  type BinlogSummary,
  type Catalog,
  type DumpSummary,
  type GapRecord,
} from '../../core/catalog/model.js';

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


/** The hosts that have anything under the prefix. */
export const listHosts = async (store: ObjectStore, prefix: string): Promise<string[]> =>
  (await store.list(hostsRoot(prefix), { delimiter: '/' })).prefixes
    .map((p) => p.slice(hostsRoot(prefix).length).replace(/\/$/, ''))
    .filter(isHostFolder);

/** Every day manifest of a host, oldest first. */
export const readManifests = async (store: ObjectStore, scope: HostScope): Promise<DayManifest[]> => {
  const keys = (await store.list(areaRoot(scope, 'catalog'))).keys.map((k) => k.key).filter((k) => parseKey(k)?.area === 'catalog').sort();
  return Promise.all(keys.map(async (key) => JSON.parse((await store.getBytes(key)).toString()) as DayManifest));
};

/** The days that have records, oldest first. */
export const recordDays = async (store: ObjectStore, scope: HostScope): Promise<string[]> =>
  (await store.list(areaRoot(scope, 'records'), { delimiter: '/' })).prefixes
    .map((p) => /(\d{4}-\d{2}-\d{2})\/$/.exec(p)?.[1] ?? '')
    .filter((d) => d !== '')
    .sort();

/** What the catalog is built from, gathered from day manifests: every summary, and the objects with no record yet. */
export const summariesOf = (
  manifests: Pick<DayManifest, 'binlogs' | 'dumps' | 'gapRecords' | 'objects'>[],
): { binlogs: BinlogSummary[]; dumps: DumpSummary[]; gapRecords: GapRecord[]; pending: string[] } => {
  const binlogs = manifests.flatMap((m) => Object.values(m.binlogs));
  const dumps = manifests.flatMap((m) => Object.values(m.dumps));
  const recorded = new Set([...binlogs.map((b) => b.key), ...dumps.map((d) => d.key)]);
  return {
    binlogs,
    dumps,
    gapRecords: manifests.flatMap((m) => Object.values(m.gapRecords)),
    pending: manifests.flatMap((m) => m.objects).filter((k) => !recorded.has(k)),
  };
};

/** The catalog of a host from (some of) its day manifests, as of `now`. */
export const catalogOf = (
  scope: HostScope,
  manifests: Pick<DayManifest, 'binlogs' | 'dumps' | 'gapRecords' | 'objects'>[],
  now: Date,
  options: CatalogOptions,
): Catalog =>
  buildCatalog({
    host: scope.host,
    ...summariesOf(manifests),
    now,
    ...(options.delayGraceSeconds !== undefined ? { delayGraceSeconds: options.delayGraceSeconds } : {}),
  });

/** The host's catalog from its day manifests (what `status` and the watchdog read). */
export const loadCatalog = async (store: ObjectStore, scope: HostScope, now: Date, options: CatalogOptions = {}): Promise<Catalog> =>
  catalogOf(scope, await readManifests(store, scope), now, options);

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
  return updateJson<DayManifest, DayManifest>(
    store,
    manifestKey(scope, day),
    async (existing) => {
      const binlogs: Record<string, BinlogSummary> = { ...existing?.binlogs };
      const dumps: Record<string, DumpSummary> = { ...existing?.dumps };
      const gapRecords: Record<string, GapRecord> = { ...existing?.gapRecords };

      const recordKeys = (await store.list(areaRoot(scope, 'records', day))).keys.map((k) => k.key);
      const present = new Set(recordKeys);
      // Records of objects that retention deleted are gone: so are their summaries.
      for (const table of [binlogs, dumps, gapRecords]) for (const k of Object.keys(table)) if (!present.has(k)) delete table[k];
      for (const recordKey of recordKeys) {
        if (recordKey in binlogs || recordKey in dumps || recordKey in gapRecords) continue;
        const body = JSON.parse((await store.getBytes(recordKey)).toString()) as ObjectRecord | GapRecord;
        if ('kind' in body && body.kind === 'gap') {
          gapRecords[recordKey] = body;
          continue;
        }
        const record = body as ObjectRecord;
        const area = parseKey(record.key)?.area;
        if (area === 'binlogs') binlogs[recordKey] = summarizeBinlog(record);
        else if (area === 'dumps') dumps[recordKey] = summarizeDump(record);
      }
      const objects = [
        ...(await store.list(areaRoot(scope, 'binlogs', day))).keys,
        ...(await store.list(areaRoot(scope, 'dumps', day))).keys,
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
        catalog: catalogOf(scope, [...others, mine], now, options),
        builtAt: now.toISOString(),
      };
      return { next: manifest, result: manifest };
    },
    { ...(options.fresh ? { ignoreCurrent: true } : {}) },
  );
};
