import { listHosts } from '../catalog/manifests.js';
import { parseKey } from '../layout.js';
import type { Clock, DrillStarter, ObjectStore } from '../ports.js';
import { compactStamp } from '../time.js';

/**
 * A Step Functions execution name for a drill: letters, digits, `-` and `_` only, at most 80
 * characters. The same drill (a host's day, a dump's window) always gets the same name, so a
 * duplicate event or schedule delivery starts nothing twice.
 * @example drillExecutionName('db1.example', '20261120') // 'drill-db1_example-20261120'
 */
export const drillExecutionName = (host: string, what: string): string => `drill-${host.replace(/[^A-Za-z0-9_-]/g, '_')}-${what.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 80);

/**
 * The schedule's drill: one execution per host in the bucket, named by the host and the day, so a
 * second delivery of the same schedule (at least once) starts nothing more.
 * @returns each host and whether its drill was started or already had been
 */
export const startScheduledDrills = async (deps: { store: ObjectStore; starter: DrillStarter; clock: Clock }, prefix: string): Promise<{ host: string; execution: string; outcome: 'started' | 'exists' }[]> => {
  const day = compactStamp(deps.clock.now()).slice(0, 8);
  const started = [];
  for (const host of await listHosts(deps.store, prefix)) {
    const execution = drillExecutionName(host, day);
    started.push({ host, execution, outcome: await deps.starter.start(execution, { host, execution }) });
  }
  return started;
};

/**
 * With BINVAULT_DRILL=every-dump: a dump's verification record landed (the catalog function's event);
 * a verified dump closes a window, whose drill starts now, named by the dump (a duplicate event
 * starts nothing more). Not a dump's record, or a dump that failed verification: nothing.
 */
export const startDrillForRecord = async (deps: { store: ObjectStore; starter: DrillStarter }, recordKey: string): Promise<{ host: string; execution: string; outcome: 'started' | 'exists' } | undefined> => {
  const ref = parseKey(recordKey);
  if (ref?.area !== 'records' || ref.of !== 'object' || !ref.name.endsWith('.sql.gz')) return undefined;
  const record = JSON.parse((await deps.store.getBytes(recordKey)).toString('utf8')) as { kind?: string; status?: string };
  if (record.kind !== 'dump' || record.status !== 'ok') return undefined;
  const execution = drillExecutionName(ref.host, ref.name.replace(/\.sql\.gz$/, '').replace(new RegExp(`^${ref.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-`), ''));
  return { host: ref.host, execution, outcome: await deps.starter.start(execution, { host: ref.host, window: ref.name, execution }) };
};
