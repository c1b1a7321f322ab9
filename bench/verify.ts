/**
 * bench/verify: `binvault verify` against `gzip -t` on the same ≥ 500 MB gzipped binlog of a real
 * workload (sysbench plus an application's blobs), alternating, in one run; then the verifier's
 * peak RSS on a 100 MB and a 2 GB object (goal: ≤ 200 MB, flat).
 *
 *   npm run bench:verify        # BENCH_TABLES / BENCH_TABLE_SIZE / BENCH_BLOB_MB / BENCH_ROUNDS resize it
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { startInstance } from '../drivers/local/instance.js';
import { sealedGzip } from '../shipper/lib/gzip.js';
import { readOptionFile } from '../drivers/mysql/option-file.js';
import { mb, measure, median, sysbench, timeShell } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const tables = Number(process.env.BENCH_TABLES ?? 5);
const tableSize = Number(process.env.BENCH_TABLE_SIZE ?? 400_000);
const blobMb = Number(process.env.BENCH_BLOB_MB ?? 256);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const bigDumpMb = Number(process.env.BENCH_BIG_MB ?? 2048);

const gzipTo = async (source: AsyncIterable<Uint8Array>, path: string): Promise<void> => {
  await pipeline(Readable.from(sealedGzip(source)), createWriteStream(path));
};

/** A synthetic dump of `megabytes` MB: header, INSERT lines of random-ish text, trailer. */
async function* syntheticDump(megabytes: number): AsyncGenerator<Buffer> {
  yield Buffer.from('-- MySQL dump 10.13  Distrib 8.4.3, for Linux (x86_64)\n--\n-- Host: localhost    Database: big\n-- Server version\t8.4.3\n');
  const line = (i: number): string => `INSERT INTO t VALUES (${i},'${(i * 2654435761).toString(36).repeat(20)}');\n`;
  let written = 0;
  let i = 0;
  while (written < megabytes * 1e6) {
    const lines: string[] = [];
    for (let k = 0; k < 2000; k++) lines.push(line(i++));
    const chunk = Buffer.from(lines.join(''));
    written += chunk.length;
    yield chunk;
  }
  yield Buffer.from('-- Dump completed on 2026-11-20 15:00:00\n');
}

const work = await mkdtemp(join(tmpdir(), 'binvault-bench-verify-'));
const instance = await startInstance({ baseDir: join(work, 'db'), extraArgs: ['--max-binlog-size=1073741824'] });
try {
  process.stderr.write(`workload: sysbench ${tables} tables × ${tableSize} rows, then ${blobMb} MB of application blobs…\n`);
  await sysbench(instance, { tables, tableSize });
  const client = await readOptionFile(instance.defaultsFile);
  const admin = await createConnection({ socketPath: instance.socket, user: 'root', ...(client.password ? { password: client.password } : {}) });
  await admin.query('CREATE TABLE sbtest.blobs (id INT AUTO_INCREMENT PRIMARY KEY, body LONGBLOB)');
  await admin.query('SET SESSION group_concat_max_len = 4194304');
  for (let i = 0; i < blobMb; i++) {
    await admin.query("INSERT INTO sbtest.blobs (body) SELECT GROUP_CONCAT(RANDOM_BYTES(1024) SEPARATOR '') FROM sbtest.seq_1_to_1024");
  }
  await admin.query('FLUSH BINARY LOGS');
  await admin.end();
  const index = (await readFile(join(instance.dataDir, 'binlog.index'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const sizes = await Promise.all(index.map(async (l) => ({ path: join(instance.dataDir, l.replace(/^.*\//, '')), size: (await stat(join(instance.dataDir, l.replace(/^.*\//, '')))).size })));
  const biggest = sizes.reduce((a, b) => (b.size > a.size ? b : a));
  const big = join(work, 'big-binlog.gz');
  await gzipTo(createReadStream(biggest.path, { highWaterMark: 1 << 20 }), big);
  const bigSize = (await stat(big)).size;
  process.stderr.write(`binlog ${mb(biggest.size)} raw, ${mb(bigSize)} gzipped as shipped\n`);

  const gzipTimes: number[] = [];
  const verifyTimes: number[] = [];
  let verifyRss = 0;
  for (let round = 0; round < rounds; round++) {
    gzipTimes.push(await timeShell(`gzip -t '${big}'`));
    const run = await measure(process.execPath, [CLI, 'verify', big]);
    if (run.code !== 0) throw new Error(`verify failed: ${run.stdout}${run.stderr}`);
    verifyTimes.push(run.seconds);
    verifyRss = Math.max(verifyRss, run.peakRss);
    process.stderr.write(`round ${round + 1}: gzip -t ${gzipTimes.at(-1)?.toFixed(2)} s, binvault verify ${run.seconds.toFixed(2)} s\n`);
  }

  // Peak RSS on a 100 MB and a 2 GB object.
  const small = join(work, 'small.sql.gz');
  const huge = join(work, 'huge.sql.gz');
  await gzipTo(syntheticDump(100), small);
  await gzipTo(syntheticDump(bigDumpMb), huge);
  const rss: Record<string, number> = {};
  for (const [name, path] of [['100MB', small], [`${bigDumpMb}MB`, huge]] as const) {
    const run = await measure(process.execPath, [CLI, 'verify', path]);
    if (run.code !== 0) throw new Error(`verify ${name} failed: ${run.stdout}`);
    rss[name] = Number((run.peakRss / 1e6).toFixed(1));
  }

  const gzipT = median(gzipTimes);
  const verify = median(verifyTimes);
  console.log(
    JSON.stringify({
      bench: 'verify',
      binlogRawBytes: biggest.size,
      objectBytes: bigSize,
      gzipTSeconds: Number(gzipT.toFixed(2)),
      verifySeconds: Number(verify.toFixed(2)),
      ratio: Number((verify / gzipT).toFixed(2)),
      verifyPeakRssMB: Number((verifyRss / 1e6).toFixed(1)),
      peakRssMBBySize: rss,
    }),
  );
  console.log(
    `verify: ${mb(bigSize)} object (${mb(biggest.size)} binlog) in ${verify.toFixed(2)} s; gzip -t ${gzipT.toFixed(2)} s; ratio ${(verify / gzipT).toFixed(2)}; peak RSS ${mb(verifyRss)}; ` +
      `peak RSS by object size: ${Object.entries(rss).map(([k, v]) => `${k} ${v} MB`).join(', ')}`,
  );
} finally {
  await instance.stop({ keep: process.env.BENCH_KEEP === '1' });
  if (process.env.BENCH_KEEP !== '1') await rm(work, { recursive: true, force: true });
}
