/**
 * bench/rpo: how far the latest restorable time lags behind now under a steady load, at the default
 * shipping settings and at the old interval (60 s), in one run. Per variant: `binvault local up` (the
 * local endpoint with the verify and catalog handlers), one `ship dump`, `ship binlogs --loop`, a
 * writer committing ~50 transactions a second, and `binvault status --json` sampled every 3 s;
 * prints p50, p99 and max of `lagSeconds` (samples from BENCH_WARMUP seconds on). A third variant
 * is a fleet: BENCH_HOSTS servers (default 3), each with its writer and its `ship binlogs --loop`
 * at the defaults, sharing one bucket and one local runtime; every host's lag is sampled.
 *
 *   npm run bench:rpo        # BENCH_SECONDS (per variant, default 120), BENCH_TPS (50 per host), BENCH_WARMUP (20), BENCH_HOSTS (3)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection, type Connection } from 'mysql2/promise';
import { freePort, startInstance, type Instance } from '../drivers/local/instance.js';
import { readOptionFile } from '../drivers/mysql/option-file.js';
import { cliEnv, execFileAsync } from './lib.js';

const CLI = fileURLToPath(new URL('../dist/binvault.mjs', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 120);
const tps = Number(process.env.BENCH_TPS ?? 50);
const warmup = Number(process.env.BENCH_WARMUP ?? 20);
const fleet = Number(process.env.BENCH_HOSTS ?? 3);

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

const stop = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
};

const work = await mkdtemp(join(tmpdir(), 'binvault-rpo-'));

interface Source {
  instance: Instance;
  db: Connection;
}
const sources: Source[] = [];
/** The n-th source server, started on first use: binlog on, with the table its writer fills. */
const source = async (n: number): Promise<Source> => {
  while (sources.length <= n) {
    const instance = await startInstance({ baseDir: join(work, `db${sources.length}`) });
    const client = await readOptionFile(instance.defaultsFile);
    const db = await createConnection({ socketPath: instance.socket, user: 'root', ...(client.password ? { password: client.password } : {}) });
    await db.query('CREATE DATABASE IF NOT EXISTS app');
    await db.query('CREATE TABLE IF NOT EXISTS app.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT, note VARCHAR(100))');
    sources.push({ instance, db });
  }
  return sources[n] as Source;
};

const variants: { name: string; args: string[]; hosts: number }[] = [
  { name: 'default (BINVAULT_SHIP_INTERVAL=5)', args: [], hosts: 1 },
  { name: 'before (--interval 60)', args: ['--interval', '60'], hosts: 1 },
  { name: `fleet of ${fleet} hosts, one bucket (defaults)`, args: [], hosts: fleet },
];
const results: Record<string, unknown>[] = [];
try {
  for (const [i, variant] of variants.entries()) {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const upEnv = { ...cliEnv(endpoint, (await source(0)).instance.defaultsFile, `rpo${i}-0`, join(work, `up-${i}`)), BINVAULT_BUCKET: 'binvault' };
    const up = spawn(process.execPath, [CLI, 'local', 'up', '--json'], { env: upEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      up.stdout?.once('data', () => resolve());
      up.once('exit', (code) => reject(new Error(`local up exited ${String(code)}`)));
    });
    up.stdout?.resume();

    let writing = true;
    let transactions = 0;
    const loops: ChildProcess[] = [];
    const writers: Promise<void>[] = [];
    const hosts: string[] = [];
    let env: NodeJS.ProcessEnv = upEnv;
    for (let h = 0; h < variant.hosts; h++) {
      const { instance, db } = await source(h);
      const host = `rpo${i}-${h}`;
      hosts.push(host);
      env = { ...cliEnv(endpoint, instance.defaultsFile, host, join(work, `state-${i}-${h}`)), BINVAULT_BUCKET: 'binvault' };
      await execFileAsync(process.execPath, [CLI, 'ship', 'dump'], { env });
      loops.push(spawn(process.execPath, [CLI, 'ship', 'binlogs', '--loop', ...variant.args], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
      // The writer: one transaction every 1/tps s, on a schedule (not back to back).
      writers.push(
        (async () => {
          const start = Date.now();
          let mine = 0;
          while (writing) {
            await db.query('INSERT INTO app.orders (amount, note) VALUES (?, ?)', [mine % 1000, `order ${mine}`]);
            mine++;
            transactions++;
            const wait = start + (mine * 1000) / tps - Date.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          }
        })(),
      );
    }

    const lags: number[] = [];
    const started = Date.now();
    while (Date.now() - started < seconds * 1000) {
      const tick = Date.now();
      // Every host of the variant in one status: the lag of each.
      const status = await execFileAsync(process.execPath, [CLI, 'status', '--json'], { env }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      const report = JSON.parse(status.stdout || '{}') as { hosts?: { host: string; lagSeconds: number | null }[] };
      if ((Date.now() - started) / 1000 >= warmup) {
        for (const h of report.hosts ?? []) if (hosts.includes(h.host) && typeof h.lagSeconds === 'number') lags.push(h.lagSeconds);
      }
      const wait = 3000 - (Date.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    writing = false;
    await Promise.all(writers);
    for (const loop of loops) await stop(loop);
    await stop(up);
    const line = {
      bench: 'rpo',
      variant: variant.name,
      hosts: variant.hosts,
      seconds,
      tps: Number((transactions / seconds).toFixed(1)),
      samples: lags.length,
      p50: percentile(lags, 50),
      p99: percentile(lags, 99),
      max: Math.max(...lags),
    };
    results.push(line);
    console.log(JSON.stringify(line));
  }
} finally {
  for (const { instance, db } of sources) {
    await db.end();
    await instance.stop();
  }
  await rm(work, { recursive: true, force: true });
}
console.log('\nlag of the latest restorable time behind now (status --json, every 3 s):');
for (const r of results) console.log(`${String(r.variant).padEnd(36)} p50 ${String(r.p50).padStart(4)} s  p99 ${String(r.p99).padStart(4)} s  max ${String(r.max).padStart(4)} s  (${String(r.samples)} samples, ${String(r.tps)} tx/s in all)`);
