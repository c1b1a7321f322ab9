/**
 * bench/dump: `binvault ship dump` to the local endpoint against the first users' pipeline
 * `mysqldump --single-transaction --routines --triggers --events --hex-blob | gzip -1 > file` on the
 * same ≥ 1 GB sysbench dataset, alternating, in one run: wall time, CPU seconds (each side's whole
 * process tree: the dump tool, gzip or binvault with igzip) and peak RSS side by side, with igzip
 * and with Node's zlib; the goals are wall ≤ 0.6, CPU ≤ 0.5, RSS ≤ 256 MB. The database server's
 * CPU and the local endpoint's (in a process of its own, standing in for S3) are shown apart.
 *
 *   npm run bench:dump        # BENCH_TABLES / BENCH_TABLE_SIZE / BENCH_ROUNDS resize it
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInstance } from '../drivers/local/instance.js';
import { findProgram } from '../drivers/mysql/programs.js';
import type { HostImpact } from '../shipper/lib/compress-host.js';
import { cliEnv, cpuOf, execFileAsync, mb, measureTree, median, startEndpointProcess, sysbench, type TreeMeasured } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const tables = Number(process.env.BENCH_TABLES ?? 8);
const tableSize = Number(process.env.BENCH_TABLE_SIZE ?? 500_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

interface Run {
  wall: number;
  cpu: number;
  rss: number;
  server: number;
  endpoint: number;
  /** The shipper's own report (its result line). */
  impact?: HostImpact;
  bytes: number;
}

const work = await mkdtemp(join(tmpdir(), 'binvault-bench-dump-'));
const instance = await startInstance({ baseDir: join(work, 'db'), binlog: true });
const endpoint = await startEndpointProcess(join(work, 's3'), 10);
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
  const dump = `'${tool}' --defaults-extra-file='${instance.defaultsFile}' --single-transaction --routines --triggers --events --hex-blob --all-databases`;

  /** One measured run, with the server's and the endpoint's CPU over the same time. */
  const timed = async (script: string, args: string[] = [], env?: NodeJS.ProcessEnv): Promise<TreeMeasured & { server: number; endpoint: number }> => {
    const server = cpuOf(instance.pid);
    const s3 = endpoint.cpu();
    const result = await measureTree(script, args, env);
    if (result.code !== 0) throw new Error(`${script} ${args.join(' ')} failed: ${result.stderr}`);
    return { ...result, server: cpuOf(instance.pid) - server, endpoint: endpoint.cpu() - s3 };
  };
  const ship = async (compressor: 'igzip' | 'zlib', round: number): Promise<Run> => {
    const env = { ...cliEnv(endpoint.url, instance.defaultsFile, `${compressor}${round}`, join(work, 'state')), BINVAULT_COMPRESSOR: compressor };
    const r = await timed('"$@"', [process.execPath, CLI, 'ship', 'dump', '--json'], env);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; storedBytes: number; impact: HostImpact };
    if (result.type !== 'result') throw new Error(`no result line from ship dump: ${r.stdout}`);
    return { wall: r.seconds, cpu: r.cpu, rss: r.peakRss, server: r.server, endpoint: r.endpoint, impact: result.impact, bytes: result.storedBytes };
  };

  const seed: Run[] = [];
  const floor: Run[] = [];
  const bare: Run[] = [];
  const buffered: Run[] = [];
  const igzip: Run[] = [];
  const zlib: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    const b = await timed(`${dump} | gzip -1 > '${baselineFile}'`);
    seed.push({ wall: b.seconds, cpu: b.cpu, rss: b.peakRss, server: b.server, endpoint: b.endpoint, bytes: (await stat(baselineFile)).size });
    const f = await timed(`${dump} > /dev/null`);
    floor.push({ wall: f.seconds, cpu: f.cpu, rss: f.peakRss, server: f.server, endpoint: f.endpoint, bytes: 0 });
    // binvault's compressor without binvault: what the compression alone costs in this pipeline.
    const i = await timed(`${dump} | igzip -1 -c -n > '${baselineFile}.igzip'`);
    bare.push({ wall: i.seconds, cpu: i.cpu, rss: i.peakRss, server: i.server, endpoint: i.endpoint, bytes: (await stat(`${baselineFile}.igzip`)).size });
    // The same with the dump tool's stdout buffered by 4 MiB, as the shipper runs it: what its two
    // children cost with nothing of binvault (no hashing, no verifier, no upload) — its floor.
    const u = await timed(`stdbuf -o 4M ${dump} | igzip -1 -c -n > '${baselineFile}.igzip'`);
    buffered.push({ wall: u.seconds, cpu: u.cpu, rss: u.peakRss, server: u.server, endpoint: u.endpoint, bytes: (await stat(`${baselineFile}.igzip`)).size });
    igzip.push(await ship('igzip', round));
    zlib.push(await ship('zlib', round));
    process.stderr.write(
      `round ${round + 1}: mysqldump | gzip -1 ${seed.at(-1)?.wall.toFixed(1)} s, the dump tool alone ${floor.at(-1)?.wall.toFixed(1)} s, ` +
        `ship dump (igzip) ${igzip.at(-1)?.wall.toFixed(1)} s, ship dump (zlib) ${zlib.at(-1)?.wall.toFixed(1)} s\n`,
    );
  }

  const med = (runs: Run[], pick: (r: Run) => number): number => median(runs.map(pick));
  const row = (runs: Run[]) => ({
    wallSeconds: Number(med(runs, (r) => r.wall).toFixed(2)),
    cpuSeconds: Number(med(runs, (r) => r.cpu).toFixed(2)),
    peakRssMB: Number((Math.max(...runs.map((r) => r.rss)) / 1e6).toFixed(1)),
    serverCpuSeconds: Number(med(runs, (r) => r.server).toFixed(2)),
    endpointCpuSeconds: Number(med(runs, (r) => r.endpoint).toFixed(2)),
    bytes: runs.at(-1)?.bytes ?? 0,
  });
  const base = row(seed);
  const ratios = (runs: Run[]) => {
    const r = row(runs);
    return { ...r, wallRatio: Number((r.wallSeconds / base.wallSeconds).toFixed(2)), cpuRatio: Number((r.cpuSeconds / base.cpuSeconds).toFixed(2)) };
  };
  const ours = ratios(igzip);
  const ourZlib = ratios(zlib);
  const alone = ratios(floor);
  const igzipAlone = ratios(bare);
  const children = ratios(buffered);
  const last = igzip.at(-1)?.impact;
  console.log(JSON.stringify({ bench: 'dump', tables, tableSize, rounds, cores: availableParallelism(), seed: base, toolAlone: alone, igzipPipeline: igzipAlone, childrenAlone: children, igzip: ours, zlib: ourZlib, shipperReport: last }));
  const line = (name: string, r: ReturnType<typeof row>, ratio?: { wallRatio: number; cpuRatio: number }): string =>
    `${name.padEnd(28)} wall ${r.wallSeconds.toFixed(1).padStart(5)} s${ratio ? ` (${ratio.wallRatio.toFixed(2)})` : '       '}   CPU ${r.cpuSeconds.toFixed(1).padStart(5)} s${
      ratio ? ` (${ratio.cpuRatio.toFixed(2)})` : '       '
    }   peak RSS ${mb(r.peakRssMB * 1e6).padStart(9)}   server CPU ${r.serverCpuSeconds.toFixed(1)} s   endpoint CPU ${r.endpointCpuSeconds.toFixed(1)} s   ${mb(r.bytes)}`;
  console.log(`dump of ${tables} × ${tableSize} sysbench rows, medians of ${rounds} rounds on ${availableParallelism()} cores (ratios to the first users' pipeline):`);
  console.log(line('mysqldump | gzip -1 > file', base));
  console.log(line('the dump tool alone', alone, alone));
  console.log(line('mysqldump | igzip -1 > file', igzipAlone, igzipAlone));
  console.log(line('the same, 4 MiB stdout buffer', children, children));
  console.log(line('binvault ship dump (igzip)', ours, ours));
  console.log(line('binvault ship dump (zlib)', ourZlib, ourZlib));
  if (last) {
    console.log(
      `binvault's own report (igzip, last round): ${last.cpuSeconds.total.toFixed(1)} CPU s = binvault ${last.cpuSeconds.self.toFixed(1)} s + dump tool and igzip ${last.cpuSeconds.children.toFixed(1)} s; ` +
        `read ${mb(last.bytesRead)}, sent ${mb(last.bytesSent)}; peak RSS ${mb(last.peakRssBytes)} (largest child ${mb(last.childPeakRssBytes)}); nice ${last.priority.nice}, I/O ${last.priority.io}`,
    );
  }
  console.log(
    `goals: wall ≤ 0.6 ${ours.wallRatio <= 0.6 ? 'met' : 'NOT met'} (${ours.wallRatio}), CPU ≤ 0.5 ${ours.cpuRatio <= 0.5 ? 'met' : 'NOT met'} (${ours.cpuRatio}; the dump tool and igzip alone, buffered as binvault runs them: ${children.cpuRatio}), ` +
      `RSS ≤ 256 MB ${ours.peakRssMB <= 256 ? 'met' : 'NOT met'} (${ours.peakRssMB} MB); CPU counts each side's whole tree (the dump tool's ${alone.cpuSeconds.toFixed(1)} s on both), not the server's or the endpoint's`,
  );
} finally {
  await endpoint.close();
  await instance.stop();
  await rm(work, { recursive: true, force: true });
}
