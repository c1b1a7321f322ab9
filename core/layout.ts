import { compactStamp } from './time.js';

/**
 * The object layout of the design: every key binvault reads or writes is made here, and every key
 * it is handed (an S3 event, a listing) is read back here.
 *
 * ```
 * {prefix}/{host}/binlogs/{day}/{binlog}[~{lineage}].gz     a shipped binlog
 * {prefix}/{host}/dumps/{day}/{host}-{stamp}.sql.gz          a shipped dump
 * {prefix}/{host}/staging/{name}                             where earlier shippers wrote dumps before a copy (outside what is verified; cleaned by the next dump)
 * {prefix}/{host}/records/{day}/{object}.json                an object's verification record (immutable)
 * {prefix}/{host}/records/{day}/gap.{first}.{last}.json      binlogs purged before they were shipped
 * {prefix}/{host}/records/{day}/{object}.checkpoint          a verify longer than one invocation, until its record
 * {prefix}/{host}/catalog/head.jsonl                         the host's catalog head (conditional writes)
 * {prefix}/{host}/catalog/open/{hour}/{day}.{object}.jsonl   a record's summary, until its hour is sealed
 * {prefix}/{host}/catalog/segments/{hour}.jsonl              an hour's summaries, sealed when the hour is over
 * {prefix}/{host}/catalog/segments/{day}.jsonl               a day's, its hour segments merged once it is over
 * {prefix}/{host}/catalog/{day}.json                         a day manifest of the old layout (read, removed by rebuild)
 * {prefix}/{host}/alerts/state.json                          the alert conditions last announced
 * {prefix}/{host}/restores/{execution}/{plan,report}.json    a restore's plan and report
 * {prefix}/{host}/drills/{day}/{execution}.json              a drill's record (day: the later dump's)
 * {prefix}/{host}/drills/{day}/{execution}/{side}.json       an AWS drill's snapshot of one instance (restored, dump)
 * {prefix}/_check/{host}/{stamp}-{token}.txt                 `binvault check`'s probe, removed at once
 * ```
 *
 * @example
 * binlogKey({ prefix: 'mysql', host: 'db1' }, '2026-11-20', 'binlog.000123')
 * // 'mysql/db1/binlogs/2026-11-20/binlog.000123.gz'
 */
export interface HostScope {
  prefix: string;
  host: string;
}

/** The folders under a host. */
export type Area = 'binlogs' | 'dumps' | 'staging' | 'records' | 'catalog' | 'alerts' | 'restores' | 'drills';

const AREAS: readonly Area[] = ['binlogs', 'dumps', 'staging', 'records', 'catalog', 'alerts', 'restores', 'drills'];

const join = (...parts: string[]): string => parts.filter((p) => p !== '').join('/');

/** `{prefix}/`: where the hosts are (empty for an empty prefix). */
export const hostsRoot = (prefix: string): string => (prefix === '' ? '' : `${prefix}/`);

export const hostRoot = (scope: HostScope): string => join(scope.prefix, scope.host);

/** `{prefix}/{host}/{area}/`, or one day of it. */
export const areaRoot = (scope: HostScope, area: Area, day?: string): string => `${hostRoot(scope)}/${area}/${day === undefined ? '' : `${day}/`}`;

export const binlogsRoot = (scope: HostScope): string => areaRoot(scope, 'binlogs');

/**
 * A binlog's key. After RESET MASTER (or on a restored server) the numbering starts again: the
 * binlogs of that new lineage carry its tag (`binlog.000001~20261121T001500Z.gz`), so that they
 * never collide with the old lineage's objects of the same name.
 */
export const binlogKey = (scope: HostScope, day: string, binlogName: string, lineage?: string): string =>
  `${areaRoot(scope, 'binlogs', day)}${binlogName}${lineage ? `~${lineage}` : ''}.gz`;

/** A dump's file name: `{host}-{UTC stamp}.sql.gz`. */
export const dumpFileName = (host: string, at: Date): string => `${host}-${compactStamp(at)}.sql.gz`;

export const dumpKey = (scope: HostScope, day: string, fileName: string): string => `${areaRoot(scope, 'dumps', day)}${fileName}`;

/** Where a dump is streamed before it is complete: outside the prefixes the verify function watches. */
export const stagingKey = (scope: HostScope, fileName: string): string => `${areaRoot(scope, 'staging')}${fileName}`;

/** The record of an object (`binlog.000123.gz` → `…/records/{day}/binlog.000123.gz.json`) or of a gap. */
export const recordKey = (scope: HostScope, day: string, objectFileName: string): string => `${areaRoot(scope, 'records', day)}${objectFileName}.json`;

/** The name of a gap record's object: `gap.{first missing}.{last missing}`. */
export const gapRecordName = (missing: string[]): string => `gap.${missing[0] ?? ''}.${missing[missing.length - 1] ?? ''}`;

/** A day manifest of the old layout: still read, removed by `catalog rebuild`. */
export const manifestKey = (scope: HostScope, day: string): string => `${areaRoot(scope, 'catalog')}${day}.json`;

/**
 * The catalog's own objects end in `.jsonl`, not `.json`: the stack's S3 notification to the
 * catalog function is the suffix `.json`, so the catalog's writes invoke no function.
 */
export const catalogHeadKey = (scope: HostScope): string => `${areaRoot(scope, 'catalog')}head.jsonl`;

/** An hour of the catalog, in UTC: `2026-11-20T15`. */
export const hourOf = (instant: Date): string => instant.toISOString().slice(0, 13);

/** When an hour (`2026-11-20T15`) ends. */
export const hourEnd = (hour: string): Date => new Date(Date.parse(`${hour}:00:00Z`) + 3600_000);

export const openSummariesRoot = (scope: HostScope, hour: string): string => `${areaRoot(scope, 'catalog')}open/${hour}/`;

/** A record's summary (`…/records/{day}/{name}.json`), written by the catalog function into the hour it ran in. */
export const summaryKey = (scope: HostScope, hour: string, day: string, recordName: string): string => `${openSummariesRoot(scope, hour)}${day}.${recordName}.jsonl`;

/** A segment of the catalog: an hour's (`2026-11-20T15`) or a whole day's (`2026-11-20`) summaries. */
export const segmentKey = (scope: HostScope, period: string): string => `${areaRoot(scope, 'catalog')}segments/${period}.jsonl`;

export const segmentsRoot = (scope: HostScope): string => `${areaRoot(scope, 'catalog')}segments/`;

export const alertStateKey = (scope: HostScope): string => `${areaRoot(scope, 'alerts')}state.json`;

export const restoreKey = (scope: HostScope, execution: string, file: 'plan.json' | 'report.json'): string =>
  `${areaRoot(scope, 'restores')}${execution}/${file}`;

/** A drill's record: the window it proved (or did not) ends at a dump of `day`. */
export const drillKey = (scope: HostScope, day: string, execution: string): string => `${areaRoot(scope, 'drills', day)}${execution}.json`;

/**
 * Where an instance of a drill writes its snapshot (the only keys the restore instance may write):
 * beside the drill's record, deleted with it by retention, not read as a record (parseKey: undefined).
 */
export const drillSnapshotKey = (scope: HostScope, day: string, execution: string, side: 'restored' | 'dump'): string => `${areaRoot(scope, 'drills', day)}${execution}/${side}.json`;

/**
 * Where `binvault check` writes (and at once removes) its small probe object: beside the hosts, in a
 * folder no host name can take (host names start with a letter or digit), with a suffix that the
 * stack's S3 notifications (`.gz`, `.json`) do not route to any function.
 */
export const CHECK_FOLDER = '_check';

export const checkKey = (scope: HostScope, at: Date, token: string): string => `${hostsRoot(scope.prefix)}${CHECK_FOLDER}/${scope.host}/${compactStamp(at)}-${token}.txt`;

/** A folder under `{prefix}/` that is a host's (not `_check/`). */
export const isHostFolder = (name: string): boolean => name !== '' && name !== CHECK_FOLDER;

/** A key read back: where it lives in the layout, and what its name says. */
export type KeyRef =
  | (HostScope & { key: string; area: 'binlogs'; day: string; name: string; binlog: string; lineage?: string })
  | (HostScope & { key: string; area: 'dumps'; day: string; name: string })
  | (HostScope & { key: string; area: 'records'; day: string; name: string; of: 'gap' | 'object' })
  | (HostScope & { key: string; area: 'catalog'; kind: 'day'; day: string })
  | (HostScope & { key: string; area: 'catalog'; kind: 'head' })
  /** `period`: an hour (`2026-11-20T15`) or a day (`2026-11-20`). */
  | (HostScope & { key: string; area: 'catalog'; kind: 'segment'; period: string })
  | (HostScope & { key: string; area: 'catalog'; kind: 'summary'; hour: string; day: string; name: string })
  | (HostScope & { key: string; area: 'staging'; name: string })
  | (HostScope & { key: string; area: 'alerts'; name: string })
  | (HostScope & { key: string; area: 'restores'; execution: string; name: string })
  | (HostScope & { key: string; area: 'drills'; day: string; execution: string })
  /** `host` is the host that ran the check. */
  | (HostScope & { key: string; area: 'check'; name: string });

/** A shipped object's key read back: a binlog or a dump. */
export type ObjectRef = Extract<KeyRef, { area: 'binlogs' | 'dumps' }>;

const DAY = '\\d{4}-\\d{2}-\\d{2}';
const KEY = new RegExp(`^(?:(.*)/)?([^/]+)/(${AREAS.join('|')})/(.+)$`);
const CHECK = new RegExp(`^(?:(.*)/)?${CHECK_FOLDER}/([^/]+)/([^/]+\\.txt)$`);

/**
 * What a key is, or undefined for a key outside the layout.
 *
 * @example parseKey('mysql/db1/binlogs/2026-11-20/binlog.000123.gz')
 * // { area: 'binlogs', prefix: 'mysql', host: 'db1', day: '2026-11-20', name: 'binlog.000123.gz', binlog: 'binlog.000123', … }
 */
export const parseKey = (key: string): KeyRef | undefined => {
  const check = CHECK.exec(key);
  if (check?.[2] && check[3]) return { key, prefix: check[1] ?? '', host: check[2], area: 'check', name: check[3] };
  const match = KEY.exec(key);
  const [, prefix = '', host, area, rest] = match ?? [];
  if (!host || !area || !rest) return undefined;
  const base = { key, prefix, host };
  const dated = new RegExp(`^(${DAY})/([^/]+)$`).exec(rest);
  switch (area as Area) {
    case 'binlogs': {
      const binlog = dated?.[2] ? /^([^/~]+)(?:~([^/]+))?\.gz$/.exec(dated[2]) : null;
      if (!dated?.[1] || !dated[2] || !binlog?.[1]) return undefined;
      return { ...base, area: 'binlogs', day: dated[1], name: dated[2], binlog: binlog[1], ...(binlog[2] ? { lineage: binlog[2] } : {}) };
    }
    case 'dumps':
      return dated?.[1] && dated[2] ? { ...base, area: 'dumps', day: dated[1], name: dated[2] } : undefined;
    case 'records':
      return dated?.[1] && dated[2]?.endsWith('.json')
        ? { ...base, area: 'records', day: dated[1], name: dated[2].slice(0, -'.json'.length), of: dated[2].startsWith('gap.') ? 'gap' : 'object' }
        : undefined;
    case 'catalog': {
      const day = new RegExp(`^(${DAY})\\.json$`).exec(rest)?.[1];
      if (day) return { ...base, area: 'catalog', kind: 'day', day };
      if (rest === 'head.jsonl') return { ...base, area: 'catalog', kind: 'head' };
      const segment = new RegExp(`^segments/(${DAY}(?:T\\d{2})?)\\.jsonl$`).exec(rest);
      if (segment?.[1]) return { ...base, area: 'catalog', kind: 'segment', period: segment[1] };
      const summary = new RegExp(`^open/(${DAY}T\\d{2})/(${DAY})\\.([^/]+)\\.jsonl$`).exec(rest);
      if (summary?.[1] && summary[2] && summary[3]) return { ...base, area: 'catalog', kind: 'summary', hour: summary[1], day: summary[2], name: summary[3] };
      return undefined;
    }
    case 'staging':
      return rest.includes('/') ? undefined : { ...base, area: 'staging', name: rest };
    case 'alerts':
      return rest.includes('/') ? undefined : { ...base, area: 'alerts', name: rest };
    case 'drills':
      return dated?.[1] && dated[2]?.endsWith('.json') ? { ...base, area: 'drills', day: dated[1], execution: dated[2].slice(0, -'.json'.length) } : undefined;
    case 'restores': {
      const restore = /^([^/]+)\/([^/]+)$/.exec(rest);
      return restore?.[1] && restore[2] ? { ...base, area: 'restores', execution: restore[1], name: restore[2] } : undefined;
    }
  }
};

/** A binlog or dump key read back, or undefined for any other key. */
export const parseObjectKey = (key: string): ObjectRef | undefined => {
  const ref = parseKey(key);
  return ref?.area === 'binlogs' || ref?.area === 'dumps' ? ref : undefined;
};

/** The record key of a shipped object. */
export const recordKeyOf = (ref: ObjectRef): string => recordKey(ref, ref.day, ref.name);
/**
 * Where a verify that goes on in the next invocation keeps its checkpoint, beside the record it will
 * write: `.checkpoint` is neither `.gz` nor `.json`, so the stack's notifications invoke nothing for
 * it, and parseKey reads it as no key of the layout, so catalog readers pass it by.
 */
export const checkpointKeyOf = (ref: ObjectRef): string => `${areaRoot(ref, 'records', ref.day)}${ref.name}.checkpoint`;

/**
 * Which function an S3 ObjectCreated event of this key goes to: binlogs and dumps to verify, records
 * to the catalog. The stack's S3 notification filters (prefix and suffix, all S3 allows) are wider;
 * a test proves that every key routed here passes them, and the handlers ignore the rest.
 */
export const eventTarget = (key: string): 'verify' | 'catalog' | undefined => {
  const ref = parseKey(key);
  if (ref?.area === 'binlogs' || (ref?.area === 'dumps' && ref.name.endsWith('.gz'))) return 'verify';
  if (ref?.area === 'records') return 'catalog';
  return undefined;
};

/** The S3 notification filters of the stack's two event-driven functions, for a prefix. */
export const notificationFilters = (prefix: string): Record<'verify' | 'catalog', { prefix: string; suffix: string }> => ({
  verify: { prefix: hostsRoot(prefix), suffix: '.gz' },
  catalog: { prefix: hostsRoot(prefix), suffix: '.json' },
});

/** `s3://bucket/key` → its bucket and key, or undefined. */
export const parseS3Url = (url: string): { bucket: string; key: string } | undefined => {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return match?.[1] && match[2] ? { bucket: match[1], key: match[2] } : undefined;
};

/**
 * The calendar day (`YYYY-MM-DD`) of an instant in a time zone: the `{day}` folder of the layout.
 *
 * @default timeZone 'UTC'
 */
export const dayIn = (instant: Date, timeZone = 'UTC'): string => {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(instant);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
};
