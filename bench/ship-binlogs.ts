/**
 * bench/ship-binlogs: `binvault ship binlogs` against `gzip -1 -c FILE > /dev/null` on the same
 * real binlogs (a sysbench dataset and workload, ≥ 500 MB), alternating, in one run: wall time,
 * CPU seconds (each side's whole process tree: gzip, or binvault with igzip) and peak RSS side by
 * side, with igzip and with Node's zlib; the goals are CPU ≤ 0.4 of gzip -1 and RSS ≤ 256 MB. The
 * local endpoint (in a process of its own, standing in for S3) is measured apart.
 *
 *   npm run bench:ship-binlogs            # BENCH_TABLES, BENCH_TABLE_SIZE, BENCH_ROUNDS to resize
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInstance } from '../drivers/local/instance.js';
import type { HostImpact } from '../shipper/lib/compress-host.js';
import { cliEnv, mb, measureTree, median, startEndpointProcess, sysbench } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const tables = Number(process.env.BENCH_TABLES ?? 8);
const tableSize = Number(process.env.BENCH_TABLE_SIZE ?? 400_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

interface Run {
  wall: number;
  cpu: number;
  rss: number;
  endpoint: number;
  impact?: HostImpact;
}

const work = await mkdtemp(join(tmpdir(), 'binvault-bench-'));
const instance = await startInstance({ baseDir: join(work, 'db'), extraArgs: ['--max-binlog-size=128M'] });
const endpoint = await startEndpointProcess(join(work, 's3'), 10);
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

  const ship = async (compressor: 'igzip' | 'zlib', round: number): Promise<Run> => {
    const env = { ...cliEnv(endpoint.url, instance.defaultsFile, `${compressor}${round}`, join(work, `state-${compressor}${round}`)), BINVAULT_COMPRESSOR: compressor };
    const s3 = endpoint.cpu();
    const r = await measureTree('"$@"', [process.execPath, CLI, 'ship', 'binlogs', '--json'], env);
    if (r.code !== 0) throw new Error(`binvault ship binlogs failed: ${r.stderr}`);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; impact: HostImpact };
    if (result.type !== 'result') throw new Error(`no result line from ship binlogs: ${r.stdout}`);
    return { wall: r.seconds, cpu: r.cpu, rss: r.peakRss, endpoint: endpoint.cpu() - s3, impact: result.impact };
  };

  const gzip: Run[] = [];
  const bare: Run[] = [];
  const igzip: Run[] = [];
  const zlib: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    // Warm the page cache equally for all: each reads the same files right after the other.
    const g = await measureTree(files.map((f) => `gzip -1 -c '${f}' > /dev/null`).join(' && '));
    if (g.code !== 0) throw new Error(`gzip -1 failed: ${g.stderr}`);
    gzip.push({ wall: g.seconds, cpu: g.cpu, rss: g.peakRss, endpoint: 0 });
    // binvault's compressor without binvault: what the compression alone costs.
    const i = await measureTree(files.map((f) => `igzip -1 -c -n < '${f}' > /dev/null`).join(' && '));
    if (i.code !== 0) throw new Error(`igzip -1 failed: ${i.stderr}`);
    bare.push({ wall: i.seconds, cpu: i.cpu, rss: i.peakRss, endpoint: 0 });
    igzip.push(await ship('igzip', round));
    zlib.push(await ship('zlib', round));
    process.stderr.write(
      `round ${round + 1}: gzip -1 ${gzip.at(-1)?.wall.toFixed(2)} s (${gzip.at(-1)?.cpu.toFixed(2)} CPU s), ship binlogs igzip ${igzip.at(-1)?.wall.toFixed(2)} s (${igzip.at(-1)?.cpu.toFixed(2)} CPU s), zlib ${zlib.at(-1)?.wall.toFixed(2)} s (${zlib.at(-1)?.cpu.toFixed(2)} CPU s)\n`,
    );
  }
  const row = (runs: Run[]) => ({
    wallSeconds: Number(median(runs.map((r) => r.wall)).toFixed(2)),
    cpuSeconds: Number(median(runs.map((r) => r.cpu)).toFixed(2)),
    peakRssMB: Number((Math.max(...runs.map((r) => r.rss)) / 1e6).toFixed(1)),
    endpointCpuSeconds: Number(median(runs.map((r) => r.endpoint)).toFixed(2)),
  });
  const base = row(gzip);
  const ratios = (runs: Run[]) => {
    const r = row(runs);
    return { ...r, wallRatio: Number((r.wallSeconds / base.wallSeconds).toFixed(2)), cpuRatio: Number((r.cpuSeconds / base.cpuSeconds).toFixed(2)) };
  };
  const ours = ratios(igzip);
  const igzipAlone = ratios(bare);
  const ourZlib = ratios(zlib);
  const last = igzip.at(-1)?.impact;
  console.log(JSON.stringify({ bench: 'ship-binlogs', files: files.length, rawBytes: total, rounds, cores: availableParallelism(), gzip1: base, igzipAlone, igzip: ours, zlib: ourZlib, shipperReport: last }));
  const line = (name: string, r: ReturnType<typeof row>, ratio?: { wallRatio: number; cpuRatio: number }): string =>
    `${name.padEnd(30)} wall ${r.wallSeconds.toFixed(2).padStart(6)} s${ratio ? ` (${ratio.wallRatio.toFixed(2)})` : '       '}   CPU ${r.cpuSeconds.toFixed(2).padStart(6)} s${
      ratio ? ` (${ratio.cpuRatio.toFixed(2)})` : '       '
    }   peak RSS ${mb(r.peakRssMB * 1e6).padStart(9)}   endpoint CPU ${r.endpointCpuSeconds.toFixed(2)} s`;
  console.log(`${files.length} binlogs, ${mb(total)}, medians of ${rounds} rounds on ${availableParallelism()} cores (ratios to gzip -1):`);
  console.log(line('gzip -1 -c FILE > /dev/null', base));
  console.log(line('igzip -1 -c FILE > /dev/null', igzipAlone, igzipAlone));
  console.log(line('binvault ship binlogs (igzip)', ours, ours));
  console.log(line('binvault ship binlogs (zlib)', ourZlib, ourZlib));
  if (last) {
    console.log(
      `binvault's own report (igzip, last round): ${last.cpuSeconds.total.toFixed(2)} CPU s = binvault ${last.cpuSeconds.self.toFixed(2)} s + igzip ${last.cpuSeconds.children.toFixed(2)} s; ` +
        `read ${mb(last.bytesRead)} (each file twice: hashed, then compressed), sent ${mb(last.bytesSent)}; peak RSS ${mb(last.peakRssBytes)}; nice ${last.priority.nice}, I/O ${last.priority.io}`,
    );
  }
  console.log(
    `goals: CPU ≤ 0.4 ${ours.cpuRatio <= 0.4 ? 'met' : 'NOT met'} (${ours.cpuRatio}), RSS ≤ 256 MB ${ours.peakRssMB <= 256 ? 'met' : 'NOT met'} (${ours.peakRssMB} MB); ` +
      `the endpoint's CPU (${ours.endpointCpuSeconds.toFixed(2)} s) is not binvault's: it stands in for S3`,
  );
} finally {
  await endpoint.close();
  await instance.stop({ keep: process.env.BENCH_KEEP === '1' });
  if (process.env.BENCH_KEEP === '1') process.stderr.write(`kept ${work}\n`);
  else await rm(work, { recursive: true, force: true });
}
