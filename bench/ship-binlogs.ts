/**
 * bench/ship-binlogs: `binvault ship binlogs` against `gzip -1 -c FILE > /dev/null` on the same
 * real binlogs (a sysbench dataset and workload, ≥ 500 MB), alternating, in one run.
 *
 *   npm run bench:ship-binlogs            # BENCH_TABLES, BENCH_TABLE_SIZE, BENCH_ROUNDS to resize
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInstance } from '../drivers/local/instance.js';
import { startLocalEndpoint } from '../local/s3-endpoint.js';
import { cliEnv, mb, measure, median, sysbench, timeShell } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const tables = Number(process.env.BENCH_TABLES ?? 8);
const tableSize = Number(process.env.BENCH_TABLE_SIZE ?? 400_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const work = await mkdtemp(join(tmpdir(), 'binvault-bench-'));
const instance = await startInstance({ baseDir: join(work, 'db'), extraArgs: ['--max-binlog-size=128M'] });
const endpoint = await startLocalEndpoint({ directory: join(work, 's3'), buckets: ['bench'], port: 0 });
try {
  process.stderr.write(`preparing sysbench: ${tables} tables × ${tableSize} rows, then 30 s of oltp_write_only…\n`);
  await sysbench(instance, { tables, tableSize, runSeconds: 30 });
  const index = (await readFile(join(instance.dataDir, 'binlog.index'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
  // Close the active binlog so that every file is one the shipper ships.
  const { createConnection } = await import('mysql2/promise');
  const { readOptionFile } = await import('../drivers/mysql/option-file.js');
  const client = await readOptionFile(instance.defaultsFile);
  const admin = await createConnection({ socketPath: instance.socket, user: 'root', ...(client.password ? { password: client.password } : {}) });
  await admin.query('FLUSH BINARY LOGS');
  await admin.end();
  const files = index.map((l) => join(instance.dataDir, l.replace(/^.*\//, '')));
  let total = 0;
  for (const f of files) total += (await stat(f)).size;
  process.stderr.write(`${files.length} closed binlogs, ${mb(total)}\n`);

  const gzipTimes: number[] = [];
  const shipTimes: number[] = [];
  let peakRss = 0;
  for (let round = 0; round < rounds; round++) {
    // Warm the page cache equally for both: each reads the same files right after the other.
    gzipTimes.push(await timeShell(files.map((f) => `gzip -1 -c '${f}' > /dev/null`).join(' && ')));
    const run = await measure(process.execPath, [CLI, 'ship', 'binlogs'], cliEnv(endpoint.url, instance.defaultsFile, `round${round}`, join(work, `state${round}`)));
    if (run.code !== 0) throw new Error(`binvault ship binlogs failed: ${run.stderr}`);
    shipTimes.push(run.seconds);
    peakRss = Math.max(peakRss, run.peakRss);
    process.stderr.write(`round ${round + 1}: gzip -1 ${gzipTimes.at(-1)?.toFixed(2)} s, binvault ship binlogs ${run.seconds.toFixed(2)} s\n`);
  }
  const gzip = median(gzipTimes);
  const ship = median(shipTimes);
  console.log(
    JSON.stringify({
      bench: 'ship-binlogs',
      files: files.length,
      rawBytes: total,
      rounds,
      gzip1Seconds: Number(gzip.toFixed(2)),
      shipSeconds: Number(ship.toFixed(2)),
      shipMBps: Number((total / 1e6 / ship).toFixed(1)),
      gzip1MBps: Number((total / 1e6 / gzip).toFixed(1)),
      ratio: Number((ship / gzip).toFixed(2)),
      peakRssMB: Number((peakRss / 1e6).toFixed(1)),
    }),
  );
  console.log(
    `ship binlogs: ${mb(total)} in ${ship.toFixed(2)} s = ${(total / 1e6 / ship).toFixed(1)} MB/s; gzip -1 > /dev/null: ${gzip.toFixed(2)} s; ratio ${(ship / gzip).toFixed(2)}; peak RSS ${mb(peakRss)}`,
  );
} finally {
  await endpoint.close();
  await instance.stop({ keep: process.env.BENCH_KEEP === '1' });
  if (process.env.BENCH_KEEP === '1') process.stderr.write(`kept ${work}\n`);
  else await rm(work, { recursive: true, force: true });
}
