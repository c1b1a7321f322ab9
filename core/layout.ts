/**
 * The object layout of the design: every key binvault reads or writes is made here.
 *
 * @example
 * binlogKey({ prefix: 'mysql', host: 'db1' }, '2026-11-20', 'binlog.000123')
 * // 'mysql/db1/binlogs/2026-11-20/binlog.000123.gz'
 */
export interface HostScope {
  prefix: string;
  host: string;
}

const join = (...parts: string[]): string => parts.filter((p) => p !== '').join('/');

export const hostRoot = (scope: HostScope): string => join(scope.prefix, scope.host);

export const binlogsRoot = (scope: HostScope): string => `${hostRoot(scope)}/binlogs/`;

/**
 * A binlog's key. After RESET MASTER (or on a restored server) the numbering starts again: the
 * binlogs of that new lineage carry its tag (`binlog.000001~20261121T001500Z.gz`), so that they
 * never collide with the old lineage's objects of the same name.
 */
export const binlogKey = (scope: HostScope, day: string, binlogName: string, lineage?: string): string =>
  `${binlogsRoot(scope)}${day}/${binlogName}${lineage ? `~${lineage}` : ''}.gz`;

export const recordKey = (scope: HostScope, day: string, objectFileName: string): string =>
  `${hostRoot(scope)}/records/${day}/${objectFileName}.json`;

/** The binlog file name a binlog key holds, or undefined for any other key. */
export const binlogNameOfKey = (key: string): string | undefined => {
  const match = /\/binlogs\/\d{4}-\d{2}-\d{2}\/([^/~]+)(?:~([^/]+))?\.gz$/.exec(key);
  return match?.[1];
};

/** The lineage tag of a binlog key (see binlogKey), if it has one. */
export const lineageOfKey = (key: string): string | undefined =>
  /\/binlogs\/\d{4}-\d{2}-\d{2}\/[^/~]+~([^/]+)\.gz$/.exec(key)?.[1];

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

/** Whether a time zone name is one the runtime knows (`Asia/Seoul`, `UTC`). */
export const isValidTimeZone = (timeZone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
};
