import { reconcileAlerts } from '../alerts/watch.js';
import { forgetRecords, listHosts, readCatalogParts, summariesOf } from '../catalog/manifests.js';
import { areaRoot, checkpointKeyOf, parseKey, parseObjectKey, recordKeyOf } from '../layout.js';
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
  /** Drill records (and a drill's snapshots) deleted with the window they proved. */
  drills: string[];
}

/** What retention reads of a drill record: the window's dumps and binlogs. */
interface DrillWindowRef {
  dumps?: { from?: string; to?: string };
  binlogs?: string[];
  binlogKeys?: string[];
}

/**
 * Whether a drill record's window lost an object: its earlier or later dump, or a binlog it replayed
 * (by key; a record written before `binlogKeys` names its binlogs, matched by name).
 */
const windowLost = (record: DrillWindowRef, deleted: Set<string>, deletedBinlogNames: Set<string>): boolean =>
  [record.dumps?.from, record.dumps?.to].some((k) => k !== undefined && deleted.has(k)) ||
  (record.binlogKeys ? record.binlogKeys.some((k) => deleted.has(k)) : (record.binlogs ?? []).some((n) => deletedBinlogNames.has(n)));

/**
 * The drill records of the windows whose dumps or binlogs retention deleted, with whatever the drill
 * left beside them (`drills/{day}/{execution}/…`, the AWS drill's snapshots). A record whose window
 * is still kept stays: `status` still shows what proved it.
 */
const drillsOfDeleted = async (store: ObjectStore, scope: { prefix: string; host: string }, deleted: string[]): Promise<string[]> => {
  if (deleted.length === 0) return [];
  const gone = new Set(deleted);
  const names = new Set(deleted.map((k) => parseObjectKey(k)).flatMap((ref) => (ref?.area === 'binlogs' ? [ref.binlog] : [])));
  const listed = (await store.list(areaRoot(scope, 'drills'))).keys.map((k) => k.key);
  const lost = new Set<string>();
  for (const key of listed) {
    const ref = parseKey(key);
    if (ref?.area !== 'drills') continue;
    const record = JSON.parse((await store.getBytes(key)).toString('utf8')) as DrillWindowRef;
    if (windowLost(record, gone, names)) lost.add(`${ref.day}/${ref.execution}`);
  }
  const root = areaRoot(scope, 'drills');
  return listed.filter((key) => {
    const rest = key.slice(root.length);
    return [...lost].some((id) => rest === `${id}.json` || rest.startsWith(`${id}/`));
  });
};

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
      drills: [],
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
      // Only what was deleted takes its drills with it: a held or refused object's window is still there.
      for (const key of await drillsOfDeleted(deps.store, scope, result.deleted)) {
        result.freedBytes += (await deps.store.purge(key)).freedBytes;
        result.drills.push(key);
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
