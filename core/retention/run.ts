import { reconcileAlerts } from '../alerts/watch.js';
import { forgetRecords, listHosts, readCatalogParts, summariesOf } from '../catalog/manifests.js';
import { areaRoot, parseObjectKey, recordKeyOf } from '../layout.js';
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
 * (each object, then its record), takes their summaries out of the catalog, and announces
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
      const forgotten = new Set<string>();
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
          forgotten.add(recordKeyOf(ref));
        }
        result.deleted.push(key);
      }
      for (const key of plan.delete.gapRecords) {
        await deps.store.delete(key);
        forgotten.add(key);
        result.deleted.push(key);
      }
      if (forgotten.size > 0) await forgetRecords(deps.store, scope, forgotten, parts);
    }
    results.push(result);
  }
  return results;
};
