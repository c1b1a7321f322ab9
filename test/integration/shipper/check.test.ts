import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, expectExit, type CliResult } from '../../helpers/cli.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';
import { connectTo, startTestServer, type Instance } from '../../helpers/servers.js';

/** The account README's install section creates (MariaDB 10.5+), with what shipping and dumps need. */
const README_GRANTS = 'GRANT RELOAD, BINLOG MONITOR, SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO';

interface Check {
  schemaVersion: number;
  status: 'ok' | 'warn' | 'fail';
  checks: { level: 'ok' | 'warn' | 'fail'; what: string; why: string }[];
}

const parse = (run: CliResult): Check => JSON.parse(run.stdout) as Check;
const line = (check: Check, what: string) => check.checks.find((c) => c.what === what);

/** `20261120T150405Z` moved by some seconds. */
const shiftAmzDate = (stamp: string, seconds: number): string => {
  const ms = Date.parse(stamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) + seconds * 1000;
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
};

/**
 * An S3 endpoint as S3 itself answers in two cases the local one does not: a bucket in another
 * region (301 with x-amz-bucket-region, what S3 says to a request signed for the wrong region), or
 * a clock hours away from this host's (its Date header). Everything else is the real local endpoint's.
 */
const s3InFront = async (target: string, mode: { region: string } | { skewSeconds: number }): Promise<{ url: string; close(): void }> => {
  const server: Server = createServer((incoming, outgoing) => {
    if ('region' in mode) {
      outgoing.writeHead(301, { 'x-amz-bucket-region': mode.region, 'content-type': 'application/xml' });
      outgoing.end(incoming.method === 'HEAD' ? undefined : '<Error><Code>PermanentRedirect</Code><Message>wrong region</Message></Error>');
      return;
    }
    const url = new URL(incoming.url ?? '/', target);
    // The SDK corrects its clock from the Date of an answer, as S3 expects: the requests it then
    // signs are in this S3's time, which the endpoint behind (on this host's clock) is given back.
    const signed = incoming.headers['x-amz-date'];
    const amzDate = typeof signed === 'string' ? shiftAmzDate(signed, -mode.skewSeconds) : undefined;
    const headers = { ...incoming.headers, host: url.host, ...(amzDate ? { 'x-amz-date': amzDate } : {}) };
    const forwarded = request(url, { method: incoming.method, headers }, (answer: IncomingMessage) => {
      const headers = { ...answer.headers, date: new Date(Date.now() + mode.skewSeconds * 1000).toUTCString() };
      outgoing.writeHead(answer.statusCode ?? 500, headers);
      answer.pipe(outgoing);
    });
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
};

describe('binvault check against real servers set up right, and wrong in each way', () => {
  let good: Instance;
  let admin: Connection;
  let bucket: TestBucket;
  let dir: string;
  let env: Record<string, string>;

  const optionFile = async (name: string, user: string, server: Instance): Promise<string> => {
    const path = join(dir, `${name}.cnf`);
    await writeFile(path, `[client]\nuser=${user}\npassword="pw-${user}"\nsocket=${server.socket}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
    return path;
  };
  const check = (over: Record<string, string>, args: string[] = []): Promise<CliResult> => runCli(['check', '--json', ...args], { ...env, ...over });

  beforeAll(async () => {
    good = await startTestServer();
    admin = await connectTo(good);
    bucket = await startTestBucket();
    dir = await mkdtemp(join(tmpdir(), 'binvault-check-'));
    for (const user of ['binvault', 'nogrants', 'skewed']) await admin.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY 'pw-${user}'`);
    await admin.query(`${README_GRANTS} 'binvault'@'localhost'`);
    await admin.query(`${README_GRANTS} 'skewed'@'localhost'`);
    await admin.query('CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY)');
    env = {
      BINVAULT_S3_ENDPOINT: bucket.endpoint.url,
      BINVAULT_BUCKET: bucket.bucket,
      BINVAULT_HOST_ID: 'db1',
      BINVAULT_MYSQL_DEFAULTS_FILE: await optionFile('binvault', 'binvault', good),
      BINVAULT_STATE_DIR: join(dir, 'state'),
    };
  });
  afterAll(async () => {
    await admin.end();
    await good.stop();
    await bucket.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('all ok for the account README creates: every line ok, exit 0, and the probe object written and gone', async () => {
    const events = bucket.events.length;

    const run = await check({});

    expectExit(run, 0);
    const result = parse(run);
    expect(result.schemaVersion).toBe(1);
    expect(result.checks.filter((c) => c.level !== 'ok')).toEqual([]);
    expect(result.checks.map((c) => c.what)).toEqual([
      'MySQL server',
      'grants',
      'log_bin',
      'binlog files',
      'binlog_format',
      'expire_logs_days',
      'server_id',
      'GTID',
      'dump tool',
      'clock (server)',
      'bucket write',
      'clock (S3)',
    ]);
    const probe = bucket.events.slice(events).map((e) => `${e.eventName.split(':')[0] ?? ''} ${e.s3.object.key}`);
    expect(probe).toEqual([expect.stringMatching(/^ObjectCreated mysql\/_check\/db1\/\d{8}T\d{6}Z-[0-9a-f]{6}\.txt$/), expect.stringMatching(/^ObjectRemoved mysql\/_check\/db1\//)]);
    expect((await bucket.store.list('mysql/')).keys).toEqual([]);
  });

  it('and the same account does ship binlogs and a dump, as check said', async () => {
    expectExit(await runCli(['ship', 'dump'], env), 0);
    expectExit(await runCli(['ship', 'binlogs'], env), 0);
    expect(await runCli(['status', '--brief'], env).then((r) => r.stdout)).not.toContain('_check');
  });

  it('prints a line per check, the levels first, aligned', async () => {
    const run = await runCli(['check'], env);

    expectExit(run, 0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ok {4}MySQL server +10\.\d+\.\d+-MariaDB.* as binvault@localhost$/);
    // The whats padded to one width: the reasons start in one column.
    expect(new Set(lines.map((l) => l.slice(6).search(/ {2}\S/))).size).toBe(1);
    expect(lines.every((l) => /^(ok|warn|fail) +\S/.test(l))).toBe(true);
  });

  it('an account without grants: fail, naming the GRANT that fixes it; exit 2', async () => {
    const run = await check({ BINVAULT_MYSQL_DEFAULTS_FILE: await optionFile('nogrants', 'nogrants', good) });

    expectExit(run, 2);
    expect(line(parse(run), 'grants')).toEqual({
      level: 'fail',
      what: 'grants',
      why: expect.stringContaining("GRANT RELOAD, BINLOG MONITOR, SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO 'nogrants'@'localhost'"),
    });
  });

  it('binlogs kept an hour: a warning (a stopped shipper has an hour); exit 1', async () => {
    await admin.query('SET GLOBAL binlog_expire_logs_seconds = 3600');
    try {
      const run = await check({});

      expectExit(run, 1);
      expect(line(parse(run), 'expire_logs_days')).toMatchObject({ level: 'warn', why: expect.stringContaining('after 60 min') });
    } finally {
      await admin.query('SET GLOBAL binlog_expire_logs_seconds = 0');
    }
  });

  it("a server whose clock is an hour behind this host's: fail; exit 2", async () => {
    // init_connect runs for accounts without SUPER: this account's sessions see a clock an hour back.
    await admin.query('SET GLOBAL init_connect = "SET timestamp = UNIX_TIMESTAMP() - 3600"');
    try {
      const run = await check({ BINVAULT_MYSQL_DEFAULTS_FILE: await optionFile('skewed', 'skewed', good) });

      expectExit(run, 2);
      expect(line(parse(run), 'clock (server)')).toMatchObject({ level: 'fail', why: expect.stringMatching(/^the server's clock is 360\d s behind this host's clock/) });
    } finally {
      await admin.query("SET GLOBAL init_connect = ''");
    }
  });

  it('S3 two hours ahead of this clock: fail, and the probe still written and removed', async () => {
    const skewed = await s3InFront(bucket.endpoint.url, { skewSeconds: 7200 });
    try {
      const run = await check({ BINVAULT_S3_ENDPOINT: skewed.url });

      expectExit(run, 2);
      expect(line(parse(run), 'clock (S3)')).toMatchObject({ level: 'fail', why: expect.stringMatching(/^the endpoint is 720\d s ahead of this host's clock/) });
      expect(line(parse(run), 'bucket write')).toMatchObject({ level: 'ok' });
    } finally {
      skewed.close();
    }
  });

  it('a bucket in another region than the one the shipper signs for: fail, saying which', async () => {
    const elsewhere = await s3InFront(bucket.endpoint.url, { region: 'ap-northeast-2' });
    try {
      const run = await runCli(['check', '--json'], { ...env, BINVAULT_S3_ENDPOINT: elsewhere.url, AWS_REGION: 'us-east-1' });

      expectExit(run, 2);
      expect(line(parse(run), 'bucket region')).toEqual({
        level: 'fail',
        what: 'bucket region',
        why: 'the bucket is in ap-northeast-2, the shipper signs for us-east-1: set AWS_REGION=ap-northeast-2 in its environment',
      });
    } finally {
      elsewhere.close();
    }
  });

  it('a bucket that does not exist: fail; a server that cannot be reached: fail, one line each', async () => {
    const run = await check({ BINVAULT_BUCKET: 'no-such-bucket', BINVAULT_MYSQL_DEFAULTS_FILE: '/nonexistent/my.cnf' });

    expectExit(run, 2);
    const result = parse(run);
    expect(result.checks).toEqual([
      { level: 'fail', what: 'MySQL server', why: expect.stringContaining('option file /nonexistent/my.cnf not found') },
      { level: 'fail', what: 'bucket', why: expect.stringContaining("bucket 'no-such-bucket' does not exist") },
    ]);
  });

  it('a dump tool older than the server: a warning', async () => {
    const bin = join(dir, 'old-bin');
    await rm(bin, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(bin));
    // What mariadb-dump 10.3 says of itself; it is asked nothing else here.
    await writeFile(join(bin, 'mariadb-dump'), '#!/bin/sh\necho "mariadb-dump  Ver 10.17 Distrib 10.3.39-MariaDB, for debian-linux-gnu (x86_64)"\n', { mode: 0o755 });

    const run = await check({ PATH: `${bin}:${process.env.PATH ?? ''}` });

    expectExit(run, 1);
    expect(line(parse(run), 'dump tool')).toMatchObject({ level: 'warn', why: expect.stringMatching(/mariadb-dump 10\.3\.39 is older than the server \(10\.11\.\d+\)/) });
  });
});

describe('binvault check against a server with binary logging off', () => {
  let server: Instance;
  let bucket: TestBucket;
  beforeAll(async () => {
    [server, bucket] = await Promise.all([startTestServer({ binlog: false }), startTestBucket()]);
  });
  afterAll(async () => {
    await server.stop();
    await bucket.close();
  });

  it('fails log_bin and judges nothing that needs binlogs; exit 2', async () => {
    const run = await runCli(['check', '--json'], { BINVAULT_S3_ENDPOINT: bucket.endpoint.url, BINVAULT_BUCKET: bucket.bucket, BINVAULT_MYSQL_DEFAULTS_FILE: server.defaultsFile });

    expectExit(run, 2);
    const result = parse(run);
    expect(line(result, 'log_bin')).toMatchObject({ level: 'fail', why: expect.stringContaining('binary logging is off') });
    expect(result.checks.map((c) => c.what)).not.toContain('binlog_format');
  });
});

describe('binvault check against a server logging statements and purging binlogs within seconds', () => {
  let server: Instance;
  let bucket: TestBucket;
  beforeAll(async () => {
    // 0.0001 days: 8.64 s (the server keeps 8 in binlog_expire_logs_seconds).
    [server, bucket] = await Promise.all([startTestServer({ binlogFormat: 'STATEMENT', extraArgs: ['--expire-logs-days=0.0001'] }), startTestBucket()]);
  });
  afterAll(async () => {
    await server.stop();
    await bucket.close();
  });

  it('warns of STATEMENT, fails the purge faster than shipping; exit 2', async () => {
    const run = await runCli(['check', '--json', '--interval', '30'], { BINVAULT_S3_ENDPOINT: bucket.endpoint.url, BINVAULT_BUCKET: bucket.bucket, BINVAULT_MYSQL_DEFAULTS_FILE: server.defaultsFile });

    expectExit(run, 2);
    const result = parse(run);
    expect(line(result, 'binlog_format')).toMatchObject({ level: 'warn', why: expect.stringMatching(/^STATEMENT: .*set binlog_format=ROW/) });
    expect(line(result, 'expire_logs_days')).toMatchObject({ level: 'fail', why: expect.stringMatching(/^the server purges binlogs 8 s after they close, within two shipping runs \(every 30 s\)/) });
    expect(result.status).toBe('fail');
  });
});
