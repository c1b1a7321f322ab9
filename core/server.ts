/**
 * What kind of MySQL-family server wrote something, from its version string.
 *
 * @example
 * parseServerVersion('10.11.19-MariaDB-0+deb12u1-log') // { flavor: 'mariadb', major: 10, minor: 11, patch: 19, … }
 * parseServerVersion('8.4.3') // { flavor: 'mysql', major: 8, minor: 4, patch: 3, … }
 */
export interface ServerVersion {
  flavor: 'mysql' | 'mariadb';
  major: number;
  minor: number;
  patch: number;
  text: string;
}

export const parseServerVersion = (text: string, comment = ''): ServerVersion => {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  const [major, minor, patch] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  // MariaDB 5.5–10.x replication-compatible strings start with "5.5.5-" before the real version.
  const mariadb = /mariadb/i.test(text) || /mariadb/i.test(comment);
  if (mariadb) {
    const real = /^5\.5\.5-(\d+)\.(\d+)\.(\d+)/.exec(text);
    if (real) return { flavor: 'mariadb', major: Number(real[1]), minor: Number(real[2]), patch: Number(real[3]), text };
  }
  return { flavor: mariadb ? 'mariadb' : 'mysql', major, minor, patch, text };
};

/** `a >= b` on (major, minor, patch). */
export const versionAtLeast = (v: ServerVersion, major: number, minor = 0, patch = 0): boolean =>
  v.major !== major ? v.major > major : v.minor !== minor ? v.minor > minor : v.patch >= patch;

/** What the shipper needs to know of the server it backs up. */
export interface ServerInfo {
  version: ServerVersion;
  serverId: number;
  /** MySQL only; MariaDB has no server UUID. */
  serverUuid?: string;
  logBin: boolean;
  /** `@@log_bin_basename`: the binlogs' directory and name stem. */
  logBinBasename?: string;
  /** `@@log_bin_index`: the file listing every binlog the server keeps, oldest first. */
  logBinIndex?: string;
  dataDir: string;
}
