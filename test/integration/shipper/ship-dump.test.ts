import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawSizeOf } from '../../../core/gzip/seal.js';
import { dayIn } from '../../../core/layout.js';
import { verifyStream } from '../../../core/verify.js';
import { findProgram } from '../../../drivers/mysql/programs.js';
import type { HostImpact } from '../../../shipper/lib/compress-host.js';
import { runCli, runCliOnTerminal, expectExit, screenLines } from '../../helpers/cli.js';
import { fakeIgzip } from '../../helpers/compressor.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';
import { connectTo, startTestServer, type Instance } from '../../helpers/servers.js';

const run = promisify(execFile);

const SCHEMA = [
  'CREATE DATABASE shop',
  'CREATE DATABASE billing',
  'CREATE TABLE shop.bytes (id INT PRIMARY KEY, b LONGBLOB, t TEXT CHARACTER SET utf8mb4)',
  'CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(10,2), at DATETIME(6), note VARCHAR(200))',
  'CREATE TABLE billing.invoices (id INT PRIMARY KEY, total DOUBLE, paid BOOL)',
  'CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT)',
  'CREATE TRIGGER shop.orders_audit AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO shop.audit (order_id) VALUES (NEW.id)',
  'CREATE FUNCTION shop.vat(x DECIMAL(10,2)) RETURNS DECIMAL(10,2) DETERMINISTIC RETURN x * 1.1',
  'CREATE PROCEDURE shop.add_order(IN a DECIMAL(10,2)) INSERT INTO shop.orders (amount, at) VALUES (a, NOW(6))',
  'CREATE EVENT shop.nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM shop.audit WHERE id < 0',
  'CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE amount > 100',
];

const checksums = async (db: Connection, tables: string[]): Promise<Record<string, string>> => {
  const [rows] = await db.query<RowDataPacket[]>(`CHECKSUM TABLE ${tables.join(', ')}`);
  return Object.fromEntries(rows.map((r) => [String(r.Table), String(r.Checksum)]));
};

const objects = async (bucket: TestBucket, host: string): Promise<string[]> =>
  (await bucket.store.list(`mysql/${host}/`)).keys.map((k) => k.key).filter((k) => !k.includes('/records/'));

describe('binvault ship dump against a real server and the local endpoint', () => {
  let source: Instance;
  let admin: Connection;
  let bucket: TestBucket;
  let stateDir: string;
  let env: Record<string, string>;
  let password: string;

  beforeAll(async () => {
    source = await startTestServer();
    admin = await connectTo(source);
    bucket = await startTestBucket();
    stateDir = await mkdtemp(join(tmpdir(), 'binvault-state-'));
    password = /password="([^"]+)"/.exec(await readFile(source.defaultsFile, 'utf8'))?.[1] ?? '';
    env = {
      BINVAULT_S3_ENDPOINT: bucket.endpoint.url,
      BINVAULT_BUCKET: bucket.bucket,
      BINVAULT_HOST_ID: 'db1',
      BINVAULT_MYSQL_DEFAULTS_FILE: source.defaultsFile,
      BINVAULT_STATE_DIR: stateDir,
    };
    for (const statement of SCHEMA) await admin.query(statement);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await admin.query('INSERT INTO shop.bytes VALUES (1, ?, ?), (2, ?, ?), (3, NULL, ?)', [
      every,
      'ünïcödé 한국어 \'quotes\' "double" \\ backslash',
      Buffer.concat([every, Buffer.from(every).reverse()]),
      '-- Current Database: `fake`\n-- Dump completed on never',
      '',
    ]);
    for (let i = 0; i < 200; i++) await admin.query('CALL shop.add_order(?)', [(i * 3.7).toFixed(2)]);
    await admin.query('INSERT INTO billing.invoices VALUES (1, 12.5, TRUE), (2, 1e300, FALSE)');
  });
  afterAll(async () => {
    await admin.end();
    await source.stop();
    await bucket.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('ships a dump that verifies, records its coordinates, and loads into a fresh instance table for table', async () => {
    const [status] = await admin.query<RowDataPacket[]>('SHOW MASTER STATUS');

    const shipped = await runCli(['ship', 'dump', '--databases', 'shop,billing'], env);

    expect(shipped.stderr).toBe('');
    expectExit(shipped, 0);
    const [key] = (await objects(bucket, 'db1')).filter((k) => k.includes('/dumps/'));
    expect(key).toMatch(new RegExp(`^mysql/db1/dumps/${dayIn(new Date())}/db1-\\d{8}T\\d{6}Z\\.sql\\.gz$`));
    const head = await bucket.store.head(key ?? '');
    expect(head?.metadata).toMatchObject({
      kind: 'dump',
      host: 'db1',
      'binlog-file': `${String(status?.[0]?.File)}:${String(status?.[0]?.Position)}`,
      'shipper-version': '0.1.0',
    });
    const verdict = await verifyStream({ file: key ?? '', body: await bucket.store.get(key ?? ''), metadata: head?.metadata ?? {} });
    expect(verdict.reasons).toEqual([]);
    expect(verdict.dump).toMatchObject({ databases: ['shop', 'billing'], complete: true, binlogFile: status?.[0]?.File });
    expect(verdict.dump?.gtids).toMatch(/^0-1-\d+$/);
    expect(Number(head?.metadata['raw-size'])).toBe(verdict.rawSize);

    const fresh = await startTestServer({ serverId: 2 });
    try {
      const client = findProgram('mariadb', 'mysql') ?? 'mariadb';
      const load = spawn(client, [`--defaults-extra-file=${fresh.defaultsFile}`], { stdio: ['pipe', 'ignore', 'pipe'] });
      let loadErr = '';
      load.stderr.on('data', (d: Buffer) => (loadErr += d.toString()));
      const done = new Promise<number | null>((resolve) => load.on('close', resolve));
      const gunzip = createGunzip();
      gunzip.pipe(load.stdin);
      for await (const chunk of await bucket.store.get(key ?? '')) gunzip.write(chunk);
      gunzip.end();
      expect(await done).toBe(0);
      expect(loadErr).toBe('');

      const target = await connectTo(fresh);
      const tables = ['shop.bytes', 'shop.orders', 'shop.audit', 'billing.invoices'];
      expect(await checksums(target, tables)).toEqual(await checksums(admin, tables));
      const [bytes] = await target.query<RowDataPacket[]>('SELECT b FROM shop.bytes WHERE id = 1');
      expect((bytes[0]?.b as Buffer).equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(true);
      for (const [what, sql] of [
        ['routines', "SELECT ROUTINE_NAME AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'shop' ORDER BY 1"],
        ['triggers', "SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop' ORDER BY 1"],
        ['events', "SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop' ORDER BY 1"],
        ['views', "SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop' ORDER BY 1"],
      ] as const) {
        const [a] = await admin.query<RowDataPacket[]>(sql);
        const [b] = await target.query<RowDataPacket[]>(sql);
        expect(b, what).toEqual(a);
        expect(a.length, what).toBeGreaterThan(0);
      }
      await target.end();
    } finally {
      await fresh.stop();
    }
  });

  it('writes one valid gzip stream that gzip -t accepts, and nothing to local disk but its removed option file', async () => {
    // A private TMPDIR: the shared /tmp also holds other test workers' (and other runs') dumps.
    const privateTmp = await mkdtemp(join(tmpdir(), 'binvault-tmp-'));
    expectExit(await runCli(['ship', 'dump'], { ...env, TMPDIR: privateTmp }), 0);
    expect(await readdir(privateTmp)).toEqual([]);
    await rm(privateTmp, { recursive: true });

    const keys = (await objects(bucket, 'db1')).filter((k) => k.includes('/dumps/'));
    const path = join(await mkdtemp(join(tmpdir(), 'binvault-gz-')), 'dump.sql.gz');
    await writeFile(path, await bucket.store.getBytes(keys.at(-1) ?? ''));
    execFileSync('gzip', ['-t', path]);
    await rm(path);
  });

  it('on a terminal: a bar toward the size information_schema gives the tables, with an ETA; then only the result line', async () => {
    const run = await runCliOnTerminal(['ship', 'dump'], env);

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/ dump +\[[#.]+\] \d+% +[\d.]+ (B|KiB|MiB) of ~[\d.]+ (KiB|MiB)  ETA /);
    expect(screenLines(run.output)).toEqual([
      expect.stringMatching(/^shipped dump [\d.]+ (KiB|MiB) → [\d.]+ (KiB|MiB) in .* consistent with binlog\.\d+:\d+/),
      expect.stringMatching(/^host: [\d.]+ CPU s .*, peak RSS [\d.]+ MiB; /),
    ]);
  });

  it('a dump of a missing database leaves no object and says so in one line', async () => {
    const before = await objects(bucket, 'db1');
    const run = await runCli(['ship', 'dump', '--databases', 'shop,nope'], env);
    expectExit(run, 1);
    expect(run.stderr.trim()).toBe('binvault: no such database on the server: nope');
    expect(await objects(bucket, 'db1')).toEqual(before);
  });

  describe('with a dump big enough to catch in the act', () => {
    beforeAll(async () => {
      await admin.query('CREATE TABLE shop.bulk (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB)');
      await admin.query('SET SESSION group_concat_max_len = 4194304');
      for (let i = 0; i < 48; i++) {
        await admin.query("INSERT INTO shop.bulk (b) SELECT GROUP_CONCAT(RANDOM_BYTES(1024) SEPARATOR '') FROM shop.seq_1_to_1024");
      }
    });

    const dumpProcess = async (cli: number): Promise<number | undefined> => {
      // The dump itself, not the short `--version` probe the shipper runs first.
      const { stdout } = await run('pgrep', ['-P', String(cli), '-f', 'defaults-extra-file']).catch(() => ({ stdout: '' }));
      const pid = stdout.trim().split('\n').filter((l) => l !== '')[0];
      return pid ? Number(pid) : undefined;
    };

    it('never shows the password in ps or in the dump tool’s environment', async () => {
      let cli = 0;
      const running = runCli(['ship', 'dump'], env, { onSpawn: (p) => (cli = p) });
      let sampled = 0;
      let dumpPid: number | undefined;
      while (sampled < 200) {
        const { stdout } = await run('ps', ['-eo', 'pid,args'], { maxBuffer: 4 << 20 });
        expect(stdout).not.toContain(password);
        dumpPid ??= await dumpProcess(cli);
        if (dumpPid) {
          const environ = await readFile(`/proc/${dumpPid}/environ`, 'utf8').catch(() => '');
          expect(environ).not.toContain(password);
          const cmdline = await readFile(`/proc/${dumpPid}/cmdline`, 'utf8').catch(() => '');
          expect(cmdline).not.toContain(password);
          if (cmdline !== '') expect(cmdline).toContain('--defaults-extra-file=');
        }
        sampled++;
        if ((await Promise.race([running.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))])) === true) break;
      }
      expect(dumpPid).toBeDefined();
      const result = await running;
      expectExit(result, 0);
      expect(result.stdout + result.stderr).not.toContain(password);
    });

    it('a killed dump tool leaves no object and no open upload', async () => {
      const before = await objects(bucket, 'db1');
      let cli = 0;
      const running = runCli(['ship', 'dump'], env, { onSpawn: (p) => (cli = p) });
      let dumpPid: number | undefined;
      let killed = false;
      try {
        // Caught in the act: the tool is still writing once the first part of its upload is open.
        const deadline = Date.now() + 20_000;
        while (!killed && Date.now() < deadline) {
          dumpPid ??= await dumpProcess(cli);
          if (dumpPid && (await bucket.store.listMultipartUploads('mysql/db1/dumps/')).length > 0) {
            process.kill(dumpPid, 'SIGKILL');
            killed = true;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        // Never leave the run (and its dump lock) behind for the next test.
        await running;
      }
      expect(killed).toBe(true);
      const result = await running;

      expectExit(result, 1);
      expect(result.stderr.trim()).toMatch(/^binvault: .*(mariadb-dump|mysqldump) was killed \(SIGKILL\); no object written$/);
      expect(await objects(bucket, 'db1')).toEqual(before);
      expect(await bucket.store.listMultipartUploads('mysql/db1/')).toEqual([]);
    });

    it('a compressor that dies mid-stream leaves no object and no open upload, in one line', async () => {
      const before = await objects(bucket, 'db1');
      const fake = await fakeIgzip('dies');

      const result = await runCli(['ship', 'dump'], { ...env, PATH: `${fake}:${process.env.PATH ?? ''}`, BINVAULT_COMPRESSOR: 'igzip' });

      expectExit(result, 1);
      expect(result.stderr.trim()).toMatch(/^binvault: \/.*\/igzip was killed by SIGKILL; nothing was stored$/);
      expect(await objects(bucket, 'db1')).toEqual(before);
      expect(await bucket.store.listMultipartUploads('mysql/db1/')).toEqual([]);
      // The dump tool was stopped with it: its session leaves the server (once the server sees it closed).
      const dumping = async (): Promise<RowDataPacket[]> =>
        (await admin.query<RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT /*!40001 SQL_NO_CACHE */%'"))[0];
      const gone = Date.now() + 10_000;
      while ((await dumping()).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
      expect(await dumping()).toEqual([]);
    });

    it('a killed shipper leaves an open upload and no object; the next dump removes the upload and says so', async () => {
      const before = await objects(bucket, 'db1');
      let cli = 0;
      const running = runCli(['ship', 'dump'], env, { onSpawn: (p) => (cli = p) });
      let open: string[] = [];
      const deadline = Date.now() + 20_000;
      while (open.length === 0 && Date.now() < deadline) {
        open = (await bucket.store.listMultipartUploads('mysql/db1/dumps/')).map((u) => u.key);
        if (open.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
      expect(open).toHaveLength(1);
      process.kill(cli, 'SIGKILL');
      await running;
      expect(await objects(bucket, 'db1')).toEqual(before);

      const next = await runCli(['ship', 'dump'], env);

      expectExit(next, 0);
      expect(next.stdout).toContain(`removed s3://${bucket.bucket}/${open[0] ?? ''} left by an interrupted dump`);
      expect(await bucket.store.listMultipartUploads('mysql/db1/')).toEqual([]);
      const dumps = (await objects(bucket, 'db1')).filter((k) => k.includes('/dumps/') && !before.includes(k));
      expect(dumps).toHaveLength(1);
      expect(dumps[0]).not.toBe(open[0]);
    });

    for (const compressor of ['igzip', 'zlib'] as const) {
      it(`with ${compressor}: runs below the application's priority and reports its cost to the host`, async () => {
        let cli = 0;
        const running = runCli(['ship', 'dump', '--json'], { ...env, BINVAULT_COMPRESSOR: compressor }, { onSpawn: (p) => (cli = p) });
        let dumpPid: number | undefined;
        let niceOfTool: number | undefined;
        let ioOfTool = '';
        const deadline = Date.now() + 20_000;
        while (niceOfTool === undefined && Date.now() < deadline) {
          dumpPid ??= await dumpProcess(cli);
          if (dumpPid) {
            const stat = await readFile(`/proc/${dumpPid}/stat`, 'utf8').catch(() => '');
            // Field 19 of /proc/PID/stat is the nice value.
            if (stat !== '') niceOfTool = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
            ioOfTool = (await run('ionice', ['-p', String(dumpPid)]).catch(() => ({ stdout: '' }))).stdout.trim();
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        const result = await running;

        expectExit(result, 0);
        expect(niceOfTool).toBe(10);
        expect(ioOfTool).toBe('best-effort: prio 7');
        const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; key?: string; rawBytes?: number; storedBytes?: number; impact?: HostImpact });
        const last = lines.at(-1);
        expect(last?.type).toBe('result');
        const impact = last?.impact;
        expect(impact?.compressor).toMatch(compressor === 'igzip' ? /^igzip \d/ : /^zlib /);
        expect(impact?.bytesRead).toBe(last?.rawBytes);
        expect(impact?.bytesSent).toBe(last?.storedBytes);
        // The dump tool's CPU (and igzip's) is the children's share.
        expect(impact?.cpuSeconds.children).toBeGreaterThan(0);
        expect(impact?.cpuSeconds.self).toBeGreaterThan(0);
        expect(impact?.peakRssBytes).toBeLessThan(256e6);
        expect(impact?.childPeakRssBytes).toBeGreaterThan(0);
        expect(impact?.priority).toEqual({ nice: 10, io: 'best-effort 7' });
        const head = await bucket.store.head(last?.key ?? '');
        // A dump of many parts is written straight to its key: its metadata set when the upload began
        // (the header's coordinates), its sha256 and raw size in its seal, which the verifier checks.
        expect(head?.metadata).toMatchObject({ kind: 'dump', host: 'db1', 'binlog-file': expect.stringMatching(/^[\w.-]+\.\d{6}:\d+$/) as unknown });
        expect(head?.metadata.sha256).toBeUndefined();
        const verdict = await verifyStream({ file: last?.key ?? '', body: await bucket.store.get(last?.key ?? ''), metadata: head?.metadata ?? {} });
        expect(verdict.reasons).toEqual([]);
        expect(verdict.rawSize).toBe(last?.rawBytes);
        // What a restore's load counts its progress toward: the seal's raw size.
        expect(await rawSizeOf(bucket.store, last?.key ?? '')).toBe(last?.rawBytes);
      });
    }

    it('two dumps never overlap', async () => {
      let cli = 0;
      const first = runCli(['ship', 'dump'], env, { onSpawn: (p) => (cli = p) });
      // The first holds the dump lock once its dump tool runs (not after a fixed delay: a loaded
      // machine can take longer than any delay to start a process).
      const deadline = Date.now() + 20_000;
      while ((await dumpProcess(cli)) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await dumpProcess(cli)).toBeDefined();
      const second = await runCli(['ship', 'dump'], env);
      expectExit(second, 1);
      expect(second.stderr).toMatch(/^binvault: another binvault ship dump is running \(pid \d+/);
      const firstResult = await first;
      expect(firstResult.stderr).toBe('');
      expectExit(firstResult, 0);
    });
  });

  it('cancels a dump that waits for a lock beyond --lock-wait-timeout, kills its session and names the blocking query', async () => {
    // The classic pile-up: a transaction holds shop.orders, an ALTER queues for it, and every later
    // reader of shop.orders — the dump too — queues behind the ALTER.
    const reader = await connectTo(source);
    const alterer = await connectTo(source);
    await reader.query('START TRANSACTION');
    await reader.query('SELECT * FROM shop.orders LIMIT 1');
    const [idRows] = await alterer.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    const alterId = Number(idRows[0]?.id);
    const alter = alterer.query('ALTER TABLE shop.orders ADD COLUMN extra INT').catch(() => undefined);
    const queued = async (): Promise<boolean> => {
      const [rows] = await admin.query<RowDataPacket[]>('SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ?', [alterId]);
      return /metadata lock/i.test(String(rows[0]?.STATE ?? ''));
    };
    const queuedBy = Date.now() + 20_000;
    while (!(await queued()) && Date.now() < queuedBy) await new Promise((r) => setTimeout(r, 20));
    expect(await queued()).toBe(true);
    const before = await objects(bucket, 'db1');
    const started = Date.now();

    const result = await runCli(['ship', 'dump', '--lock-wait-timeout', '2'], env);

    expectExit(result, 1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stderr.trim()).toMatch(
      new RegExp(
        `^binvault: the dump waited \\d+ s \\(Waiting for table metadata lock.*\\) behind query ${alterId} of root running \\d+ s: ALTER TABLE shop\\.orders ADD COLUMN extra INT; dump cancelled and its session \\d+ killed, no object written$`,
      ),
    );
    const sessionId = Number(/session (\d+) killed/.exec(result.stderr)?.[1]);
    const [processes] = await admin.query<RowDataPacket[]>('SELECT ID FROM information_schema.PROCESSLIST');
    expect(processes.map((p) => Number(p.ID))).not.toContain(sessionId);
    expect(await objects(bucket, 'db1')).toEqual(before);
    await reader.query('ROLLBACK');
    await alter;
    await reader.end();
    await alterer.end();
  });
});
