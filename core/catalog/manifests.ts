import {
  areaRoot,
  catalogHeadKey,
  hostsRoot,
  hourEnd,
  hourOf,
  isHostFolder,
  openSummariesRoot,
  parseKey,
  segmentKey,
  segmentsRoot,
  summaryKey,
  type HostScope,
} from '../layout.js';
import { updateJson } from '../update-json.js';
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
 * The catalog's storage. Its cost per new record is constant, whatever the objects per day and the
 * days kept:
 *
 * - a record's **summary** (what the catalog needs of it, one JSON line) is written once, into the
 *   hour the catalog function ran in: `catalog/open/{hour}/{day}.{name}.jsonl`;
 * - the host's **head** (`catalog/head.jsonl`: the open hours, the newest record) is updated by a
 *   conditional write (If-Match, read again and retried when another writer got there first);
 * - an hour over (and {@link SEAL_GRACE_SECONDS} past) is **sealed**: its summaries gathered into one
 *   immutable-by-content **segment** `catalog/segments/{hour}.jsonl` (a union with what is there, so
 *   two sealers never lose a line), the hour leaves the head, its summaries are removed.
 *
 * A reader (status, the watchdog, the restore planner, retention) gathers the segments, the open
 * summaries and any day manifest of the old layout (`catalog/{day}.json`, removed by `catalog
 * rebuild`), and builds the catalog from them with {@link buildCatalog}. Nothing here is hand-edited:
 * `catalog rebuild` makes all of it again from the records.
 */

/** One line of a summary or a segment: the record's key and what the catalog keeps of it. */
export type CatalogLine =
  | { record: string; binlog: BinlogSummary }
  | { record: string; dump: DumpSummary }
  | { record: string; gap: GapRecord };

/** What the catalog is built from, keyed by record key (the shape of the old day manifests). */
export interface CatalogEntries {
  binlogs: Record<string, BinlogSummary>;
  dumps: Record<string, DumpSummary>;
  gapRecords: Record<string, GapRecord>;
  /** Objects in the bucket with no record yet (being verified). */
  objects: string[];
}

/** Entries and the catalog object they were read from. */
export interface CatalogPart extends CatalogEntries {
  source: string;
}

export interface CatalogHead {
  headVersion: 1;
  host: string;
  /** Hours (UTC, `2026-11-20T15`) with summaries not yet sealed into a segment. */
  open: string[];
  /** The newest record the catalog took in. */
  last: { record: string; day: string; verifiedAt: string } | null;
  /** Records taken in since the head was made (duplicates counted). */
  records: number;
  updatedAt: string;
}

export interface CatalogOptions {
  delayGraceSeconds?: number;
}

/** An hour is sealed this long after it ends: longer than the catalog function can run. */
const SEAL_GRACE_SECONDS = 300;

/** The hosts that have anything under the prefix. */
export const listHosts = async (store: ObjectStore, prefix: string): Promise<string[]> =>
  (await store.list(hostsRoot(prefix), { delimiter: '/' })).prefixes
    .map((p) => p.slice(hostsRoot(prefix).length).replace(/\/$/, ''))
    .filter(isHostFolder);

const emptyEntries = (): CatalogEntries => ({ binlogs: {}, dumps: {}, gapRecords: {}, objects: [] });

/** What the catalog keeps of a record, or undefined for a record of something else. */
const summarize = (recordKey: string, body: ObjectRecord | GapRecord): CatalogLine | undefined => {
  if ('kind' in body && body.kind === 'gap') return { record: recordKey, gap: body as GapRecord };
  const record = body as ObjectRecord;
  const area = parseKey(record.key)?.area;
  if (area === 'binlogs') return { record: recordKey, binlog: summarizeBinlog(record) };
  if (area === 'dumps') return { record: recordKey, dump: summarizeDump(record) };
  return undefined;
};

const addLine = (entries: CatalogEntries, line: CatalogLine): void => {
  if ('binlog' in line) entries.binlogs[line.record] = line.binlog;
  else if ('dump' in line) entries.dumps[line.record] = line.dump;
  else entries.gapRecords[line.record] = line.gap;
};

const parseLines = (text: string): CatalogLine[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CatalogLine);

const linesOf = (entries: CatalogEntries): CatalogLine[] => [
  ...Object.entries(entries.binlogs).map(([record, binlog]) => ({ record, binlog })),
  ...Object.entries(entries.dumps).map(([record, dump]) => ({ record, dump })),
  ...Object.entries(entries.gapRecords).map(([record, gap]) => ({ record, gap })),
];

const serialize = (lines: CatalogLine[]): string =>
  [...lines].sort((a, b) => (a.record < b.record ? -1 : a.record > b.record ? 1 : 0)).map((l) => `${JSON.stringify(l)}\n`).join('');

const entriesOf = (lines: CatalogLine[]): CatalogEntries => {
  const entries = emptyEntries();
  for (const line of lines) addLine(entries, line);
  return entries;
};

/**
 * Every part of a host's catalog: its segments, its open summaries and the day manifests of the old
 * layout, oldest first, and (on the last part) the objects of the newest record day that have no
 * record yet. Empty when the host has no catalog.
 */
export const readCatalogParts = async (store: ObjectStore, scope: HostScope): Promise<CatalogPart[]> => {
  const keys = (await store.list(areaRoot(scope, 'catalog'))).keys.map((k) => k.key);
  const parts: CatalogPart[] = [];
  let head: CatalogHead | undefined;
  for (const key of keys) {
    const ref = parseKey(key);
    if (ref?.area !== 'catalog') continue;
    const text = (await store.getBytes(key)).toString();
    if (ref.kind === 'head') head = JSON.parse(text) as CatalogHead;
    else if (ref.kind === 'day') {
      // The old layout: `{binlogs, dumps, gapRecords, objects, …}` keyed by record key.
      const manifest = JSON.parse(text) as CatalogEntries;
      parts.push({ source: key, binlogs: manifest.binlogs, dumps: manifest.dumps, gapRecords: manifest.gapRecords, objects: manifest.objects });
    } else parts.push({ source: key, ...entriesOf(parseLines(text)), objects: [] });
  }
  if (parts.length === 0) return [];
  const day = head?.last?.day;
  if (day) {
    const objects = [...(await store.list(areaRoot(scope, 'binlogs', day))).keys, ...(await store.list(areaRoot(scope, 'dumps', day))).keys].map((o) => o.key);
    parts.push({ source: catalogHeadKey(scope), ...emptyEntries(), objects });
  }
  return parts;
};

/** What the catalog is built from, gathered from its parts (a record in two parts counts once). */
export const summariesOf = (
  parts: Pick<CatalogEntries, 'binlogs' | 'dumps' | 'gapRecords' | 'objects'>[],
): { binlogs: BinlogSummary[]; dumps: DumpSummary[]; gapRecords: GapRecord[]; pending: string[] } => {
  const merged = emptyEntries();
  for (const part of parts) {
    Object.assign(merged.binlogs, part.binlogs);
    Object.assign(merged.dumps, part.dumps);
    Object.assign(merged.gapRecords, part.gapRecords);
  }
  const binlogs = Object.values(merged.binlogs);
  const dumps = Object.values(merged.dumps);
  const recorded = new Set([...binlogs.map((b) => b.key), ...dumps.map((d) => d.key)]);
  return {
    binlogs,
    dumps,
    gapRecords: Object.values(merged.gapRecords),
    pending: [...new Set(parts.flatMap((m) => m.objects))].filter((k) => !recorded.has(k)),
  };
};

/** The catalog of a host from its parts, as of `now`. */
export const catalogOf = (
  scope: HostScope,
  parts: Pick<CatalogEntries, 'binlogs' | 'dumps' | 'gapRecords' | 'objects'>[],
  now: Date,
  options: CatalogOptions,
): Catalog =>
  buildCatalog({
    host: scope.host,
    ...summariesOf(parts),
    now,
    ...(options.delayGraceSeconds !== undefined ? { delayGraceSeconds: options.delayGraceSeconds } : {}),
  });

/** The host's catalog (what `status` and the watchdog read). */
export const loadCatalog = async (store: ObjectStore, scope: HostScope, now: Date, options: CatalogOptions = {}): Promise<Catalog> =>
  catalogOf(scope, await readCatalogParts(store, scope), now, options);

const newHead = (scope: HostScope, now: Date): CatalogHead => ({ headVersion: 1, host: scope.host, open: [], last: null, records: 0, updatedAt: now.toISOString() });

const isDue = (hour: string, now: Date): boolean => hourEnd(hour).getTime() + SEAL_GRACE_SECONDS * 1000 <= now.getTime();

/**
 * Seals an hour: its open summaries gathered into its segment (a union with the segment already
 * there, written only over the version read), the hour out of the head, then the summaries removed.
 * Safe to run twice or concurrently: a second sealer adds nothing new and loses nothing.
 */
const sealHour = async (store: ObjectStore, scope: HostScope, hour: string, clock: Clock): Promise<CatalogHead> => {
  const summaries = (await store.list(openSummariesRoot(scope, hour))).keys.map((k) => k.key);
  const lines: CatalogLine[] = [];
  for (const key of summaries) {
    const body = await store.getVersioned(key);
    if (body) lines.push(...parseLines(body.body.toString()));
  }
  await writeSegment(store, scope, hour, (current) => [...current, ...lines]);
  const head = await updateHead(store, scope, clock, (h) => (h.open.includes(hour) ? { ...h, open: h.open.filter((o) => o !== hour) } : undefined));
  for (const key of summaries) await store.delete(key);
  return head;
};

/** Rewrites a segment from what it holds now (conditional on the version read); an empty one is removed. */
const writeSegment = async (store: ObjectStore, scope: HostScope, period: string, next: (current: CatalogLine[]) => CatalogLine[]): Promise<void> => {
  const key = segmentKey(scope, period);
  for (let attempt = 1; ; attempt++) {
    const current = await store.getVersioned(key);
    const before = current ? parseLines(current.body.toString()) : [];
    const lines = linesOf(entriesOf(next(before)));
    const text = serialize(lines);
    if (current && text === current.body.toString()) return;
    if (lines.length === 0) {
      if (current) await store.delete(key);
      return;
    }
    try {
      await store.put(key, text, { contentType: 'application/x-ndjson', ...(current ? { ifMatch: current.etag } : { ifAbsent: true }) });
      return;
    } catch (error) {
      if (attempt >= 8 || !['WriteConflictError', 'ObjectExistsError'].includes((error as Error).name)) throw error;
    }
  }
};

const updateHead = async (store: ObjectStore, scope: HostScope, clock: Clock, change: (head: CatalogHead) => CatalogHead | undefined): Promise<CatalogHead> =>
  updateJson<CatalogHead, CatalogHead>(
    store,
    catalogHeadKey(scope),
    (current) => {
      const head = current ?? newHead(scope, clock.now());
      const next = change(head);
      return next ? { next: { ...next, updatedAt: clock.now().toISOString() }, result: next } : { result: head };
    },
    { compact: true },
  );

/**
 * Merges the hour segments of every day that is over (no open hour left, the day ended
 * {@link SEAL_GRACE_SECONDS} ago) into one day segment, then removes them: a reader reads a segment
 * a day, not 24. One listing of the segments per sealed hour; a union, so safe to repeat.
 */
const compactDays = async (store: ObjectStore, scope: HostScope, head: CatalogHead, now: Date): Promise<string[]> => {
  const hourly = new Map<string, string[]>();
  for (const o of (await store.list(segmentsRoot(scope))).keys) {
    const ref = parseKey(o.key);
    if (ref?.area === 'catalog' && ref.kind === 'segment' && ref.period.length === 13) {
      const day = ref.period.slice(0, 10);
      hourly.set(day, [...(hourly.get(day) ?? []), o.key]);
    }
  }
  const done: string[] = [];
  for (const [day, keys] of [...hourly].sort()) {
    const over = Date.parse(`${day}T00:00:00Z`) + 86_400_000 + SEAL_GRACE_SECONDS * 1000 <= now.getTime();
    if (!over || head.open.some((h) => h.startsWith(day))) continue;
    const lines: CatalogLine[] = [];
    for (const key of keys) {
      const body = await store.getVersioned(key);
      if (body) lines.push(...parseLines(body.body.toString()));
    }
    await writeSegment(store, scope, day, (current) => [...current, ...lines]);
    for (const key of keys) await store.delete(key);
    done.push(day);
  }
  return done;
};

export interface CatalogUpdate {
  host: string;
  record: string;
  /** The hour whose open summaries hold the record. */
  hour: string;
  /** Hours sealed by this update. */
  sealed: string[];
  /** Days whose hour segments this update merged into one. */
  compacted: string[];
  head: CatalogHead;
  /** The record's summary as the catalog now holds it. */
  line: CatalogLine;
}

/**
 * Takes one new record into its host's catalog: about four requests (the record read, its summary
 * written, the head read and conditionally written), and the sealing of any hour that is over —
 * constant work per record, whatever the history. Undefined when the record is gone (retention) or
 * is not one the catalog keeps. Duplicate and concurrent events are safe: a summary written twice is
 * the same line, the head's write is conditional, segments are unions.
 */
export const catalogRecord = async (store: ObjectStore, key: string, clock: Clock): Promise<CatalogUpdate | undefined> => {
  const ref = parseKey(key);
  if (ref?.area !== 'records') return undefined;
  const body = await store.getVersioned(key);
  if (!body) return undefined;
  const line = summarize(key, JSON.parse(body.body.toString()) as ObjectRecord | GapRecord);
  if (!line) return undefined;
  const now = clock.now();
  const hour = hourOf(now);
  await store.put(summaryKey(ref, hour, ref.day, ref.name), serialize([line]), { contentType: 'application/x-ndjson' });
  const verifiedAt = 'gap' in line ? line.gap.detectedAt : 'binlog' in line ? line.binlog.verifiedAt : line.dump.verifiedAt;
  let head = await updateHead(store, ref, clock, (h) => ({
    ...h,
    open: h.open.includes(hour) ? h.open : [...h.open, hour].sort(),
    last: h.last && h.last.verifiedAt > verifiedAt ? h.last : { record: key, day: ref.day, verifiedAt },
    records: h.records + 1,
  }));
  const sealed: string[] = [];
  for (const due of head.open.filter((h) => isDue(h, now))) {
    head = await sealHour(store, ref, due, clock);
    sealed.push(due);
  }
  const compacted = sealed.length > 0 ? await compactDays(store, ref, head, now) : [];
  return { host: ref.host, record: key, hour, sealed, compacted, head, line };
};

/**
 * Removes records from the catalog (retention deleted them): every segment, summary and old day
 * manifest that holds one is rewritten without it, or removed when nothing is left.
 */
export const forgetRecords = async (store: ObjectStore, scope: HostScope, records: Set<string>, parts?: CatalogPart[]): Promise<void> => {
  for (const part of parts ?? (await readCatalogParts(store, scope))) {
    const holds = [part.binlogs, part.dumps, part.gapRecords].some((table) => Object.keys(table).some((k) => records.has(k)));
    if (!holds) continue;
    const ref = parseKey(part.source);
    if (ref?.area !== 'catalog') continue;
    if (ref.kind === 'segment') await writeSegment(store, scope, ref.period, (lines) => lines.filter((l) => !records.has(l.record)));
    else if (ref.kind === 'summary') await store.delete(part.source);
    else if (ref.kind === 'day') {
      await updateJson<CatalogEntries & Record<string, unknown>, void>(store, part.source, (manifest) => {
        if (!manifest) return { result: undefined };
        const keep = <T>(table: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(table).filter(([k]) => !records.has(k)));
        return { next: { ...manifest, binlogs: keep(manifest.binlogs), dumps: keep(manifest.dumps), gapRecords: keep(manifest.gapRecords) }, result: undefined };
      });
      const left = JSON.parse((await store.getBytes(part.source)).toString()) as CatalogEntries;
      if ([left.binlogs, left.dumps, left.gapRecords].every((t) => Object.keys(t).length === 0)) await store.delete(part.source);
    }
  }
};

export interface RebuildResult {
  host: string;
  records: number;
  binlogs: number;
  dumps: number;
  gapRecords: number;
  segments: number;
  catalog: Catalog;
}

/**
 * The host's catalog made again from its records alone: one segment per hour of the records'
 * verification, the segments of no record removed, the summaries and day manifests (the old layout)
 * of records it holds removed. The way up from the old layout, and the way back from anything odd.
 */
export const rebuildHost = async (store: ObjectStore, scope: HostScope, clock: Clock, options: CatalogOptions = {}): Promise<RebuildResult> => {
  const recordKeys = (await store.list(areaRoot(scope, 'records'))).keys.map((k) => k.key).filter((k) => parseKey(k)?.area === 'records');
  const hours = new Map<string, CatalogLine[]>();
  const taken = new Set<string>();
  let newest: CatalogHead['last'] = null;
  for (const key of recordKeys) {
    const body = await store.getVersioned(key);
    if (!body) continue;
    const line = summarize(key, JSON.parse(body.body.toString()) as ObjectRecord | GapRecord);
    if (!line) continue;
    taken.add(key);
    const at = 'gap' in line ? line.gap.detectedAt : 'binlog' in line ? line.binlog.verifiedAt : line.dump.verifiedAt;
    const hour = Number.isNaN(Date.parse(at)) ? hourOf(clock.now()) : hourOf(new Date(at));
    hours.set(hour, [...(hours.get(hour) ?? []), line]);
    const day = parseKey(key)?.area === 'records' ? (parseKey(key) as { day: string }).day : '';
    if (!newest || newest.verifiedAt < at) newest = { record: key, day, verifiedAt: at };
  }
  const existing = (await store.list(areaRoot(scope, 'catalog'))).keys.map((k) => parseKey(k.key)).filter((r) => r?.area === 'catalog');
  for (const [hour, lines] of hours) await writeSegment(store, scope, hour, () => lines);
  for (const ref of existing) {
    if (ref?.area !== 'catalog') continue;
    if (ref.kind === 'segment' && !hours.has(ref.period)) await store.delete(ref.key);
    if (ref.kind === 'day') await store.delete(ref.key);
    if (ref.kind === 'summary' && taken.has(`${areaRoot(scope, 'records', ref.day)}${ref.name}.json`)) await store.delete(ref.key);
  }
  await updateHead(store, scope, clock, (head) => ({ ...head, last: newest }));
  const entries = entriesOf([...hours.values()].flat());
  return {
    host: scope.host,
    records: taken.size,
    binlogs: Object.keys(entries.binlogs).length,
    dumps: Object.keys(entries.dumps).length,
    gapRecords: Object.keys(entries.gapRecords).length,
    segments: hours.size,
    catalog: await loadCatalog(store, scope, clock.now(), options),
  };
};
