/**
 * bench/dump: `binvault ship dump` to the local endpoint against the first users' pipeline
 * `mysqldump --single-transaction --routines --triggers --events --hex-blob | gzip -1 > file` on the
 * same ≥ 1 GB sysbench dataset, alternating, in one run; prints the ratio (goal ≤ 0.6), the
 * shipper's peak RSS and the bytes it wrote to local disk.
 *
 *   npm run bench:dump        # BENCH_TABLES / BENCH_TABLE_SIZE / BENCH_ROUNDS resize it
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInstance } from '../drivers/local/instance.js';
import { findProgram } from '../drivers/mysql/programs.js';
import { startLocalEndpoint } from '../local/s3-endpoint.js';
import { cliEnv, execFileAsync, mb, measure, median, sysbench, timeShell } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const tables = Number(process.env.BENCH_TABLES ?? 8);
const tableSize = Number(process.env.BENCH_TABLE_SIZE ?? 500_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const work = await mkdtemp(join(tmpdir(), 'binvault-bench-dump-'));
const instance = await startInstance({ baseDir: join(work, 'db'), binlog: true });
const endpoint = await startLocalEndpoint({ directory: join(work, 's3'), buckets: ['bench'], port: 0 });
try {
  process.stderr.write(`preparing sysbench: ${tables} tables × ${tableSize} rows…\n`);
  await sysbench(instance, { tables, tableSize });
  const { stdout: sizeOut } = await execFileAsync(findProgram('mariadb', 'mysql') ?? 'mariadb', [
    `--defaults-extra-file=${instance.defaultsFile}`,
    '-N',
    '-e',
    "SELECT SUM(data_length + index_length) FROM information_schema.TABLES WHERE table_schema = 'sbtest'",
  ]);
  process.stderr.write(`dataset: ${mb(Number(sizeOut.trim()))} in InnoDB\n`);
  const tool = findProgram('mariadb-dump', 'mysqldump') ?? 'mysqldump';
  const baselineFile = join(work, 'baseline.sql.gz');
  const pipeline = `'${tool}' --defaults-extra-file='${instance.defaultsFile}' --single-transaction --routines --triggers --events --hex-blob --all-databases | gzip -1 > '${baselineFile}'`;

  // The dump tool alone, to /dev/null: no pipeline that runs it can be faster than this.
  const alone = `'${tool}' --defaults-extra-file='${instance.defaultsFile}' --single-transaction --routines --triggers --events --hex-blob --all-databases > /dev/null`;

  const baseline: number[] = [];
  const floor: number[] = [];
  const ours: number[] = [];
  // Where the CPU goes in a shipped dump: the shipper (its compression threads included), the dump
  // tool, and the local endpoint in this process (which real S3 would spare the host).
  const cpu = { shipper: 0, tool: 0, endpoint: 0 };
  let peakRss = 0;
  let written = 0;
  let storedBytes = 0;
  for (let round = 0; round < rounds; round++) {
    baseline.push(await timeShell(pipeline));
    floor.push(await timeShell(alone));
    const run = measure(process.execPath, [CLI, 'ship', 'dump', '--json'], cliEnv(endpoint.url, instance.defaultsFile, `round${round}`, join(work, 'state')));
    const endpointCpu = process.cpuUsage();
    const result = await run;
    const endpointUsed = process.cpuUsage(endpointCpu);
    written = Math.max(written, result.writeBytes);
    cpu.shipper = result.cpu.self;
    cpu.tool = result.cpu.children;
    cpu.endpoint = (endpointUsed.user + endpointUsed.system) / 1e6;
    if (result.code !== 0) throw new Error(`binvault ship dump failed: ${result.stderr}`);
    const shipped = result.stdout.split('\n').filter((l) => l.includes('"shipped"')).map((l) => JSON.parse(l) as { storedBytes: number })[0];
    storedBytes = shipped?.storedBytes ?? 0;
    ours.push(result.seconds);
    peakRss = Math.max(peakRss, result.peakRss);
    process.stderr.write(
      `round ${round + 1}: mysqldump | gzip -1 ${baseline.at(-1)?.toFixed(1)} s, the dump tool alone ${floor.at(-1)?.toFixed(1)} s, binvault ship dump ${result.seconds.toFixed(1)} s\n`,
    );
  }
  const b = median(baseline);
  const f = median(floor);
  const o = median(ours);
  const baselineBytes = (await stat(baselineFile)).size;
  console.log(
    JSON.stringify({
      bench: 'dump',
      tables,
      tableSize,
      baselineSeconds: Number(b.toFixed(1)),
      shipSeconds: Number(o.toFixed(1)),
      ratio: Number((o / b).toFixed(2)),
      toolAloneSeconds: Number(f.toFixed(1)),
      toolAloneRatio: Number((f / b).toFixed(2)),
      cpuSeconds: { shipper: cpu.shipper, dumpTool: cpu.tool, localEndpoint: Number(cpu.endpoint.toFixed(1)) },
      peakRssMB: Number((peakRss / 1e6).toFixed(1)),
      localBytesWritten: written,
      baselineGzipBytes: baselineBytes,
      shippedBytes: storedBytes,
    }),
  );
  console.log(
    `ship dump ${o.toFixed(1)} s vs mysqldump | gzip -1 ${b.toFixed(1)} s: ratio ${(o / b).toFixed(2)}; peak RSS ${mb(peakRss)}; local bytes written ${written}; ` +
      `size ${mb(storedBytes)} vs ${mb(baselineBytes)}`,
  );
  console.log(`the dump tool alone (> /dev/null) ${f.toFixed(1)} s: ratio ${(f / b).toFixed(2)}, the floor of any pipeline that runs it here`);
  console.log(
    `CPU of the last round: shipper ${cpu.shipper.toFixed(1)} s (compression included), dump tool ${cpu.tool.toFixed(1)} s, local endpoint ${cpu.endpoint.toFixed(1)} s, on ${availableParallelism()} cores`,
  );
} finally {
  await endpoint.close();
  await instance.stop();
  await rm(work, { recursive: true, force: true });
}
