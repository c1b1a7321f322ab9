import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../local/runtime.js';
import { readOptionFile } from '../../../drivers/mysql/option-file.js';
import { S3Store } from '../../../drivers/aws/s3.js';
import { runCli, runCliOnTerminal, expectExit, screenLines } from '../../helpers/cli.js';
import { onFullDisk } from '../../helpers/disk.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';
import { connectTo, startTestServer, type Instance } from '../../helpers/servers.js';

const run = promisify(execFile);

interface Checkpoint {
  time: string;
  gtid: string;
  checksums: Record<string, string>;
}

interface Progress {
  type: 'progress';
  phase: string;
  done: number;
  total: number;
  etaSeconds: number | null;
  remainingSeconds?: number;
}

interface Report {
  status: string;
  execution: string;
  plan: { targetTime: string; binlogs: string[] };
  reached: { gtids: string; time?: string };
  verification: { ok: boolean; checks: string[] };
  instance: { host: string; port: number; socket: string; user: string; defaultsFile: string; dataDir: string };
  timings: { loadSeconds: number; replaySeconds: number };
}

const TABLES = ['sbtest.sbtest1', 'sbtest.sbtest2', 'shop.orders', 'shop.audit', 'shop.blobs', 'shop.ticks'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('restore drills: a real workload in ROW, STATEMENT and MIXED, restored to random quiet checkpoints', () => {
  let scenario: Scenario;
  let source: Instance;
  let admin: Connection;
  let runtime: LocalRuntime;
  let stateDir: string;
  let env: Record<string, string>;
  const checkpoints: Checkpoint[] = [];
  const restored: Report[] = [];
  let beforeDump = '';

  const checksums = async (db: Connection, tables: string[]): Promise<Record<string, string>> => {
    const result: Record<string, string> = {};
    for (const table of tables) {
      const [rows] = await db.query<RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
      result[table] = String(rows[0]?.Checksum);
    }
    return result;
  };

  /** A quiet second: nothing is written in it, its checksums and GTID are the state at its end. */
  const checkpoint = async (): Promise<void> => {
    await sleep(1100);
    const [[now]] = (await admin.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ') AS t, @@gtid_binlog_pos AS g")) as unknown as [RowDataPacket[]];
    checkpoints.push({
      time: String(now?.t),
      gtid: String(now?.g),
      checksums: await checksums(admin, TABLES),
    });
    await sleep(1100);
  };

  const sysbench = async (format: string, seconds: number): Promise<void> => {
    await admin.query(`SET GLOBAL binlog_format = '${format}'`);
    await run('sysbench', [
      'oltp_write_only',
      `--mysql-socket=${source.socket}`,
      '--mysql-user=sbtest',
      '--mysql-db=sbtest',
      '--tables=2',
      '--table-size=2000',
      '--threads=2',
      `--time=${seconds}`,
      '--report-interval=0',
      'run',
    ]);
  };

  const ship = async (what: 'dump' | 'binlogs'): Promise<void> => {
    const result = await runCli(['ship', what], env);
    expect(result.stderr).toBe('');
    expectExit(result, 0);
    await runtime.idle();
  };

  /** A restore with --json: the report on stdout; on stderr, its progress as JSON lines, and the rest (an error). */
  const restore = async (...args: string[]): Promise<{ code: number | null; report?: Report; stderr: string; stdout: string; progress: Progress[] }> => {
    const result = await runCli(['restore', ...args, '--json'], env, { timeoutMs: 180_000 });
    const report = result.code === 0 ? (JSON.parse(result.stdout) as Report) : undefined;
    if (report) restored.push(report);
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    const progress = lines.filter((l) => l.startsWith('{"type":"progress"')).map((l) => JSON.parse(l) as Progress);
    const stderr = lines.filter((l) => !l.startsWith('{"type":"progress"')).map((l) => `${l}\n`).join('');
    return { ...result, stderr, progress, ...(report ? { report } : {}) };
  };

  const connectRestored = async (report: Report): Promise<Connection> => {
    const options = await readOptionFile(report.instance.defaultsFile);
    return createConnection({ socketPath: report.instance.socket, user: report.instance.user, ...(options.password ? { password: options.password } : {}) });
  };

  beforeAll(async () => {
    scenario = await startScenario({ server: { binlogFormat: 'ROW' } });
    ({ server: source, admin, runtime, stateDir, env } = scenario);
    await admin.query(
      "CREATE DATABASE sbtest; CREATE USER 'sbtest'@'localhost'; GRANT ALL ON sbtest.* TO 'sbtest'@'localhost'; " +
        'CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT, note VARCHAR(64)); ' +
        'CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT); ' +
        'CREATE TRIGGER shop.audited AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO shop.audit (order_id) VALUES (NEW.id); ' +
        // An event the source never runs (its scheduler is off): a restored server must not run it either.
        'CREATE TABLE shop.ticks (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME); ' +
        'CREATE EVENT shop.tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO shop.ticks (at) VALUES (NOW())',
    );
    await run('sysbench', ['oltp_write_only', `--mysql-socket=${source.socket}`, '--mysql-user=sbtest', '--mysql-db=sbtest', '--tables=2', '--table-size=2000', 'prepare']);
    const [[t]] = (await admin.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ') AS t")) as unknown as [RowDataPacket[]];
    beforeDump = String(t?.t);
    await sleep(1100);
    await ship('dump');

    // A row event larger than a server's default packet limit (16 MiB here): replayed as one BINLOG
    // statement, a third larger again.
    await admin.query('CREATE TABLE shop.blobs (id INT PRIMARY KEY, a LONGBLOB, b LONGBLOB)');
    await admin.query("INSERT INTO shop.blobs VALUES (1, REPEAT('a', 10000000), REPEAT('b', 10000000))");
    await sysbench('ROW', 2);
    await checkpoint();
    await ship('binlogs');

    // A temporary table created in one binlog and used in the next: one replay session or nothing.
    const app = await connectTo(source);
    await app.query("SET SESSION binlog_format = 'STATEMENT'");
    await app.query('CREATE TEMPORARY TABLE shop.pending (amount INT, note VARCHAR(64))');
    await app.query("INSERT INTO shop.pending VALUES (10, 'held'), (20, 'held')");
    // Raw bytes in a logged statement's text, as an application that inlines strings sends them: a
    // replay client without --binary-mode refuses the NUL and turns CR LF into LF.
    await app.query("INSERT INTO shop.orders (amount, note) VALUES (1, 'a\r\nb'), (2, 'x\0y'), (3, 'tab\there')");
    // LOAD DATA logged as a statement: the replay's reader writes its rows to files and the client
    // sends them (LOCAL), so both ends must allow it.
    const csv = join(source.baseDir, 'orders.csv');
    await writeFile(csv, '40\tloaded\n41\tloaded too\n');
    await app.query(`LOAD DATA INFILE '${csv}' INTO TABLE shop.orders (amount, note)`);
    await sysbench('STATEMENT', 2);
    await ship('binlogs');
    await app.query('INSERT INTO shop.orders (amount, note) SELECT amount, note FROM shop.pending');
    await app.end();
    await checkpoint();

    await sysbench('MIXED', 2);
    await admin.query("INSERT INTO shop.orders (amount, note) VALUES (UUID_SHORT() % 100, 'mixed'), (RAND() * 100, 'mixed')");
    await checkpoint();
    await ship('binlogs');

    // The disaster of the first users: a table dropped, rows deleted.
    await admin.query('DELETE FROM shop.audit WHERE id % 2 = 0');
    await admin.query('DROP TABLE shop.orders');
    await ship('binlogs');
  }, 300_000);

  afterAll(async () => {
    for (const report of restored) {
      const pidFile = join(report.instance.dataDir, '..', 'mysqld.pid');
      const pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
    await sleep(500);
    await scenario.close();
  });

  it('restores to random checkpoints: every table’s checksum equals the source’s at that second', async () => {
    const picks = [...checkpoints].sort(() => Math.random() - 0.5).slice(0, 2);
    for (const cp of picks) {
      const result = await restore('--to', cp.time);
      expect(result.stderr.trim()).toBe('');
      expectExit(result, 0);
      // Each phase's progress counts toward a total it reaches.
      for (const phase of ['load', 'download']) {
        const last = result.progress.filter((p) => p.phase === phase).at(-1);
        expect(last, phase).toMatchObject({ etaSeconds: 0 });
        expect(last?.done, phase).toBe(last?.total);
      }
      // And the time left of the whole restore, from the plan's estimate (the RTO budget's rates).
      expect(result.progress.every((p) => typeof p.remainingSeconds === 'number' && p.remainingSeconds >= 0)).toBe(true);
      const report = result.report as Report;
      expect(report.verification.ok).toBe(true);
      expect(report.reached.gtids).toBe(cp.gtid);
      const target = await connectRestored(report);
      expect(await checksums(target, TABLES)).toEqual(cp.checksums);
      await target.end();
    }
  });

  it('restores to a GTID', async () => {
    const cp = checkpoints[1] as Checkpoint;
    const result = await restore('--gtid', cp.gtid);
    expect(result.stderr.trim()).toBe('');
    expectExit(result, 0);
    const target = await connectRestored(result.report as Report);
    expect(await checksums(target, TABLES)).toEqual(cp.checksums);
    await target.end();
  });

  it('`binvault restore apply`, as SSM runs it on a new machine, brings back a planned second step by step', async () => {
    // The last checkpoint: through every binlog, the big row, the raw bytes and the LOAD DATA.
    const cp = checkpoints.at(-1) as Checkpoint;
    const planned = await restore('--to', cp.time);
    expectExit(planned, 0);
    const plan = `s3://binvault/mysql/db1/restores/${(planned.report as Report).execution}/plan.json`;
    // A stock server as a launch template would start it: 16 MiB packets, events scheduled, no LOAD
    // DATA LOCAL (MySQL 8's defaults).
    const fresh = await startTestServer({ innodbLogFileSize: '64M', innodbBufferPoolSize: '256M', extraArgs: ['--event-scheduler=ON', '--local-infile=0'] });
    try {
      const apply = async (step: string): Promise<Record<string, unknown>> => {
        const result = await runCli(['restore', 'apply', '--step', step, '--plan', plan, '--defaults-file', fresh.defaultsFile], env, { timeoutMs: 180_000 });
        expect(result.stderr).toBe('');
        expectExit(result, 0);
        return JSON.parse(result.stdout) as Record<string, unknown>;
      };

      const loaded = await apply('load');
      // The restore host's disk full where the binlogs are downloaded (the new server's relay log
      // directory, beside its data): one line, nothing replayed.
      const refused = await runCli(['restore', 'apply', '--step', 'replay', '--plan', plan, '--defaults-file', fresh.defaultsFile], env, { prefix: onFullDisk(fresh.dataDir) });
      expectExit(refused, 1);
      expect(refused.stderr.trim()).toMatch(
        new RegExp(`^binvault: cannot write binlog binlog\\.\\d+ \\(downloaded for the replay\\) in ${fresh.dataDir}/?: no space left on the device \\(ENOSPC\\)$`),
      );
      await apply('replay');
      const reached = await apply('reached');

      // The dump was taken when only sysbench's two tables had rows: two sessions' worth of rows.
      expect(loaded.tables).toBe(2);
      expect(reached.gtids).toBe(cp.gtid);
      const target = await connectTo(fresh);
      expect(await checksums(target, TABLES)).toEqual(cp.checksums);
      const [[events]] = (await target.query("SELECT @@GLOBAL.event_scheduler AS scheduler, COUNT(*) AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop'")) as unknown as [RowDataPacket[]];
      expect(events).toMatchObject({ scheduler: 'OFF', n: 1 });
      await target.end();
      expect(await readdir(join(stateDir, 'shipper', 'restore-work'))).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });

  it('restores --latest on a terminal: a bar with its total and ETA per phase, the steps above it, the command that connects last; the dropped table is gone, the deletions are there', async () => {
    const result = await runCliOnTerminal(['restore', '--latest'], env, { timeoutMs: 180_000 });

    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/ load +\[[#.]+\] \d+% +[\d.]+ (B|KiB|MiB) of [\d.]+ (KiB|MiB)  ETA /);
    expect(result.output).toMatch(/ download +\[[#.]+\] \d+% +[\d.]+ (B|KiB|MiB) of [\d.]+ (KiB|MiB)  ETA /);
    const screen = screenLines(result.output);
    expect(screen.filter((l) => l.startsWith('→ '))).toEqual(['→ ValidateInput', '→ Plan', '→ Provision', '→ LoadDump', '→ ReplayBinlogs', '→ Verify', '→ CleanupStrays', '→ Report']);
    // What a person sees at the end is the summary, no bar left over, and last the command to type.
    expect(screen.filter((l) => l.includes('ETA'))).toEqual([]);
    const defaultsFile = /^mariadb --defaults-extra-file=(\S+\/client\.cnf)$/.exec(screen.at(-1) ?? '')?.[1] ?? '';
    expect(defaultsFile, screen.at(-1)).not.toBe('');
    const options = await readOptionFile(defaultsFile);
    restored.push({ instance: { dataDir: join(dirname(defaultsFile), 'data') } } as Report);
    const target = await createConnection({ socketPath: options.socket ?? '', user: options.user ?? 'root', ...(options.password ? { password: options.password } : {}) });
    const [tables] = await target.query<RowDataPacket[]>("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'");
    expect(tables.map((t) => t.TABLE_NAME).sort()).toEqual(['audit', 'blobs', 'ticks']);
    expect(await checksums(target, ['shop.audit', 'sbtest.sbtest1', 'sbtest.sbtest2'])).toEqual(await checksums(admin, ['shop.audit', 'sbtest.sbtest1', 'sbtest.sbtest2']));
    await target.end();
  });

  const restoreAlerts = async (): Promise<string[]> =>
    (await readFile(join(stateDir, 'shipper', 'alerts.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; execution?: string })
      .filter((a) => a.type.startsWith('restore-'))
      .map((a) => `${a.type} ${a.execution ?? ''}`);

  it('refuses a target before every backup with one clear line naming the windows; refused and dry runs alert nobody, and a host never shipped stays unknown', async () => {
    const alertsBefore = await restoreAlerts();

    const result = await restore('--to', beforeDump);
    const dry = await restore('--to', beforeDump, '--dry-run');
    const nosuch = await restore('--latest', '--host', 'nosuch');

    expectExit(result, 1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    // Refused, not failed: nothing was attempted.
    expect(result.stderr.trim()).toMatch(/^binvault: \S+ is outside every restorable window of db1; nearest: \S+ → \S+; restorable: /);
    expectExit(dry, 1);
    expect(dry.stderr).toBe(result.stderr);
    expectExit(nosuch, 1);
    expect(nosuch.stderr).toBe("binvault: no catalog for host 'nosuch': nothing was shipped, or run binvault catalog rebuild\n");
    expect(await restoreAlerts()).toEqual(alertsBefore);
    const store = new S3Store({ bucket: 'binvault', endpoint: runtime.endpoint.url });
    expect((await store.list('mysql/', { delimiter: '/' })).prefixes).toEqual(['mysql/db1/']);
  });

  it('a failure mid-replay removes the new instance and reports it', async () => {
    const store = new S3Store({ bucket: 'binvault', endpoint: runtime.endpoint.url });
    const keys = (await store.list('mysql/db1/binlogs/')).keys.map((k) => k.key);
    const victim = keys[keys.length - 1] ?? '';
    const head = await store.head(victim);
    // Swapped after verification: the replay's sha256 check catches it.
    await store.delete(victim);
    await store.put(victim, gzipSync(Buffer.from('not the binlog that was shipped')), { metadata: head?.metadata ?? {} });
    const restoresBefore = await run('ls', [join(stateDir, 'shipper', 'restores')]).then((r) => r.stdout.split('\n').filter((l) => l !== ''));
    const failedReports = async (): Promise<number> => {
      const reports = (await store.list('mysql/db1/restores/')).keys.filter((k) => k.key.endsWith('report.json'));
      const bodies = await Promise.all(reports.map(async (k) => JSON.parse((await store.getBytes(k.key)).toString()) as { status: string }));
      return bodies.filter((r) => r.status === 'failed').length;
    };
    const failedBefore = await failedReports();
    const alertsBefore = await restoreAlerts();

    const result = await restore('--latest');

    expectExit(result, 1);
    expect(result.stderr.trim()).toMatch(/^binvault: restore failed: .*does not match its sha256: not replayed$/);
    const restoresAfter = await run('ls', [join(stateDir, 'shipper', 'restores')]).then((r) => r.stdout.split('\n').filter((l) => l !== ''));
    expect(restoresAfter).toEqual(restoresBefore);
    expect(await failedReports()).toBe(failedBefore + 1);
    // One alert, for this restore.
    expect((await restoreAlerts()).slice(alertsBefore.length)).toEqual([expect.stringMatching(/^restore-failed restore-\S+$/)]);
  });
});
