import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { onPath, peakRssOf } from './compress.js';

/**
 * What a shipping run cost the host it runs on, the figure the first users watch: the database
 * server and its application share the machine with the shipper.
 */
export interface HostImpact {
  /** CPU seconds of this process, of its children (the dump tool, igzip), and both. */
  cpuSeconds: { self: number; children: number; total: number };
  /** Raw bytes read: the dump tool's output, or binlog files (read twice: hashed, then compressed). */
  bytesRead: number;
  /** Compressed bytes sent to the bucket. */
  bytesSent: number;
  /** Peak resident memory of this process (VmHWM), and of its largest child as sampled when it ended. */
  peakRssBytes: number;
  childPeakRssBytes: number;
  compressor: string;
  /** The nice value and I/O class the run had. */
  priority: Priority;
}

export interface Priority {
  nice: number;
  io: string;
}

const CLOCK_TICKS = 100; // USER_HZ: the unit of /proc's utime, stime, cutime and cstime on Linux.

/** CPU seconds of the children this process has waited for (cutime + cstime of /proc/self/stat). */
const childrenCpu = (): number => {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return ((fields[13] ?? 0) + (fields[14] ?? 0)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
};

/**
 * Starts counting a run's cost; `finish` returns it. Children count once they have exited and
 * been waited for, which every child of a run has by the time it ends.
 */
export const startImpact = (): { finish(figures: { bytesRead: number; bytesSent: number; childPeakRss: number; compressor: string; priority: Priority }): HostImpact } => {
  const self = process.cpuUsage();
  const children = childrenCpu();
  return {
    finish: (figures) => {
      const used = process.cpuUsage(self);
      const selfSeconds = (used.user + used.system) / 1e6;
      const childSeconds = childrenCpu() - children;
      const round = (n: number): number => Math.round(n * 100) / 100;
      return {
        cpuSeconds: { self: round(selfSeconds), children: round(childSeconds), total: round(selfSeconds + childSeconds) },
        bytesRead: figures.bytesRead,
        bytesSent: figures.bytesSent,
        peakRssBytes: peakRssOf('self'),
        childPeakRssBytes: figures.childPeakRss,
        compressor: figures.compressor,
        priority: figures.priority,
      };
    },
  };
};

/**
 * Lowers this process to `nice` (never raises it: a unit's Nice= that is higher stays) and to the
 * lowest best-effort I/O priority, as the systemd units do, so that a run from cron or a shell
 * yields to the database too. Every thread is set (Linux keeps nice and I/O priority per thread:
 * Node's worker threads already run) and children inherit both. `nice` 0 leaves everything as is.
 */
export const lowerPriority = (nice: number): Priority => {
  if (nice <= 0) return { nice: getPriority(), io: 'unchanged' };
  let tids: number[] = [];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    tids = [process.pid];
  }
  for (const tid of tids) {
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice);
    } catch {
      // A thread that ended in between.
    }
  }
  const ionice = onPath('ionice') ?? onPath('ionice', '/usr/bin:/bin');
  let io = 'unchanged (no ionice)';
  if (ionice) {
    const result = spawnSync(ionice, ['-c', '2', '-n', '7', '-p', ...tids.map(String)], { stdio: 'ignore', timeout: 5000 });
    io = result.status === 0 ? 'best-effort 7' : 'unchanged (ionice failed)';
  }
  return { nice: getPriority(), io };
};
