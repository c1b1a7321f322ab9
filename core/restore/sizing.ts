import type { RestorePlan } from './plan.js';

/** What a restore instance needs for a plan: its type and its root volume. */
export interface InstanceSizing {
  instanceType: string;
  volumeGiB: number;
}

const GiB = 1024 ** 3;

/** Stored (compressed) bytes expand about three times (plan.ts estimateSeconds says the same). */
const EXPANSION = 3;

/**
 * The restore instance for a plan: a root volume for the OS and the server (10 GiB), the dump's
 * raw data twice (the server's data files and their indexes, grown from the SQL), the binlogs' raw
 * size once (the replay's relay copy) and 20 % headroom, at least 30 GiB; an instance type that
 * loads it in reasonable time (more memory for the buffer pool as the data grows).
 * @example sizeRestoreInstance({ dump: { size: 2 * 1024 ** 3 }, bytes: 3 * 1024 ** 3 }) // { instanceType: 'm7i.large', volumeGiB: 30 }
 */
export const sizeRestoreInstance = (plan: Pick<RestorePlan, 'bytes'> & { dump: Pick<RestorePlan['dump'], 'size'> }): InstanceSizing => {
  const dumpRaw = (plan.dump.size ?? plan.bytes) * EXPANSION;
  const binlogRaw = Math.max(0, plan.bytes - (plan.dump.size ?? plan.bytes)) * EXPANSION;
  const needed = 10 * GiB + (2 * dumpRaw + binlogRaw) * 1.2;
  const volumeGiB = Math.max(30, Math.ceil(needed / GiB));
  const instanceType = dumpRaw < 20 * GiB ? 'm7i.large' : dumpRaw < 200 * GiB ? 'm7i.xlarge' : dumpRaw < 1000 * GiB ? 'm7i.2xlarge' : 'm7i.4xlarge';
  return { instanceType, volumeGiB };
};
