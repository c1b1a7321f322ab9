import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BinlogVerifier } from '../binlog/verify.js';
import type { ObjectStore } from '../ports.js';
import type { RestorePlan } from './plan.js';
import { ReachTracker, type ReplayReach } from './reach.js';

/**
 * Reads a plan's binlogs from the bucket as its replay would apply them (from the dump's coordinates
 * to the stop), without applying anything: what a restore of selected databases checks before it
 * provisions anything (every transaction it would replay stays within the selection).
 */
export const scanPlanBinlogs = async (
  store: ObjectStore,
  plan: RestorePlan,
  databases: { selected: string[]; known: string[] },
): Promise<ReplayReach> => {
  const tracker = new ReachTracker(plan, databases);
  for (const binlog of plan.binlogs) {
    tracker.nextFile();
    const verifier = new BinlogVerifier((e) => tracker.event(e), { names: true });
    await pipeline(Readable.from(await store.get(binlog.key)), createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) verifier.update(chunk);
    });
    verifier.finish();
  }
  return tracker.finish();
};
