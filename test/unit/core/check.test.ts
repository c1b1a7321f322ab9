import { describe, expect, it } from 'vitest';
import { checkExitCode, judge, type BucketFacts, type CheckFacts, type ServerFacts } from '../../../core/check.js';
import { parseServerVersion } from '../../../core/server.js';

const mariadb = parseServerVersion('10.11.6-MariaDB-0+deb12u1-log');
const mysql = parseServerVersion('8.4.3');

const server = (over: Partial<ServerFacts> = {}): ServerFacts => ({
  version: mariadb,
  account: 'binvault@localhost',
  privileges: ['RELOAD', 'BINLOG MONITOR', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT'],
  roles: false,
  serverId: 1,
  logBin: true,
  binlogFormat: 'ROW',
  expireSeconds: 7 * 86_400,
  gtidBinlogPos: '0-1-42',
  binlogFiles: { readable: true },
  clockOffset: { seconds: 0.01, uncertainty: 0.002 },
  ...over,
});

const bucket = (over: Partial<BucketFacts> = {}): BucketFacts => ({
  where: 's3://acme/mysql/',
  region: 'ap-northeast-2',
  clientRegion: 'ap-northeast-2',
  write: { ok: true, key: 's3://acme/mysql/_check/db1/20261120T150000Z-abcdef.txt' },
  clockOffset: { seconds: 0.4, uncertainty: 0.55 },
  ...over,
});

const facts = (over: { server?: Partial<ServerFacts> | CheckFacts['server']; bucket?: Partial<BucketFacts>; dumpTool?: CheckFacts['dumpTool'] } = {}): CheckFacts => ({
  server: over.server && 'unreachable' in over.server ? over.server : server(over.server as Partial<ServerFacts>),
  dumpTool: over.dumpTool ?? { path: '/usr/bin/mariadb-dump', version: parseServerVersion('10.11.6-MariaDB') },
  bucket: bucket(over.bucket),
  shipIntervalSeconds: 60,
});

const lineOf = (f: CheckFacts, what: string) => judge(f).find((l) => l.what === what);

describe('judge (binvault check)', () => {
  it('a host set up right: every line ok, exit 0', () => {
    const lines = judge(facts());
    expect(lines.map((l) => `${l.level} ${l.what}`)).toEqual([
      'ok MySQL server',
      'ok grants',
      'ok log_bin',
      'ok binlog files',
      'ok binlog_format',
      'ok expire_logs_days',
      'ok server_id',
      'ok GTID',
      'ok dump tool',
      'ok clock (server)',
      'ok bucket region',
      'ok bucket write',
      'ok clock (S3)',
    ]);
    expect(checkExitCode(lines)).toBe(0);
  });

  it('names the missing grants and the GRANT that adds them; through a role it cannot tell, so it warns', () => {
    expect(lineOf(facts({ server: { privileges: ['SELECT'] } }), 'grants')).toEqual({
      level: 'fail',
      what: 'grants',
      why: expect.stringContaining("GRANT RELOAD, BINLOG MONITOR, SHOW VIEW, TRIGGER, EVENT ON *.* TO 'binvault'@'localhost'"),
    });
    expect(lineOf(facts({ server: { privileges: ['SELECT'], roles: true } }), 'grants')?.level).toBe('warn');
    // REPLICATION CLIENT on MySQL, and ALL PRIVILEGES as USER_PRIVILEGES lists it (one row each), are enough.
    expect(lineOf(facts({ server: { version: mysql, gtidMode: 'ON', privileges: ['RELOAD', 'REPLICATION CLIENT', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT'] } }), 'grants')).toMatchObject({
      level: 'fail',
      why: expect.stringContaining('PROCESS (the dump of tablespaces)'),
    });
  });

  it('binary logging off fails, and the checks that need binlogs are not judged', () => {
    const lines = judge(facts({ server: { logBin: false } }));
    expect(lines.find((l) => l.what === 'log_bin')?.level).toBe('fail');
    expect(lines.map((l) => l.what)).not.toContain('binlog_format');
    expect(checkExitCode(lines)).toBe(2);
  });

  it('binlog_format STATEMENT warns; MIXED and ROW are ok', () => {
    expect(lineOf(facts({ server: { binlogFormat: 'STATEMENT' } }), 'binlog_format')?.level).toBe('warn');
    expect(lineOf(facts({ server: { binlogFormat: 'MIXED' } }), 'binlog_format')?.level).toBe('ok');
  });

  it.each([
    [0, 'ok', /never purges/],
    [90, 'fail', /within two shipping runs \(every 60 s\)/],
    [120, 'fail', /within two shipping runs/],
    [6 * 3600, 'warn', /after 6 h: a shipper stopped that long makes a gap/],
    [86_400, 'ok', /kept 24 h/],
  ])('binlogs purged after %i s (shipping every 60 s): %s', (expireSeconds, level, why) => {
    expect(lineOf(facts({ server: { expireSeconds } }), 'expire_logs_days')).toMatchObject({ level, why: expect.stringMatching(why) });
  });

  it('names the MySQL variable on MySQL', () => {
    expect(lineOf(facts({ server: { version: mysql, gtidMode: 'ON', expireSeconds: 30 } }), 'binlog_expire_logs_seconds')?.level).toBe('fail');
  });

  it('server_id 0 fails', () => {
    expect(lineOf(facts({ server: { serverId: 0 } }), 'server_id')?.level).toBe('fail');
  });

  it('MySQL without GTIDs warns', () => {
    expect(lineOf(facts({ server: { version: mysql, gtidMode: 'OFF', privileges: ['RELOAD', 'REPLICATION CLIENT', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'EVENT', 'PROCESS'] } }), 'GTID')).toMatchObject({
      level: 'warn',
      why: expect.stringContaining('gtid_mode=OFF'),
    });
  });

  it("the dump tool: another flavor's fails, an older one warns, none fails", () => {
    expect(lineOf(facts({ dumpTool: { path: '/usr/bin/mysqldump', version: parseServerVersion('8.0.36') } }), 'dump tool')).toMatchObject({ level: 'fail', why: expect.stringContaining("MySQL's, the server is MariaDB 10.11") });
    expect(lineOf(facts({ dumpTool: { path: '/usr/bin/mariadb-dump', version: parseServerVersion('10.6.18-MariaDB') } }), 'dump tool')?.level).toBe('warn');
    expect(lineOf(facts({ dumpTool: { missing: 'no mariadb-dump on PATH' } }), 'dump tool')).toEqual({ level: 'fail', what: 'dump tool', why: 'no mariadb-dump on PATH' });
  });

  it('clocks: within what the measurement can tell is ok, seconds off warns, beyond S3’s 15 minutes fails', () => {
    expect(lineOf(facts({ bucket: { clockOffset: { seconds: 1.2, uncertainty: 1.6 } } }), 'clock (S3)')?.level).toBe('ok');
    expect(lineOf(facts({ bucket: { clockOffset: { seconds: -42, uncertainty: 0.6 } } }), 'clock (S3)')).toMatchObject({ level: 'warn', why: expect.stringMatching(/^S3 is 42 s behind this host's clock: .*run NTP/) });
    expect(lineOf(facts({ server: { clockOffset: { seconds: 3600, uncertainty: 0.01 } } }), 'clock (server)')?.level).toBe('fail');
  });

  it('the bucket: another region fails naming it, a refused write fails with its reason, an unreachable bucket is one line', () => {
    expect(lineOf(facts({ bucket: { region: 'eu-west-1', clientRegion: 'us-east-1' } }), 'bucket region')).toMatchObject({ level: 'fail', why: expect.stringContaining('set AWS_REGION=eu-west-1') });
    expect(lineOf(facts({ bucket: { write: { ok: false, why: 'put s3://acme/mysql/_check/… failed: access denied' } } }), 'bucket write')?.level).toBe('fail');
    const unreachable = judge(facts({ bucket: { unreachable: 'cannot reach the object store at http://127.0.0.1:1 (ECONNREFUSED)' } }));
    expect(unreachable.filter((l) => l.what.startsWith('bucket') || l.what === 'clock (S3)')).toEqual([
      { level: 'fail', what: 'bucket', why: 'cannot reach the object store at http://127.0.0.1:1 (ECONNREFUSED)' },
    ]);
  });

  it('a server that cannot be reached is one line, and the bucket is still checked', () => {
    const lines = judge(facts({ server: { unreachable: 'cannot connect to the MySQL server at socket /run/mysqld/mysqld.sock: no such socket' } }));
    expect(lines.map((l) => `${l.level} ${l.what}`)).toEqual(['fail MySQL server', 'ok bucket region', 'ok bucket write', 'ok clock (S3)']);
  });

  it('exit: the worst line', () => {
    expect(checkExitCode([{ level: 'ok', what: 'a', why: '' }, { level: 'warn', what: 'b', why: '' }])).toBe(1);
    expect(checkExitCode([{ level: 'warn', what: 'a', why: '' }, { level: 'fail', what: 'b', why: '' }])).toBe(2);
  });
});
