import { reconcileAlerts } from '../alerts/watch.js';
import { listHosts, readManifests, rebuildDay } from '../catalog/manifests.js';
import { areaRoot, manifestKey, parseKey, parseObjectKey, recordKeyOf } from '../layout.js';
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
 * (every version of each object, then of its record), rebuilds the manifests of the days it touched,
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
    const manifests = await readManifests(deps.store, scope);
    const plan = planRetention({
      host,
      binlogs: manifests.flatMap((m) => Object.values(m.binlogs)),
      dumps: manifests.flatMap((m) => Object.values(m.dumps)),
      gapRecords: Object.assign({}, ...manifests.map((m) => m.gapRecords)),
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
      const days = new Set<string>();
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
          days.add(ref.day);
        }
        result.deleted.push(key);
      }
      for (const key of plan.delete.gapRecords) {
        result.freedBytes += (await deps.store.purge(key)).freedBytes;
        const ref = parseKey(key);
        if (ref?.area === 'records') days.add(ref.day);
        result.deleted.push(key);
      }
      for (const day of [...days].sort()) {
        const manifest = await rebuildDay(deps.store, scope, day, deps.clock);
        const empty = manifest.objects.length === 0 && Object.keys(manifest.binlogs).length === 0 && Object.keys(manifest.dumps).length === 0 && Object.keys(manifest.gapRecords).length === 0;
        if (empty) await deps.store.purge(manifestKey(scope, day));
      }
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
