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
  /** Objects an S3 Object Lock holds (a retention date ahead, or a legal hold): reported, never an error; also a record, checkpoint or drill record held after its object went. */
  held: string[];
  /** Objects (or their records, checkpoints, drill records) that could not be deleted, no lock holding them (access denied, …): an error, `retention-failed`. */
  failed: { key: string; reason: string }[];
  /** Drill records (and a drill's snapshots) deleted with the window they proved. */
  drills: string[];
  /**
   * Records and checkpoints whose object was already gone when the run began (a lock or a refusal
   * kept them on the run that deleted it): purged by this run (a dry run: found). One held or refused
   * again is in `held` or `failed` instead.
   */
  orphans: string[];
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
 * is still kept stays: `status` still shows what proved it. Also a record whose earlier or later dump
 * is no longer there (one HEAD each): a record an Object Lock or a refusal kept on the run that deleted
 * its window is found on a later run, not orphaned.
 */
const drillsOfDeleted = async (store: ObjectStore, scope: { prefix: string; host: string }, deleted: string[]): Promise<string[]> => {
  const gone = new Set(deleted);
  const names = new Set(deleted.map((k) => parseObjectKey(k)).flatMap((ref) => (ref?.area === 'binlogs' ? [ref.binlog] : [])));
  const listed = (await store.list(areaRoot(scope, 'drills'))).keys.map((k) => k.key);
  const lost = new Set<string>();
  const dumpMissing = async (record: DrillWindowRef): Promise<boolean> => {
    for (const key of [record.dumps?.from, record.dumps?.to]) if (key !== undefined && (await store.head(key)) === undefined) return true;
    return false;
  };
  for (const key of listed) {
    const ref = parseKey(key);
    if (ref?.area !== 'drills') continue;
    const record = JSON.parse((await store.getBytes(key)).toString('utf8')) as DrillWindowRef;
    if (windowLost(record, gone, names) || (await dumpMissing(record))) lost.add(`${ref.day}/${ref.execution}`);
  }
  const root = areaRoot(scope, 'drills');
  return listed.filter((key) => {
    const rest = key.slice(root.length);
    return [...lost].some((id) => rest === `${id}.json` || rest.startsWith(`${id}/`));
  });
};

/**
 * The records and verify checkpoints (`records/{day}/{object}.json`, `.checkpoint`) whose object is not
 * in the listing of the binlogs and dumps: those an Object Lock or a refusal kept on the run that
 * deleted their object, found on any later run, as drill records are. One listing of the records area
 * a run (a request per 1000 keys), compared with the objects' listing retention makes anyway. The records must be
 * listed before the objects: an object is written before its record and checkpoint, so a record listed
 * first has its object in the later listing unless the object is gone.
 */
const orphansOf = (records: string[], objects: string[]): string[] => {
  const expected = new Set(
    objects.flatMap((key) => {
      const ref = parseObjectKey(key);
      return ref ? [recordKeyOf(ref), checkpointKeyOf(ref)] : [];
    }),
  );
  // A checkpoint is no key of the layout (catalog readers pass it by): read as the record it precedes.
  const ofObject = (key: string): boolean => {
    const ref = parseKey(key.endsWith('.checkpoint') ? `${key.slice(0, -'.checkpoint'.length)}.json` : key);
    return ref?.area === 'records' && ref.of === 'object';
  };
  return records.filter((key) => ofObject(key) && !expected.has(key));
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
    // The records first, then the objects (see orphansOf).
    const records = (await deps.store.list(areaRoot(scope, 'records'))).keys.map((k) => k.key);
    const sizes = new Map<string, number>();
    for (const area of ['binlogs', 'dumps'] as const) {
      for (const o of (await deps.store.list(areaRoot(scope, area))).keys) sizes.set(o.key, o.size);
    }
    // A blocked plan deletes nothing, these included.
    const orphans = plan.blocked ? [] : orphansOf(records, [...sizes.keys()]);
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
      orphans: options.dryRun ? orphans : [],
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
      /**
       * Every version of `key` deleted. A refusal is never thrown: under a lock it is a hold, else a
       * failure, so the rest of the host's retention and its retention-failed reconcile still run. A
       * record, a checkpoint or a drill record is written after its object, so its lock can outlast the object's.
       */
      const purged = async (key: string): Promise<boolean> => {
        try {
          result.freedBytes += (await deps.store.purge(key)).freedBytes;
          return true;
        } catch (error) {
          const lock = await deps.store.lockOf(key).catch(() => undefined);
          if (lock) result.held.push(key);
          else result.failed.push({ key, reason: messageOf(error) });
          return false;
        }
      };
      // Records and checkpoints this run's deletes took care of (after a `catalog rebuild` the plan can name an object already gone).
      const visited = new Set<string>();
      for (const key of [...plan.delete.dumps, ...plan.delete.binlogs]) {
        const ref = parseObjectKey(key);
        if (!(await purged(key))) continue;
        if (ref) {
          visited.add(recordKeyOf(ref)).add(checkpointKeyOf(ref));
          await purged(recordKeyOf(ref));
          // A verify still going on in steps (or one whose chain died) leaves a checkpoint beside the record.
          await purged(checkpointKeyOf(ref));
          // The object is gone: the catalog forgets it, whether or not its record could go with it.
          forgotten.add(recordKeyOf(ref));
        }
        result.deleted.push(key);
      }
      // Records and checkpoints left by an earlier run (their object gone, a lock held them then), through the same guarded purge.
      for (const key of orphans.filter((k) => !visited.has(k))) {
        if (await purged(key)) result.orphans.push(key);
        // The object is gone: the catalog forgets its record (after a `catalog rebuild` took it in again).
        if (key.endsWith('.json')) forgotten.add(key);
      }
      for (const key of plan.delete.gapRecords) {
        if (!(await purged(key))) continue;
        forgotten.add(key);
        result.deleted.push(key);
      }
      if (forgotten.size > 0) await forgetRecords(deps.store, scope, forgotten, parts);
      // Only what was deleted takes its drills with it: a held or refused object's window is still there.
      for (const key of await drillsOfDeleted(deps.store, scope, result.deleted)) {
        if (await purged(key)) result.drills.push(key);
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
