import { reconcileAlerts } from '../alerts/watch.js';
import { forgetRecords, listHosts, readCatalogParts, summariesOf } from '../catalog/manifests.js';
import { areaRoot, checkpointKeyOf, parseObjectKey, recordKeyOf } from '../layout.js';
import { messageOf } from '../errors.js';
import type { Alerts, Clock, ObjectStore } from '../ports.js';
import { planRetention, type RetentionPlan, type RetentionPolicy } from './plan.js';

export interface RetentionResult {
  host: string;
  plan: RetentionPlan;
  dryRun: boolean;
  /** Bytes stored, per kind, that the plan deletes (or deleted). */
  bytes: { dumps: number; binlogs: number };
  deleted: string[];
  /** Bytes actually freed: every version of each deleted object (a versioned bucket keeps them otherwise). */
  freedBytes: number;
  /** Objects an S3 Object Lock holds (a retention date ahead, or a legal hold): reported, never an error. */
  held: string[];
  /** Objects that could not be deleted, no lock holding them (access denied, …): an error, `retention-failed`. */
  failed: { key: string; reason: string }[];
}

/**
 * Plans, and unless `dryRun` applies, the retention of every host: deletes what the plan may delete
 * (every version of each object, then of its record), takes their summaries out of the catalog,
 * and announces `retention-blocked` once when a plan cannot prove its promise, `retention-failed`
 * once when an object could not be deleted and no Object Lock explains why (once more when each
 * clears). A delete refused under a lock is a hold, not a failure: the lock is read to tell.
 */
export const runRetention = async (
  deps: { store: ObjectStore; alerts: Alerts; clock: Clock },
  options: {
    prefix: string;
    policy: RetentionPolicy;
    /** Per-host policy (SSM), over `policy`. */
    policyFor?: (host: string) => Promise<RetentionPolicy>;
    timeZone?: string;
    hosts?: string[];
    dryRun: boolean;
  },
): Promise<RetentionResult[]> => {
  const results: RetentionResult[] = [];
  for (const host of options.hosts ?? (await listHosts(deps.store, options.prefix))) {
    const scope = { prefix: options.prefix, host };
    const parts = await readCatalogParts(deps.store, scope);
    const summaries = summariesOf(parts);
    const plan = planRetention({
      host,
      binlogs: summaries.binlogs,
      dumps: summaries.dumps,
      gapRecords: Object.assign({}, ...parts.map((m) => m.gapRecords)),
      now: deps.clock.now(),
      policy: options.policyFor ? await options.policyFor(host) : options.policy,
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    });
    const sizes = new Map<string, number>();
    for (const area of ['binlogs', 'dumps'] as const) {
      for (const o of (await deps.store.list(areaRoot(scope, area))).keys) sizes.set(o.key, o.size);
    }
    const sum = (keys: string[]): number => keys.reduce((total, k) => total + (sizes.get(k) ?? 0), 0);
    const result: RetentionResult = {
      host,
      plan,
      dryRun: options.dryRun,
      bytes: { dumps: sum(plan.delete.dumps), binlogs: sum(plan.delete.binlogs) },
      deleted: [],
      freedBytes: 0,
      held: [],
      failed: [],
    };
    if (!options.dryRun) {
      await reconcileAlerts(
        deps,
        scope,
        plan.blocked
          ? [{ id: 'retention-blocked', type: 'retention-blocked', severity: 'warning', message: `retention deleted nothing: ${plan.blocked}`, details: {} }]
          : [],
        ['retention-blocked'],
      );
      const forgotten = new Set<string>();
      for (const key of [...plan.delete.dumps, ...plan.delete.binlogs]) {
        const ref = parseObjectKey(key);
        try {
          result.freedBytes += (await deps.store.purge(key)).freedBytes;
        } catch (error) {
          const lock = await deps.store.lockOf(key).catch(() => undefined);
          if (lock) result.held.push(key);
          else result.failed.push({ key, reason: messageOf(error) });
          continue;
        }
        if (ref) {
          result.freedBytes += (await deps.store.purge(recordKeyOf(ref))).freedBytes;
          // A verify still going on in steps (or one whose chain died) leaves a checkpoint beside the record.
          result.freedBytes += (await deps.store.purge(checkpointKeyOf(ref))).freedBytes;
          forgotten.add(recordKeyOf(ref));
        }
        result.deleted.push(key);
      }
      for (const key of plan.delete.gapRecords) {
        result.freedBytes += (await deps.store.purge(key)).freedBytes;
        forgotten.add(key);
        result.deleted.push(key);
      }
      if (forgotten.size > 0) await forgetRecords(deps.store, scope, forgotten, parts);
      const [first] = result.failed;
      await reconcileAlerts(
        deps,
        scope,
        first
          ? [
              {
                id: 'retention-failed',
                type: 'retention-failed',
                severity: 'critical',
                message: `retention could not delete ${result.failed.length} object(s), none held by Object Lock: ${first.key}: ${first.reason}`,
                details: { keys: result.failed.map((f) => f.key) },
              },
            ]
          : [],
        ['retention-failed'],
      );
    }
    results.push(result);
  }
  return results;
};
