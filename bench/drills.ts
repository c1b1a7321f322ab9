/**
 * bench/drills: the restore drill of test/integration/restore/workloads.test.ts, larger, once per
 * binlog format. For each: the seconds the application-like workload took to write (its rounds, not
 * the checkpoints or the shipping), the seconds `binvault restore --latest` took to bring it all
 * back, and their ratio (restore / write); the restore is compared with the source, as the drill does.
 *
 *   npm run bench:drills     # BENCH_ROUNDS (8), BENCH_STATEMENTS (400 per round), BINVAULT_DRILL_SEED
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { compareSnapshots } from '../core/restore/drill.js';
import { startInstance } from '../drivers/local/instance.js';
import { MysqlInstanceReader } from '../drivers/mysql/compare.js';
import { readOptionFile } from '../drivers/mysql/option-file.js';
import { startLocalRuntime } from '../local/runtime.js';
import { drillSeed, seeded, Workload } from '../test/helpers/workload.js';
import { cliEnv, cliRunner, mb, measure } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const statementsPerRound = Number(process.env.BENCH_STATEMENTS ?? 400);
const seed = drillSeed();
const results: Record<string, unknown>[] = [];

for (const format of ['STATEMENT', 'MIXED', 'ROW'] as const) {
  const work = await mkdtemp(join(tmpdir(), 'binvault-bench-drills-'));
  const source = await startInstance({ baseDir: join(work, 'source'), binlogFormat: format, extraArgs: ['--event-scheduler=ON'] });
  const runtime = await startLocalRuntime({ stateDir: join(work, 'runtime'), bucket: 'bench', endpoint: 'http://127.0.0.1:0' });
  const env = cliEnv(runtime.endpoint.url, source.defaultsFile, 'db1', join(work, 'state'));
  const client = await readOptionFile(source.defaultsFile);
  const admin = await createConnection({ socketPath: source.socket, user: 'root', ...(client.password ? { password: client.password } : {}), multipleStatements: true });
  const workload = new Workload(source, admin, seeded(seed), { statementsPerRound, loadRows: 5000 });
  const cli = cliRunner(CLI, env, runtime);
  try {
    process.stderr.write(`${format}: ${rounds} rounds of ${statementsPerRound} statements (seed ${seed})…\n`);
    await workload.prepare();
    await cli('ship', 'dump');
    let writeSeconds = 0;
    const timed = async (step: () => Promise<void>): Promise<void> => {
      const started = performance.now();
      await step();
      writeSeconds += (performance.now() - started) / 1000;
    };
    for (let round = 0; round < rounds; round++) {
      await timed(() => workload.round());
      await admin.query('FLUSH BINARY LOGS');
      await cli('ship', 'binlogs');
    }
    await timed(() => workload.finish());
    await workload.disaster();
    const latest = await workload.checkpoint();
    await cli('ship', 'binlogs');

    const restore = await measure(process.execPath, [CLI, 'restore', '--latest', '--json'], env);
    if (restore.code !== 0) throw new Error(`binvault restore failed: ${restore.stderr}`);
    const report = JSON.parse(restore.stdout) as {
      plan: { binlogs: string[]; bytes: number };
      reached: { gtids: string };
      instance: { host: string; port: number; socket: string; user: string; defaultsFile: string; dataDir: string };
      timings: { loadSeconds: number; replaySeconds: number };
    };
    const differences = compareSnapshots(await new MysqlInstanceReader().snapshot({ id: 'restored', kind: 'local', ...report.instance }), latest.snapshot);
    const pid = Number(await readFile(join(report.instance.dataDir, '..', 'mysqld.pid'), 'utf8').catch(() => '0'));
    if (pid > 0) process.kill(pid, 'SIGTERM');
    if (differences.length > 0 || report.reached.gtids !== latest.gtid) {
      throw new Error(`${format} (seed ${seed}): the restore differs from the source: ${[...differences.map((d) => d.message), `reached ${report.reached.gtids}, source ${latest.gtid}`].join('; ')}`);
    }
    const result = {
      bench: 'drills',
      format,
      seed,
      binlogs: report.plan.binlogs.length,
      planBytes: report.plan.bytes,
      writeSeconds: Number(writeSeconds.toFixed(1)),
      restoreSeconds: Number(restore.seconds.toFixed(1)),
      loadSeconds: report.timings.loadSeconds,
      replaySeconds: report.timings.replaySeconds,
      ratio: Number((restore.seconds / writeSeconds).toFixed(2)),
    };
    results.push(result);
    console.log(JSON.stringify(result));
    console.log(`${format}: wrote in ${writeSeconds.toFixed(1)} s, restored (${report.plan.binlogs.length} binlogs, ${mb(report.plan.bytes)}) in ${restore.seconds.toFixed(1)} s: ratio ${result.ratio}; equal to the source`);
  } finally {
    await workload.close();
    await admin.end().catch(() => undefined);
    await runtime.close();
    await source.stop();
    await rm(work, { recursive: true, force: true });
  }
}
console.log(results.map((r) => `${String(r.format)} ${String(r.ratio)}`).join(', '));
