import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import type { Instance } from '../drivers/local/instance.js';
import { findProgram } from '../drivers/mysql/programs.js';
import { readOptionFile } from '../drivers/mysql/option-file.js';

export const execFileAsync = promisify(execFile);

export interface Measured {
  seconds: number;
  /** Peak resident set size of the process (VmHWM), in bytes. */
  peakRss: number;
  /** CPU seconds of the process and of the children it waited for, as last sampled before it exited. */
  cpu: { self: number; children: number };
  /** Bytes the process and its children wrote to storage (/proc/PID/io write_bytes). */
  writeBytes: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command, timing it and sampling its peak RSS from /proc (VmHWM only ever grows). */
export const measure = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let cpu = { self: 0, children: 0 };
    // Bytes written to storage by the process and its children (cumulative per process: the last
    // value seen of each), read from /proc without starting a process that would compete for CPU.
    const written = new Map<number, number>();
    const writeBytes = (pid: number): void => {
      try {
        const bytes = Number(/write_bytes: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
        written.set(pid, Math.max(written.get(pid) ?? 0, bytes));
      } catch {
        // Gone between two samples.
      }
    };
    const sample = (): void => {
      const pid = child.pid ?? 0;
      writeBytes(pid);
      try {
        for (const kid of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((k) => k !== '')) writeBytes(Number(kid));
      } catch {
        // Gone, or a kernel without the children list.
      }
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8'));
        if (match?.[1]) peakRss = Math.max(peakRss, Number(match[1]) * 1024);
        // utime, stime, and the same of the children it has waited for (the dump tool), in ticks.
        const stat = readFileSync(`/proc/${child.pid ?? 0}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
        cpu = { self: ((fields[11] ?? 0) + (fields[12] ?? 0)) / 100, children: ((fields[13] ?? 0) + (fields[14] ?? 0)) / 100 };
      } catch {
        // The process has exited between two samples.
      }
    };
    const timer = setInterval(sample, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ seconds: (performance.now() - started) / 1000, peakRss, cpu, writeBytes: [...written.values()].reduce((a, b) => a + b, 0), code, stdout, stderr });
    });
  });

/** Runs `binvault` (the built CLI) with `env`, fails on a non-zero exit, then waits for the local runtime's handlers. */
export const cliRunner =
  (cli: string, env: NodeJS.ProcessEnv, runtime: { idle(): Promise<void> }) =>
  async (...args: string[]): Promise<string> => {
    const run = await measure(process.execPath, [cli, ...args], env);
    if (run.code !== 0) throw new Error(`binvault ${args.join(' ')} failed: ${run.stderr}`);
    await runtime.idle();
    return run.stdout;
  };

/** Runs a shell pipeline (a baseline such as `gzip -1 -c FILE > /dev/null`) and times it. */
export const timeShell = async (script: string): Promise<number> => {
  const started = performance.now();
  await execFileAsync('bash', ['-o', 'pipefail', '-c', script], { maxBuffer: 1 << 20 });
  return (performance.now() - started) / 1000;
};

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * A sysbench dataset and workload on a throwaway instance, as a real application would write it.
 * sysbench connects as a password-less user reachable only through the instance's private socket,
 * so no password ever appears in its argv.
 */
export const sysbench = async (
  instance: Instance,
  options: { tables: number; tableSize: number; runSeconds?: number; threads?: number; prepare?: boolean },
): Promise<void> => {
  if (!findProgram('sysbench')) {
    throw new Error('sysbench is not installed: apt-get install sysbench');
  }
  const client = await readOptionFile(instance.defaultsFile);
  const admin = await createConnection({
    socketPath: instance.socket,
    user: client.user ?? 'root',
    ...(client.password !== undefined ? { password: client.password } : {}),
    multipleStatements: true,
  });
  await admin.query(
    "CREATE DATABASE IF NOT EXISTS sbtest; CREATE USER IF NOT EXISTS 'sbtest'@'localhost'; GRANT ALL ON sbtest.* TO 'sbtest'@'localhost'",
  );
  await admin.end();
  const common = [
    `--mysql-socket=${instance.socket}`,
    '--mysql-user=sbtest',
    '--mysql-db=sbtest',
    `--tables=${options.tables}`,
    `--table-size=${options.tableSize}`,
    `--threads=${options.threads ?? 2}`,
  ];
  if (options.prepare ?? true) await execFileAsync('sysbench', ['oltp_write_only', ...common, 'prepare'], { maxBuffer: 16 << 20 });
  if (options.runSeconds) {
    await execFileAsync('sysbench', ['oltp_write_only', ...common, `--time=${options.runSeconds}`, '--report-interval=0', 'run'], {
      maxBuffer: 16 << 20,
    });
  }
};

/** The environment `binvault` runs with in a benchmark: the local endpoint, the instance's option file. */
export const cliEnv = (endpoint: string, defaultsFile: string, host: string, stateDir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/root',
  BINVAULT_S3_ENDPOINT: endpoint,
  BINVAULT_BUCKET: 'bench',
  BINVAULT_HOST_ID: host,
  BINVAULT_MYSQL_DEFAULTS_FILE: defaultsFile,
  BINVAULT_STATE_DIR: stateDir,
});

/** utime + stime of a live process, in seconds (/proc/PID/stat); 0 when it is gone. */
export const cpuOf = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return ((fields[11] ?? 0) + (fields[12] ?? 0)) / 100;
  } catch {
    return 0;
  }
};

const descendants = (pid: number): number[] => {
  let kids: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      kids.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter((k) => k !== '').map(Number));
    }
  } catch {
    // Gone between two samples.
  }
  kids = [...new Set(kids)];
  return [...kids, ...kids.flatMap(descendants)];
};

/** A process whose command line is its parent's: forked, not yet exec'd (or gone: then false). */
const forkNotYetExec = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === readFileSync(`/proc/${parent}/cmdline`, 'utf8');
  } catch {
    return false;
  }
};

const rssOf = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};

export interface TreeMeasured {
  seconds: number;
  /** CPU seconds of every process of the run (all were waited for): exact, from the wrapper's own cutime and cstime. */
  cpu: number;
  /** The largest sum of the resident memory of the run's processes seen at once (sampled every 20 ms). */
  peakRss: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a bash script (`"$@"` are `args`) and measures the whole process tree it starts: wall time,
 * CPU seconds of everything it ran (bash waits for every process of the script, and each process's
 * usage includes the children it waited for: the shipper's dump tool and igzip, a pipeline's
 * mysqldump and gzip), and the peak of its summed RSS.
 */
export const measureTree = (script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<TreeMeasured> =>
  new Promise((resolve, reject) => {
    const wrapper = `${script}\nrc=$?\nread -r stat < /proc/$$/stat\nprintf '%s\\n' "$stat" >&3\nexit $rc`;
    const started = performance.now();
    const child = spawn('bash', ['-o', 'pipefail', '-c', wrapper, 'bash', ...args], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stat = '';
    let peakRss = 0;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (stat += d.toString()));
    const timer = setInterval(() => {
      const pid = child.pid ?? 0;
      // A child caught between fork and exec is still a copy of its parent (same command line,
      // same pages, shared copy-on-write): counting it would add its parent's RSS once more.
      const tree = [pid, ...descendants(pid).filter((kid) => !forkNotYetExec(kid))];
      peakRss = Math.max(peakRss, tree.reduce((sum, p) => sum + rssOf(p), 0));
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ').map(Number);
      const cpu = ((fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0)) / 100;
      resolve({ seconds: (performance.now() - started) / 1000, cpu, peakRss, code, stdout, stderr });
    });
  });

/**
 * The local S3 endpoint in a process of its own, at `nice` (the shipper's default priority: it
 * stands in for S3, which costs the host nothing), so that its CPU is measured apart from the
 * shipper's and the benchmark's.
 */
export const startEndpointProcess = async (directory: string, nice: number): Promise<{ url: string; pid: number; cpu(): number; close(): Promise<void> }> => {
  const script = fileURLToPath(new URL('./endpoint.ts', import.meta.url));
  const child = spawn('nice', ['-n', String(nice), process.execPath, '--import', 'tsx', script, directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^(http:\/\/\S+)\n/m.exec(out);
      if (line?.[1]) resolve(line[1]);
    });
    child.once('exit', (code) => reject(new Error(`the local endpoint exited with code ${code}`)));
  });
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    cpu: () => cpuOf(pid),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};
