import { randomBytes } from 'node:crypto';
import { catalogOf, readCatalogParts, summariesOf } from '../catalog/manifests.js';
import type { BinlogSummary, Catalog, DumpSummary } from '../catalog/model.js';
import type { Condition } from '../alerts/conditions.js';
import { reconcileAlerts } from '../alerts/watch.js';
import { DrillNotReadyError, NothingToDrillError, RestoreRefusedError } from '../errors.js';
import { areaRoot, drillKey, parseKey } from '../layout.js';
import type { Alerts, Applier, Clock, InstanceReader, InstanceSnapshot, ObjectStore, ProvisionedInstance, Provisioner, StepStatus } from '../ports.js';
import { compactStamp, isoSeconds } from '../time.js';
import { estimateSeconds, type PlannedBinlog, type RestorePlan } from './plan.js';
import { recordRates } from './rto.js';
import { sameGtids, storedSizes } from './workflow.js';

export interface DrillDeps {
  store: ObjectStore;
  prefix: string;
  provisioner: Provisioner;
  applier: Applier;
  reader: InstanceReader;
  alerts: Alerts;
  clock: Clock;
}

export interface DrillRequest {
  host: string;
  /** The later dump of the window to prove (its key or file name); default: the newest provable window. */
  window?: string;
  execution?: string;
}

/** One difference between the restored instance and the later dump, in words, with what it names. */
export interface DrillDifference {
  kind: 'table' | 'definition';
  name: string;
  message: string;
}

export interface DrillRecord {
  recordVersion: 1;
  kind: 'drill';
  host: string;
  execution: string;
  result: 'proven' | 'failed';
  /** The window the drill covers: from the earlier dump's end to the later dump's. */
  window: { from: string; to: string };
  dumps: { from: string; to: string };
  binlogs: string[];
  /** The binlogs' keys: retention deletes the record with the window when it deletes one of them. */
  binlogKeys?: string[];
  stop: { binlogFile: string; position: number };
  gtids?: { reached: string; laterDump?: string };
  tables: number;
  definitions: number;
  /** Tables compared without a primary key (CHECKSUM TABLE is a sum over rows: their order does not matter). */
  withoutPrimaryKey: string[];
  differences: DrillDifference[];
  error?: string;
  timings: { provisionSeconds: number; loadSeconds: number; replaySeconds: number; laterLoadSeconds: number; compareSeconds: number; totalSeconds: number };
  startedAt: string;
  finishedAt: string;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export type ProvableDump = DumpSummary & { completedAt: string; binlogFile: string; binlogPosition: number };

const provable = (d: DumpSummary): d is ProvableDump => d.status === 'ok' && d.completedAt !== undefined && d.binlogFile !== undefined && d.binlogPosition !== undefined;

/**
 * The plan of a drill: the earlier dump, and the binlogs from its coordinates to the later dump's
 * exact coordinates (a position stop); refused when a binlog between them is missing, corrupt or not
 * shipped yet, or a RESET MASTER lies between them.
 */
export const planDrill = (catalog: Catalog, binlogs: BinlogSummary[], from: ProvableDump, to: ProvableDump): RestorePlan => {
  const chain = catalog.chain;
  let start = -1;
  chain.forEach((link, i) => {
    if (link.name === from.binlogFile && link.firstEventTime && seconds(link.firstEventTime) <= seconds(from.completedAt)) start = i;
  });
  if (start < 0) throw new RestoreRefusedError(`the binlog ${from.binlogFile} of the dump ${from.key} is not shipped and verified`);
  const summaries = new Map(binlogs.map((b) => [b.key, b]));
  const planned: PlannedBinlog[] = [];
  for (let i = start; ; i++) {
    const link = chain[i];
    if (!link) throw new RestoreRefusedError(`the binlogs up to ${to.binlogFile} (the dump ${to.key}) are not all shipped yet`);
    if (!link.key || link.status !== 'ok') throw new RestoreRefusedError(`the chain is broken at ${link.name} between the dumps ${from.key} and ${to.key}`);
    if (link.lineage !== chain[start]?.lineage) throw new RestoreRefusedError(`a RESET MASTER lies between the dumps ${from.key} and ${to.key}`);
    const serverIds = summaries.get(link.key)?.serverIds;
    planned.push({ name: link.name, key: link.key, ...(serverIds && serverIds.length > 0 ? { serverIds } : {}), ...(link.firstEventTime ? { firstEventTime: link.firstEventTime } : {}), ...(link.lastEventTime ? { lastEventTime: link.lastEventTime } : {}) });
    if (link.name === to.binlogFile) break;
  }
  return {
    host: catalog.host,
    target: { time: to.completedAt },
    targetTime: to.completedAt,
    dump: { key: from.key, completedAt: from.completedAt, binlogFile: from.binlogFile, binlogPosition: from.binlogPosition, ...(from.gtids ? { gtids: from.gtids } : {}), ...(from.databases.length > 0 ? { databases: from.databases } : {}) },
    binlogs: planned,
    startPosition: from.binlogPosition,
    stop: { binlogFile: to.binlogFile, position: to.binlogPosition },
    bytes: 0,
    estimatedSeconds: estimateSeconds(0),
  };
};

/**
 * The windows a drill can prove, newest first: each pair of consecutive verified dumps with
 * coordinates, with its plan or the reason there is none yet.
 */
export const drillWindows = (catalog: Catalog, binlogs: BinlogSummary[], dumps: DumpSummary[]): { from: ProvableDump; to: ProvableDump; plan?: RestorePlan; refused?: string }[] => {
  const ordered = dumps.filter(provable).sort((a, b) => seconds(a.completedAt) - seconds(b.completedAt));
  const windows = [];
  for (let i = ordered.length - 1; i > 0; i--) {
    const from = ordered[i - 1] as ProvableDump;
    const to = ordered[i] as ProvableDump;
    try {
      windows.push({ from, to, plan: planDrill(catalog, binlogs, from, to) });
    } catch (error) {
      if (!(error instanceof RestoreRefusedError)) throw error;
      windows.push({ from, to, refused: error.message });
    }
  }
  return windows;
};

/** Where the restored instance and the later dump differ, table by table and definition by definition. */
export const compareSnapshots = (restored: InstanceSnapshot, dump: InstanceSnapshot): DrillDifference[] => {
  const differences: DrillDifference[] = [];
  const names = [...new Set([...Object.keys(restored.tables), ...Object.keys(dump.tables)])].sort();
  for (const name of names) {
    const r = restored.tables[name];
    const d = dump.tables[name];
    if (!r) differences.push({ kind: 'table', name, message: `${name} is in the later dump but not in the restore` });
    else if (!d) differences.push({ kind: 'table', name, message: `${name} is in the restore but not in the later dump` });
    else if (r.columns !== d.columns) differences.push({ kind: 'table', name, message: `${name} has other columns in the restore than in the later dump` });
    else if (r.checksum !== d.checksum || r.rows !== d.rows) {
      differences.push({ kind: 'table', name, message: `${name} differs: ${r.rows} rows, checksum ${r.checksum} restored; ${d.rows} rows, checksum ${d.checksum} in the later dump` });
    }
  }
  const definitions = [...new Set([...Object.keys(restored.definitions), ...Object.keys(dump.definitions)])].sort();
  for (const name of definitions) {
    const r = restored.definitions[name];
    const d = dump.definitions[name];
    if (r === d) continue;
    const message = r === undefined ? `${name} is in the later dump but not in the restore` : d === undefined ? `${name} is in the restore but not in the later dump` : `${name} is defined otherwise in the restore than in the later dump`;
    differences.push({ kind: 'definition', name, message });
  }
  return differences;
};

/** Runs a step to its end (locally it ends at once; a remote applier is checked until it does). */
const finished = async (applier: Applier, step: StepStatus, instance: ProvisionedInstance, execution: string): Promise<StepStatus> => {
  let status = step;
  while (status.status === 'InProgress') {
    await new Promise((r) => setTimeout(r, 5000));
    status = await applier.check(status, instance, execution);
  }
  return status;
};

/**
 * A restore drill: dump N and the binlogs up to dump N+1's coordinates restored into one new
 * instance, dump N+1 loaded into another, and the two compared. Equal: dump N, every binlog between
 * them and the restore procedure are proven at once. Writes the drill's record (proven or failed),
 * alerts `drill-failed` naming what differs (and its clearing when a later drill proves its window), and removes both instances whatever happens.
 * A window that cannot be drilled yet (fewer than two dumps, a binlog not shipped) is refused.
 */
export const runDrill = async (deps: DrillDeps, request: DrillRequest): Promise<DrillRecord> => {
  const chosen = await chooseDrillWindow(deps, request);
  const { plan, later } = chosen;
  const execution = request.execution ?? newDrillExecution(deps.clock);
  const started = deps.clock.now();
  const elapsed = (since: Date): number => Math.round((deps.clock.now().getTime() - since.getTime()) / 100) / 10;
  const timings = { provisionSeconds: 0, loadSeconds: 0, replaySeconds: 0, laterLoadSeconds: 0, compareSeconds: 0, totalSeconds: 0 };
  const instances: ProvisionedInstance[] = [];
  let differences: DrillDifference[] = [];
  let snapshot: InstanceSnapshot | undefined;
  let reachedGtids: string | undefined;
  let error: string | undefined;
  try {
    let t = deps.clock.now();
    const restored = await deps.provisioner.provision(`${execution}-restored`);
    instances.push(restored);
    const dumped = await deps.provisioner.provision(`${execution}-dump`);
    instances.push(dumped);
    timings.provisionSeconds = elapsed(t);
    t = deps.clock.now();
    await finished(deps.applier, await deps.applier.load(plan, restored, `${execution}-restored`), restored, `${execution}-restored`);
    timings.loadSeconds = elapsed(t);
    t = deps.clock.now();
    const replay = await finished(deps.applier, await deps.applier.replay(plan, restored, `${execution}-restored`), restored, `${execution}-restored`);
    timings.replaySeconds = elapsed(t);
    t = deps.clock.now();
    await finished(deps.applier, await deps.applier.load(later, dumped, `${execution}-dump`), dumped, `${execution}-dump`);
    timings.laterLoadSeconds = elapsed(t);
    t = deps.clock.now();
    reachedGtids = (await deps.applier.reached(restored, `${execution}-restored`)).gtids;
    snapshot = await deps.reader.snapshot(restored);
    differences = [...gtidDifferences(chosen, reachedGtids, replay.expected?.gtids), ...compareSnapshots(snapshot, await deps.reader.snapshot(dumped))];
    timings.compareSeconds = elapsed(t);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    for (const instance of instances) await deps.provisioner.cleanup(instance).catch(() => undefined);
  }
  timings.totalSeconds = elapsed(started);
  return finishDrill(deps, chosen, {
    execution,
    differences,
    ...(snapshot ? { snapshot } : {}),
    ...(reachedGtids !== undefined ? { reachedGtids } : {}),
    ...(error !== undefined ? { error } : {}),
    timings,
    startedAt: started,
  });
};

/** A drill's execution name: unique even for two drills started in the same second. */
export const newDrillExecution = (clock: Clock): string => `drill-${compactStamp(clock.now())}-${randomBytes(3).toString('hex')}`;

/** The window a drill proves, its plan (the earlier dump and the binlogs to the later dump's coordinates), and the later dump's load plan. */
export interface ChosenWindow {
  host: string;
  from: ProvableDump;
  to: ProvableDump;
  plan: RestorePlan;
  later: RestorePlan;
}

/**
 * Reads the host's catalog and chooses the window: the one ending at `request.window`, else the
 * newest whose binlogs are all shipped. Refused (RestoreRefusedError) with fewer than two verified
 * dumps or no such window; DrillNotReadyError when the window exists but cannot be drilled yet.
 */
export const chooseDrillWindow = async (deps: Pick<DrillDeps, 'store' | 'prefix' | 'clock'>, request: DrillRequest): Promise<ChosenWindow> => {
  const scope = { prefix: deps.prefix, host: request.host };
  const manifests = await readCatalogParts(deps.store, scope);
  if (manifests.length === 0) throw new RestoreRefusedError(`no catalog for host '${request.host}': nothing was shipped, or run binvault catalog rebuild`);
  const { binlogs, dumps } = summariesOf(manifests);
  const catalog = catalogOf(scope, manifests, deps.clock.now(), {});
  const windows = drillWindows(catalog, binlogs, dumps);
  // The catalog function starts an every-dump drill only once its dump is catalogued: no window means
  // fewer than two verified dumps, not a dump on its way.
  const named = (key: string): boolean => key === request.window || key.endsWith(`/${request.window ?? ''}`);
  if (windows.length === 0) {
    // A window asked for by a name no dump has is a mistake to say, not a host too new to drill.
    if (request.window && !dumps.some((d) => named(d.key))) throw new RestoreRefusedError(`no dump of ${request.host} is named '${request.window}'`);
    throw new NothingToDrillError(`a drill needs two verified dumps of ${request.host}; it has ${dumps.filter(provable).length}`);
  }
  const chosen = request.window
    ? windows.find((w) => named(w.to.key))
    : (windows.find((w) => w.plan) ?? windows[0]);
  if (!chosen) {
    const message = `no window of ${request.host} ends at a dump '${request.window ?? ''}': ${windows.map((w) => w.to.key.split('/').pop()).join(', ')}`;
    // A dump named by its event (every-dump) may not be verified and catalogued yet.
    throw dumps.some((d) => named(d.key)) ? new DrillNotReadyError(message) : new RestoreRefusedError(message);
  }
  if (!chosen.plan) throw new DrillNotReadyError(`the window ${chosen.from.completedAt} → ${chosen.to.completedAt} of ${request.host} cannot be drilled yet: ${chosen.refused ?? ''}`);
  const plan = chosen.plan;
  const later: RestorePlan = { ...plan, dump: { ...plan.dump, key: chosen.to.key, completedAt: chosen.to.completedAt, binlogFile: chosen.to.binlogFile, binlogPosition: chosen.to.binlogPosition }, binlogs: [] };
  return { host: request.host, from: chosen.from, to: chosen.to, plan, later };
};

/** The later dump says which GTIDs it holds: the replay must have reached exactly those (else what the plan expected). */
export const gtidDifferences = (chosen: Pick<ChosenWindow, 'to'>, reached: string, expected?: string): DrillDifference[] => {
  if (chosen.to.gtids && !sameGtids(reached, chosen.to.gtids)) {
    return [{ kind: 'definition', name: 'gtid', message: `the restore reached GTID ${reached || '(none)'}, the later dump holds ${chosen.to.gtids}` }];
  }
  if (expected !== undefined && !sameGtids(reached, expected)) {
    return [{ kind: 'definition', name: 'gtid', message: `the restore reached GTID ${reached || '(none)'}, the plan expected ${expected}` }];
  }
  return [];
};

/** What a drill found, however it ran (in-process, or the drill state machine's tasks). */
export interface DrillOutcome {
  execution: string;
  differences: DrillDifference[];
  /** The restored instance's snapshot (the tables and definitions compared). */
  snapshot?: InstanceSnapshot;
  reachedGtids?: string;
  error?: string;
  timings: DrillRecord['timings'];
  startedAt: Date;
}

/**
 * The end of every drill: its record written, a proven drill's load and replay rates kept for the
 * RTO budget, and `drill-failed` reconciled (announced when a drill fails, cleared when one proves
 * its window). Writing the same record again changes nothing (a retried task).
 */
export const finishDrill = async (deps: Pick<DrillDeps, 'store' | 'prefix' | 'alerts' | 'clock'>, chosen: Pick<ChosenWindow, 'host' | 'from' | 'to' | 'plan'>, outcome: DrillOutcome): Promise<DrillRecord> => {
  const scope = { prefix: deps.prefix, host: chosen.host };
  const { plan } = chosen;
  const { execution, differences, snapshot, error, timings } = outcome;
  const record: DrillRecord = {
    recordVersion: 1,
    kind: 'drill',
    host: chosen.host,
    execution,
    result: error === undefined && differences.length === 0 ? 'proven' : 'failed',
    window: { from: chosen.from.completedAt, to: chosen.to.completedAt },
    dumps: { from: chosen.from.key, to: chosen.to.key },
    binlogs: plan.binlogs.map((b) => b.name),
    binlogKeys: plan.binlogs.map((b) => b.key),
    stop: { binlogFile: chosen.to.binlogFile, position: chosen.to.binlogPosition },
    ...(outcome.reachedGtids !== undefined ? { gtids: { reached: outcome.reachedGtids, ...(chosen.to.gtids ? { laterDump: chosen.to.gtids } : {}) } } : {}),
    tables: snapshot ? Object.keys(snapshot.tables).length : 0,
    definitions: snapshot ? Object.keys(snapshot.definitions).length : 0,
    withoutPrimaryKey: snapshot ? Object.entries(snapshot.tables).filter(([, t]) => !t.primaryKey).map(([n]) => n) : [],
    differences,
    ...(error !== undefined ? { error } : {}),
    timings,
    startedAt: isoSeconds(outcome.startedAt.getTime() / 1000),
    finishedAt: isoSeconds(deps.clock.now().getTime() / 1000),
  };
  await deps.store.put(drillKey(scope, chosen.to.day, execution), JSON.stringify(record, null, 2), { contentType: 'application/json' });
  // A proven drill measured a restore of this host: the RTO budget estimates the next one from it.
  if (record.result === 'proven') {
    const { dumpBytes, binlogBytes } = await storedSizes(deps.store, plan);
    await recordRates(deps.store, scope, {
      execution,
      at: deps.clock.now(),
      load: { bytes: dumpBytes, seconds: timings.loadSeconds },
      replay: { bytes: binlogBytes, seconds: timings.replaySeconds },
    }).catch(() => undefined);
  }
  // One condition, "the last drill failed": announced when a drill fails, cleared when one proves its window.
  const conditions: Condition[] = [];
  if (record.result === 'failed') {
    const range = record.binlogs.length > 0 ? `${record.binlogs[0] ?? ''} … ${record.binlogs.at(-1) ?? ''}` : 'no binlog';
    const what = error ?? `${differences.length} difference${differences.length === 1 ? '' : 's'}: ${differences.slice(0, 3).map((d) => d.message).join('; ')}${differences.length > 3 ? '; …' : ''}`;
    conditions.push({
      id: 'drill-failed',
      type: 'drill-failed',
      severity: 'critical',
      message: `drill of ${chosen.host} ${record.window.from} → ${record.window.to} (binlogs ${range}) failed: ${what}`,
      details: { execution, key: drillKey(scope, chosen.to.day, execution) },
    });
  }
  await reconcileAlerts(deps, scope, conditions, ['drill-failed']);
  return record;
};

/**
 * The newest drill record of a host and the newest that proved its window: listed, then read newest
 * first and no further than the first proven one (the watchdog reads this every pass).
 */
export const drillHistory = async (store: ObjectStore, scope: { prefix: string; host: string }): Promise<{ last?: DrillRecord; lastProven?: DrillRecord; lastProvenAt?: string }> => {
  const listed = (await store.list(areaRoot(scope, 'drills'))).keys.filter((k) => parseKey(k.key)?.area === 'drills');
  // Newest written first (a record is written when its drill finishes; an earlier window drilled
  // again is newer than its day says), read until one proved its window.
  listed.sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0) || b.key.localeCompare(a.key));
  const records: DrillRecord[] = [];
  for (const { key } of listed) {
    const record = JSON.parse((await store.getBytes(key)).toString('utf8')) as DrillRecord;
    records.push(record);
    if (record.result === 'proven') break;
  }
  const byFinish = records.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
  const lastProven = byFinish.find((r) => r.result === 'proven');
  return { ...(byFinish[0] ? { last: byFinish[0] } : {}), ...(lastProven ? { lastProven, lastProvenAt: lastProven.finishedAt } : {}) };
};

