import { createHash } from 'node:crypto';
import { listHosts } from '../catalog/manifests.js';
import { parseKey } from '../layout.js';
import type { Clock, DrillStarter, ObjectStore } from '../ports.js';
import { compactStamp } from '../time.js';

/**
 * The longest drill name: DrillPlan's `execution` (71), so that `{name}-restored`, its sides' tag and
 * restore name, stays within the 80 characters of a Step Functions execution name.
 */
export const DRILL_NAME_MAX = 71;

/**
 * A Step Functions execution name for a drill: letters, digits, `-` and `_` only, at most
 * {@link DRILL_NAME_MAX} characters. The same drill (a host's day, a dump's window) always gets the
 * same name, so a duplicate event or schedule delivery starts nothing twice. A host too long for
 * that keeps its start and gets 8 hex digits of its SHA-256, so two long hosts that begin alike
 * still get different names; `what` (the day or the dump's stamp) stays whole at the end.
 * @example drillExecutionName('db1.example', '20261120') // 'drill-db1_example-20261120'
 * @example drillExecutionName('db-primary-01.eu-west-1.prod.internal.example-corp-group.com', '20261120T000000Z')
 *   // 'drill-db-primary-01_eu-west-1_prod_internal_e-814732af-20261120T000000Z'
 */
export const drillExecutionName = (host: string, what: string): string => {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
  const full = `drill-${clean(host)}-${clean(what)}`;
  if (full.length <= DRILL_NAME_MAX) return full;
  const room = DRILL_NAME_MAX - 'drill-'.length - 1 - 8 - 1 - clean(what).length;
  if (room >= 1) return `drill-${clean(host).slice(0, room)}-${sha8(host)}-${clean(what)}`;
  // `what` alone too long (not one of ours): the name's start and a hash of all of it.
  return `${full.slice(0, DRILL_NAME_MAX - 9)}-${sha8(`${host}\n${what}`)}`;
};

const sha8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

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
export const startDrillForRecord = async (
  deps: { store: ObjectStore; starter: DrillStarter },
  recordKey: string,
  /** The record's kind and status when the caller has read it already (the catalog function has). */
  known?: { kind?: string; status?: string },
): Promise<{ host: string; execution: string; outcome: 'started' | 'exists' } | undefined> => {
  const ref = parseKey(recordKey);
  if (ref?.area !== 'records' || ref.of !== 'object' || !ref.name.endsWith('.sql.gz')) return undefined;
  const record = known ?? (JSON.parse((await deps.store.getBytes(recordKey)).toString('utf8')) as { kind?: string; status?: string });
  if (record.kind !== 'dump' || record.status !== 'ok') return undefined;
  const execution = drillExecutionName(ref.host, ref.name.replace(/\.sql\.gz$/, '').replace(new RegExp(`^${ref.host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-`), ''));
  return { host: ref.host, execution, outcome: await deps.starter.start(execution, { host: ref.host, window: ref.name, execution }) };
};
