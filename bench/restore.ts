/**
 * bench/restore: `binvault restore` against the first users' manual procedure — `zcat dump | mysql`,
 * then `mysqlbinlog --start-position … --stop-datetime … binlogs | mysql` — for the same target, on
 * the same dump and ≥ 100 MB of binlogs of a sysbench workload, in one run; prints the ratio, the
 * replay's time against the time the source took to write the same binlogs, and whether the
 * restored tables' checksums equal the source's.
 *
 *   npm run bench:restore        # BENCH_TABLES / BENCH_TABLE_SIZE / BENCH_RUN_SECONDS resize it
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection, type Connection } from 'mysql2/promise';
import { startInstance } from '../drivers/local/instance.js';
import { findProgram } from '../drivers/mysql/programs.js';
import { startLocalRuntime } from '../local/runtime.js';
import { readOptionFile } from '../drivers/mysql/option-file.js';
import { S3Store } from '../drivers/aws/s3.js';
import { cliEnv, cliRunner, mb, measure, sysbench, timeShell } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const tables = Number(process.env.BENCH_TABLES ?? 4);
const tableSize = Number(process.env.BENCH_TABLE_SIZE ?? 200_000);
const runSeconds = Number(process.env.BENCH_RUN_SECONDS ?? 60);

/** CHECKSUM TABLE of the workload's tables. */
const checksums = async (db: Connection): Promise<string[]> => {
  const result: string[] = [];
  for (let i = 1; i <= tables; i++) {
    const [rows] = (await db.query(`CHECKSUM TABLE sbtest.sbtest${i}`)) as unknown as [{ Checksum: string | number }[]];
    result.push(String(rows[0]?.Checksum));
  }
  return result;
};

const work = await mkdtemp(join(tmpdir(), 'binvault-bench-restore-'));
const source = await startInstance({ baseDir: join(work, 'source') });
const runtime = await startLocalRuntime({ stateDir: join(work, 'runtime'), bucket: 'bench', endpoint: 'http://127.0.0.1:0' });
const env = cliEnv(runtime.endpoint.url, source.defaultsFile, 'db1', join(work, 'state'));
let stopManual: (() => Promise<void>) | undefined;
const cli = cliRunner(CLI, env, runtime);
try {
  process.stderr.write(`sysbench ${tables} × ${tableSize} rows, dump, then ${runSeconds} s of oltp_write_only…\n`);
  await sysbench(source, { tables, tableSize });
  await cli('ship', 'dump');
  // The time the source took to write the binlogs the restore replays: the replay's yardstick.
  const writeStarted = performance.now();
  await sysbench(source, { tables, tableSize, runSeconds, prepare: false });
  const writeSeconds = (performance.now() - writeStarted) / 1000;
  const client = await readOptionFile(source.defaultsFile);
  const admin = await createConnection({ socketPath: source.socket, user: 'root', ...(client.password ? { password: client.password } : {}) });
  // Nothing is written after the workload: the source's checksums are those of the target second.
  const sourceChecksums = await checksums(admin);
  await new Promise((r) => setTimeout(r, 1100));
  const [[row]] = (await admin.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ') AS t")) as unknown as [{ t: string }[]];
  const target = String(row?.t);
  await new Promise((r) => setTimeout(r, 1100));
  await admin.end();
  await cli('ship', 'binlogs');
  const plan = JSON.parse(await cli('restore', '--to', target, '--dry-run', '--json')) as { plan: { dump: { key: string; binlogPosition: number }; binlogs: string[]; stop: { datetime: string } } };
  const store = new S3Store({ bucket: 'bench', endpoint: runtime.endpoint.url });
  const binlogKeys = (await store.list('mysql/db1/binlogs/')).keys.filter((k) => plan.plan.binlogs.some((b) => k.key.includes(`/${b}.gz`)));
  const binlogBytes = binlogKeys.reduce((s, k) => s + k.size, 0);
  process.stderr.write(`target ${target}: dump + ${plan.plan.binlogs.length} binlogs (${mb(binlogBytes)} stored)\n`);

  // The manual procedure, as the first users would run it: download, zcat | mysql, mysqlbinlog | mysql.
  const manualDir = join(work, 'manual');
  const manual = await startInstance({ baseDir: join(work, 'manual-db'), serverId: 9 });
  stopManual = () => manual.stop();
  const client9 = findProgram('mariadb', 'mysql') ?? 'mariadb';
  const binlogTool = findProgram('mariadb-binlog', 'mysqlbinlog') ?? 'mariadb-binlog';
  await rm(manualDir, { recursive: true, force: true });
  await mkdir(manualDir, { recursive: true });
  const manualStarted = performance.now();
  await writeFile(join(manualDir, 'dump.sql.gz'), await store.getBytes(plan.plan.dump.key));
  const files: string[] = [];
  for (const name of plan.plan.binlogs) {
    const key = binlogKeys.find((k) => k.key.includes(`/${name}.gz`))?.key ?? '';
    await writeFile(join(manualDir, `${name}.gz`), await store.getBytes(key));
    files.push(join(manualDir, name));
  }
  await timeShell(`gunzip ${files.map((f) => `'${f}.gz'`).join(' ')}`);
  // Done as written (zcat dump | mysql, then mysqlbinlog | mysql), the first users' procedure fails
  // here: the dump brings the source's accounts, a GRANT replayed from the binlogs finds them only
  // after a FLUSH PRIVILEGES, and then only the source's password works. The baseline is given both.
  const manualLoad = await timeShell(`(zcat '${join(manualDir, 'dump.sql.gz')}'; echo 'FLUSH PRIVILEGES;') | '${client9}' --defaults-extra-file='${manual.defaultsFile}'`);
  const sourcePassword = (await readOptionFile(source.defaultsFile)).password ?? '';
  const asSource = join(manualDir, 'source-account.cnf');
  await writeFile(asSource, `[client]\nuser=root\npassword="${sourcePassword}"\nsocket=${manual.socket}\n`, { mode: 0o600 });
  const manualReplay = await timeShell(
    `TZ=UTC '${binlogTool}' --start-position=${plan.plan.dump.binlogPosition} --stop-datetime='${plan.plan.stop.datetime.replace('T', ' ').replace('Z', '')}' ${files.map((f) => `'${f}'`).join(' ')} | '${client9}' --defaults-extra-file='${asSource}'`,
  );
  const manualSeconds = (performance.now() - manualStarted) / 1000;
  await manual.stop();
  stopManual = undefined;

  const ours = await measure(process.execPath, [CLI, 'restore', '--to', target, '--json'], env);
  if (ours.code !== 0) throw new Error(`binvault restore failed: ${ours.stderr}`);
  const report = JSON.parse(ours.stdout) as { instance: { dataDir: string; socket: string; user: string; defaultsFile: string }; timings: { loadSeconds: number; replaySeconds: number } };
  const restoredOptions = await readOptionFile(report.instance.defaultsFile);
  const restored = await createConnection({ socketPath: report.instance.socket, user: report.instance.user, ...(restoredOptions.password ? { password: restoredOptions.password } : {}) });
  const checksumsEqual = JSON.stringify(await checksums(restored)) === JSON.stringify(sourceChecksums);
  await restored.end();
  const pid = Number(await readFile(join(report.instance.dataDir, '..', 'mysqld.pid'), 'utf8').catch(() => '0'));
  if (pid > 0) process.kill(pid, 'SIGTERM');

  const replayVsWrite = report.timings.replaySeconds / writeSeconds;
  console.log(
    JSON.stringify({
      bench: 'restore',
      binlogs: plan.plan.binlogs.length,
      binlogStoredBytes: binlogBytes,
      writeSeconds: Number(writeSeconds.toFixed(1)),
      manualSeconds: Number(manualSeconds.toFixed(1)),
      restoreSeconds: Number(ours.seconds.toFixed(1)),
      loadSeconds: report.timings.loadSeconds,
      manualLoadSeconds: Number(manualLoad.toFixed(1)),
      replaySeconds: report.timings.replaySeconds,
      manualReplaySeconds: Number(manualReplay.toFixed(1)),
      ratio: Number((ours.seconds / manualSeconds).toFixed(2)),
      replayVsWrite: Number(replayVsWrite.toFixed(2)),
      checksumsEqual,
    }),
  );
  console.log(`replay ${report.timings.replaySeconds.toFixed(1)} s of binlogs the source took ${writeSeconds.toFixed(1)} s to write: ratio ${replayVsWrite.toFixed(2)} (goal ≤ 0.5)`);
  console.log(`restore ${ours.seconds.toFixed(1)} s vs manual ${manualSeconds.toFixed(1)} s: ratio ${(ours.seconds / manualSeconds).toFixed(2)} (goal ≤ 0.7)`);
  console.log(`checksums of the restored tables ${checksumsEqual ? 'equal' : 'DIFFER from'} the source's at the target`);
  console.log(
    `  load ${report.timings.loadSeconds.toFixed(1)} s vs ${manualLoad.toFixed(1)} s; replay (download and check included) ${report.timings.replaySeconds.toFixed(1)} s vs ${manualReplay.toFixed(1)} s`,
  );
} finally {
  await stopManual?.();
  await runtime.close();
  await source.stop();
  await rm(work, { recursive: true, force: true });
}
