import { reconcileAlerts } from '../alerts/watch.js';
import { listHosts, readManifests, rebuildDay } from '../catalog/manifests.js';
import { areaRoot, manifestKey, parseKey, parseObjectKey, recordKeyOf } from '../layout.js';
import type { Alerts, Clock, ObjectStore } from '../ports.js';
import { planRetention, type RetentionPlan, type RetentionPolicy } from './plan.js';

export interface RetentionResult {
  host: string;
  plan: RetentionPlan;
  dryRun: boolean;
  /** Bytes stored, per kind, that the plan deletes (or deleted). */
  bytes: { dumps: number; binlogs: number };
  deleted: string[];
  /** Objects an S3 Object Lock holds: reported, never an error. */
  held: string[];
}

const isHeld = (error: unknown): boolean => {
  const text = `${(error as Error).name} ${(error as Error).message} ${String((error as { cause?: { name?: string } }).cause?.name ?? '')}`;
  return /object ?lock|retention|legal hold|access denied|AccessDenied/i.test(text);
};

/**
 * Plans, and unless `dryRun` applies, the retention of every host: deletes what the plan may delete
 * (each object, then its record), rebuilds the manifests of the days it touched, and announces
 * `retention-blocked` once when a plan cannot prove its promise (once more when that clears).
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
      held: [],
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
          await deps.store.delete(key);
        } catch (error) {
          if (isHeld(error)) {
            result.held.push(key);
            continue;
          }
          throw error;
        }
        if (ref) {
          await deps.store.delete(recordKeyOf(ref));
          days.add(ref.day);
        }
        result.deleted.push(key);
      }
      for (const key of plan.delete.gapRecords) {
        await deps.store.delete(key);
        const ref = parseKey(key);
        if (ref?.area === 'records') days.add(ref.day);
        result.deleted.push(key);
      }
      for (const day of [...days].sort()) {
        const manifest = await rebuildDay(deps.store, scope, day, deps.clock);
        const empty = manifest.objects.length === 0 && Object.keys(manifest.binlogs).length === 0 && Object.keys(manifest.dumps).length === 0 && Object.keys(manifest.gapRecords).length === 0;
        if (empty) await deps.store.delete(manifestKey(scope, day));
      }
    }
    results.push(result);
  }
  return results;
};
