import { versionAtLeast, type ServerVersion } from './server.js';

/**
 * `binvault check`: before the first night, whether this host's setup will work — the server's
 * binary logging and the account's grants, the dump tool, the bucket, the clocks. The facts are
 * gathered at the edge (shipper/lib/check.ts); this judges them, one line each. Pure.
 */
export type CheckLevel = 'ok' | 'warn' | 'fail';

/** One line of the check: `ok|warn|fail  what  why, or how to fix it`. */
export interface CheckLine {
  level: CheckLevel;
  what: string;
  why: string;
}

/** What the server said of itself and of the account binvault connects with. */
export interface ServerFacts {
  version: ServerVersion;
  /** `CURRENT_USER()`, e.g. `binvault@localhost`. */
  account: string;
  /** The account's global privileges (information_schema.USER_PRIVILEGES), upper case. */
  privileges: string[];
  /** Roles are enabled for the session: privileges may come through them, which USER_PRIVILEGES does not show. */
  roles: boolean;
  serverId: number;
  logBin: boolean;
  binlogFormat?: string;
  /** When the server purges binlogs, in seconds after they close; 0 never. */
  expireSeconds?: number;
  /** MySQL's `@@gtid_mode`. */
  gtidMode?: string;
  /** MariaDB's `@@gtid_binlog_pos`. */
  gtidBinlogPos?: string;
  /** Whether this host can read the binlog index and files (the shipper reads them from disk), and why not. */
  binlogFiles?: { readable: boolean; why?: string };
  /** The server's clock minus this host's, in seconds (UNIX_TIMESTAMP()), and how sure that is. */
  clockOffset?: { seconds: number; uncertainty: number };
}

export interface DumpToolFacts {
  path: string;
  version: ServerVersion;
}

/** What writing and removing one small object in the bucket taught. */
export interface BucketFacts {
  /** `s3://bucket/prefix/` */
  where: string;
  /** An S3-protocol endpoint other than AWS, if one is set. */
  endpoint?: string;
  /** The bucket's region (S3's `x-amz-bucket-region`), when it said; the region the client signs for. */
  region?: string;
  clientRegion: string;
  /** Why the bucket could not be read at all. */
  unreachable?: string;
  /** The probe object written and removed, or why not. */
  write: { ok: true; key: string } | { ok: false; why: string };
  /** S3's clock (its Date header) minus this host's, in seconds, and how sure that is. */
  clockOffset?: { seconds: number; uncertainty: number };
}

export interface CheckFacts {
  /** The MySQL connection, or why there is none (then the server's lines are not judged). */
  server: ServerFacts | { unreachable: string };
  /** The dump tool on PATH, or why there is none. */
  dumpTool?: DumpToolFacts | { missing: string };
  bucket: BucketFacts;
  /** Seconds between shipping runs (`BINVAULT_SHIP_INTERVAL`, the service's `--interval`). @default 5 */
  shipIntervalSeconds: number;
}

const DAY = 86_400;

/** Global privileges each part of binvault needs, and the ones that stand in for each other. */
const needed = (version: ServerVersion): { privilege: string; alternatives: string[]; for: string }[] => {
  // MariaDB 10.5.2 split BINLOG MONITOR out of REPLICATION CLIENT (still accepted as its alias).
  const binlogStatus = version.flavor === 'mariadb' && versionAtLeast(version, 10, 5, 2) ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
  return [
    { privilege: 'RELOAD', alternatives: [], for: 'FLUSH BINARY LOGS, and the dump’s consistent start' },
    { privilege: binlogStatus, alternatives: ['REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER'], for: 'the binlog status and the dump’s coordinates' },
    { privilege: 'SELECT', alternatives: [], for: 'the dump' },
    { privilege: 'SHOW VIEW', alternatives: [], for: 'the dump of views' },
    { privilege: 'TRIGGER', alternatives: [], for: 'the dump of triggers' },
    { privilege: 'EVENT', alternatives: [], for: 'the dump of events' },
    // mysqldump 8.0.21+ reads tablespaces from information_schema.FILES, which needs PROCESS.
    ...(version.flavor === 'mysql' && versionAtLeast(version, 8, 0, 21) ? [{ privilege: 'PROCESS', alternatives: [], for: 'the dump of tablespaces' }] : []),
  ];
};

const grants = (s: ServerFacts): CheckLine => {
  const have = new Set(s.privileges.map((p) => p.toUpperCase()));
  const missing = needed(s.version).filter((n) => !have.has(n.privilege) && !n.alternatives.some((a) => have.has(a)));
  if (missing.length === 0) return { level: 'ok', what: 'grants', why: `${s.account} has what shipping and dumps need` };
  const [user, host] = s.account.split('@');
  const grant = `GRANT ${missing.map((m) => m.privilege).join(', ')} ON *.* TO '${user ?? ''}'@'${host ?? ''}'`;
  return {
    // A privilege that comes through a role does not show in USER_PRIVILEGES: say so rather than fail.
    level: s.roles ? 'warn' : 'fail',
    what: 'grants',
    why: `${s.account} lacks ${missing.map((m) => `${m.privilege} (${m.for})`).join(', ')}${s.roles ? ', unless a role grants it' : ''}: ${grant}`,
  };
};

const logBin = (s: ServerFacts): CheckLine =>
  s.logBin
    ? { level: 'ok', what: 'log_bin', why: 'binary logging is on' }
    : { level: 'fail', what: 'log_bin', why: 'binary logging is off: nothing between dumps can be restored; set log_bin (and server_id) in the server’s configuration and restart it' };

const binlogFiles = (s: ServerFacts): CheckLine | undefined => {
  if (!s.logBin || !s.binlogFiles) return undefined;
  return s.binlogFiles.readable
    ? { level: 'ok', what: 'binlog files', why: 'this host reads the binlog index and files' }
    : { level: 'fail', what: 'binlog files', why: s.binlogFiles.why ?? 'the binlog files cannot be read here' };
};

const binlogFormat = (s: ServerFacts): CheckLine | undefined => {
  if (!s.logBin || s.binlogFormat === undefined) return undefined;
  const format = s.binlogFormat.toUpperCase();
  if (format === 'ROW' || format === 'MIXED') return { level: 'ok', what: 'binlog_format', why: `${format}: every change replays as it happened` };
  return {
    level: 'warn',
    what: 'binlog_format',
    why: `${format}: a statement that is not deterministic (LIMIT without ORDER BY, a UUID() in an UPDATE) can replay differently in a restore; set binlog_format=ROW (or MIXED)`,
  };
};

const human = (seconds: number): string =>
  seconds >= 2 * DAY ? `${+(seconds / DAY).toFixed(1)} days` : seconds >= 7200 ? `${+(seconds / 3600).toFixed(1)} h` : seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${+seconds.toFixed(1)} s`;

const expiry = (s: ServerFacts, interval: number): CheckLine | undefined => {
  if (!s.logBin || s.expireSeconds === undefined) return undefined;
  const what = s.version.flavor === 'mysql' ? 'binlog_expire_logs_seconds' : 'expire_logs_days';
  if (s.expireSeconds === 0) return { level: 'ok', what, why: 'the server never purges binlogs by age (watch its disk)' };
  // The server purges a binlog that age after it closed; the shipper must have shipped it by then,
  // also after an outage of the shipper that someone has to notice and fix.
  if (s.expireSeconds <= interval * 2) {
    return { level: 'fail', what, why: `the server purges binlogs ${human(s.expireSeconds)} after they close, within two shipping runs (every ${human(interval)}): binlogs will go before they are shipped and leave gaps; keep them a day or more` };
  }
  if (s.expireSeconds < DAY) {
    return { level: 'warn', what, why: `the server purges binlogs after ${human(s.expireSeconds)}: a shipper stopped that long makes a gap; keep them a day or more` };
  }
  return { level: 'ok', what, why: `binlogs are kept ${human(s.expireSeconds)}: room for a stopped shipper to be noticed and restarted` };
};

const serverId = (s: ServerFacts): CheckLine =>
  s.serverId === 0
    ? { level: 'fail', what: 'server_id', why: 'server_id is 0: MySQL refuses binary logging with it and restores cannot tell this server from another; set a unique server_id' }
    : { level: 'ok', what: 'server_id', why: `${s.serverId} (the catalog tells lineages apart by it: give every server its own)` };

const gtid = (s: ServerFacts): CheckLine | undefined => {
  if (!s.logBin) return undefined;
  if (s.version.flavor === 'mariadb') return { level: 'ok', what: 'GTID', why: `MariaDB GTIDs${s.gtidBinlogPos ? ` (at ${s.gtidBinlogPos})` : ''}: a restore checks the position it reached` };
  if ((s.gtidMode ?? '').toUpperCase() === 'ON') return { level: 'ok', what: 'GTID', why: 'gtid_mode=ON' };
  return {
    level: 'warn',
    what: 'GTID',
    why: `gtid_mode=${s.gtidMode ?? 'OFF'}: restores work to a time; with gtid_mode=ON (and enforce_gtid_consistency=ON) a restore also proves the transactions it reached`,
  };
};

const dumpTool = (s: ServerFacts, tool: CheckFacts['dumpTool']): CheckLine | undefined => {
  if (!tool) return undefined;
  if ('missing' in tool) return { level: 'fail', what: 'dump tool', why: tool.missing };
  const t = tool.version;
  const v = s.version;
  const name = `${tool.path} ${t.major}.${t.minor}.${t.patch}`;
  if (t.flavor !== v.flavor) {
    return { level: 'fail', what: 'dump tool', why: `${name} is ${t.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'}'s, the server is ${v.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${v.major}.${v.minor}: install the server's own client programs` };
  }
  if (t.major < v.major || (t.major === v.major && t.minor < v.minor)) {
    return { level: 'warn', what: 'dump tool', why: `${name} is older than the server (${v.major}.${v.minor}.${v.patch}): it may not know the server's syntax; install the client programs of the server's version` };
  }
  return { level: 'ok', what: 'dump tool', why: `${name} for a ${v.major}.${v.minor}.${v.patch} server` };
};

/** A clock offset that matters: 5 s is beyond what the measurement can tell; S3 refuses requests signed 15 min off. */
const clock = (what: string, offset: { seconds: number; uncertainty: number } | undefined, of: string, why: string): CheckLine | undefined => {
  if (!offset) return undefined;
  const off = Math.abs(offset.seconds);
  const said = `${of} is ${off < 1 ? 'within a second of' : `${Math.round(off)} s ${offset.seconds > 0 ? 'ahead of' : 'behind'}`} this host's clock`;
  if (off <= Math.max(5, offset.uncertainty)) return { level: 'ok', what, why: said };
  return { level: off > 900 ? 'fail' : 'warn', what, why: `${said}: ${why}; run NTP (chrony or systemd-timesyncd) on both` };
};

const bucket = (b: BucketFacts): CheckLine[] => {
  if (b.unreachable) return [{ level: 'fail', what: 'bucket', why: b.unreachable }];
  const lines: CheckLine[] = [];
  if (b.region && b.region !== b.clientRegion) {
    lines.push({ level: 'fail', what: 'bucket region', why: `the bucket is in ${b.region}, the shipper signs for ${b.clientRegion}: set AWS_REGION=${b.region} in its environment` });
  } else if (b.region) {
    lines.push({ level: 'ok', what: 'bucket region', why: b.region });
  } else if (!b.endpoint) {
    lines.push({ level: 'warn', what: 'bucket region', why: `S3 did not say the bucket's region; the shipper signs for ${b.clientRegion}` });
  }
  lines.push(
    b.write.ok
      ? { level: 'ok', what: 'bucket write', why: `wrote and removed ${b.write.key}${b.endpoint ? ` at ${b.endpoint}` : ''}` }
      : { level: 'fail', what: 'bucket write', why: b.write.why },
  );
  const s3 = clock('clock (S3)', b.clockOffset, b.endpoint ? 'the endpoint' : 'S3', 'dump names, day folders and the lag status reports follow this host’s clock');
  if (s3) lines.push(s3);
  return lines;
};

/** Every line of the check, in the order a person fixes things: the server, the dump tool, the bucket, the clocks. */
export const judge = (facts: CheckFacts): CheckLine[] => {
  const lines: CheckLine[] = [];
  const s = facts.server;
  if ('unreachable' in s) {
    lines.push({ level: 'fail', what: 'MySQL server', why: s.unreachable });
  } else {
    lines.push({ level: 'ok', what: 'MySQL server', why: `${s.version.text} as ${s.account}` });
    const server = [grants(s), logBin(s), binlogFiles(s), binlogFormat(s), expiry(s, facts.shipIntervalSeconds), serverId(s), gtid(s), dumpTool(s, facts.dumpTool)];
    lines.push(...server.filter((l): l is CheckLine => l !== undefined));
    const db = clock('clock (server)', s.clockOffset, "the server's clock", 'binlog event times, and so restore targets, follow the server’s clock');
    if (db) lines.push(db);
  }
  lines.push(...bucket(facts.bucket));
  return lines;
};

/** The exit code of the check: 0 all ok, 1 a warning, 2 a failure. */
export const checkExitCode = (lines: CheckLine[]): number => (lines.some((l) => l.level === 'fail') ? 2 : lines.some((l) => l.level === 'warn') ? 1 : 0);
