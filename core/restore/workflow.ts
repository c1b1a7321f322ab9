import { randomBytes } from 'node:crypto';
import { catalogOf, readCatalogParts, summariesOf } from '../catalog/manifests.js';
import { InputError, RestoreRefusedError, VerificationError } from '../errors.js';
import { MysqlGtidSet, formatMariadbGtid, parseMariadbGtids } from '../gtid.js';
import { hostRoot, restoreKey } from '../layout.js';
import { compactStamp } from '../time.js';
import { checkGtidTarget, parseRestoreTime, planRestore, type RestorePlan, type RestoreTarget } from './plan.js';
import { estimateRto, readRates, recordRates } from './rto.js';
import { scanPlanBinlogs } from './scan.js';
import { sizeRestoreInstance } from './sizing.js';
import type { Alerts, Applier, Clock, ExpectedReach, ObjectStore, ProvisionedInstance, Provisioner, StepStatus } from '../ports.js';

/** The restore's input as Step Functions receives it (console, CLI or StartExecution). */
export interface RestoreRequest {
  host?: string;
  target?: { time?: string; gtid?: string; mode?: 'before' | 'after'; latest?: boolean };
  databases?: string[];
  dryRun?: boolean;
  execution?: string;
}

export interface ValidatedRequest {
  host: string;
  target: RestoreTarget;
  databases?: string[];
  dryRun: boolean;
  execution: string;
}

/** The state the machine carries from task to task (each task adds its ResultPath). */
export interface RestoreState extends RestoreRequest {
  request: ValidatedRequest;
  plan: RestorePlan;
  instance: ProvisionedInstance;
  load: StepStatus;
  replay: StepStatus;
  verification: Verification;
  /** CleanupStrays: the execution's other instances, terminated (a retried Provision's). */
  strays?: CleanupResult;
  /** CleanupStrays failed after its retries: an instance of the execution may still run. */
  straysError?: { Error: string; Cause: string };
  error?: { Error: string; Cause: string };
}

/** What Cleanup removed: the instance by id (`cleaned`), and the execution's others found by tag. */
export interface CleanupResult {
  cleaned: boolean;
  terminated?: string[];
}

export interface Verification {
  ok: boolean;
  expected: ExpectedReach;
  reached: { gtids: string; time?: string; binlogFile?: string; binlogPosition?: number };
  checks: string[];
}

export interface RestoreDeps {
  store: ObjectStore;
  prefix: string;
  timeZone: string;
  provisioner: Provisioner;
  applier: Applier;
  alerts: Alerts;
  clock: Clock;
}

/** One plain function per state of infra/restore.asl.json, by state name. */
export const restoreTasks = (deps: RestoreDeps) => ({
  ValidateInput: async (input: RestoreRequest): Promise<ValidatedRequest> => {
    const t = input.target ?? {};
    const given = [t.time !== undefined, t.gtid !== undefined, t.latest === true].filter(Boolean).length;
    // What a person typed wrong is refused here, before anything is read or written (exit 2 from the CLI).
    if (given !== 1) throw new InputError('give exactly one target: {"time": …}, {"gtid": …, "mode": "before"|"after"} or {"latest": true}');
    if (!input.host || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(input.host)) throw new InputError(`'${input.host ?? ''}' is not a host name`);
    let target: RestoreTarget;
    if (t.time !== undefined) target = { time: parseRestoreTime(t.time, deps.timeZone) };
    else if (t.gtid !== undefined) {
      if (t.mode !== undefined && t.mode !== 'before' && t.mode !== 'after') throw new InputError(`mode '${String(t.mode)}' is neither before nor after`);
      checkGtidTarget(t.gtid.trim());
      target = { gtid: t.gtid.trim(), mode: t.mode ?? 'after' };
    } else target = { latest: true };
    if (input.databases !== undefined) {
      const list: unknown = input.databases;
      if (!Array.isArray(list) || list.length === 0 || !list.every((d) => typeof d === 'string' && d !== '' && d.length <= 64 && !d.includes(','))) {
        throw new InputError(`"databases" must be a list of database names (1 to 64 characters, no comma): ${JSON.stringify(list)}`);
      }
    }
    return {
      host: input.host,
      target,
      ...(input.databases ? { databases: input.databases } : {}),
      dryRun: input.dryRun === true,
      // Unique even for two restores started in the same second: it names the instance's directory and the report.
      execution: input.execution ?? `restore-${compactStamp(deps.clock.now())}-${randomBytes(3).toString('hex')}`,
    };
  },

  Plan: async (state: Pick<RestoreState, 'request'>): Promise<RestorePlan> => {
    const { request } = state;
    const scope = { prefix: deps.prefix, host: request.host };
    const manifests = await readCatalogParts(deps.store, scope);
    if (manifests.length === 0) throw new RestoreRefusedError(`no catalog for host '${request.host}': nothing was shipped, or run binvault catalog rebuild`);
    const { binlogs, dumps } = summariesOf(manifests);
    const catalog = catalogOf(scope, manifests, deps.clock.now(), {});
    const planned = planRestore({ catalog, binlogs, dumps, target: request.target, ...(request.databases ? { databases: request.databases } : {}) });
    if (request.databases) await checkSelection(deps.store, planned, request.databases);
    const { dumpBytes: dumpSize, binlogBytes, missing } = await storedSizes(deps.store, planned);
    refuseMissing(missing);
    const bytes = dumpSize + binlogBytes;
    // The RTO budget's estimate (core/restore/rto.ts), at the rates restores of this host measured.
    const estimate = estimateRto({ dump: { key: planned.dump.key, bytes: dumpSize }, binlogBytes: bytes - dumpSize, binlogs: planned.binlogs.length }, await readRates(deps.store, scope));
    const sized: RestorePlan = {
      ...planned,
      dump: { ...planned.dump, size: dumpSize },
      bytes,
      estimatedSeconds: Math.max(1, estimate.seconds),
      estimate: { loadSeconds: estimate.loadSeconds, replaySeconds: estimate.replaySeconds, rates: estimate.rates.source },
    };
    // A dry run changes nothing; a real restore's steps (on AWS, `restore apply --plan`) read the plan from here.
    if (!request.dryRun) await deps.store.put(restoreKey(scope, request.execution, 'plan.json'), JSON.stringify(sized, null, 2), { contentType: 'application/json' });
    return sized;
  },

  Provision: async (state: Pick<RestoreState, 'request'> & Partial<Pick<RestoreState, 'plan'>>): Promise<ProvisionedInstance> =>
    deps.provisioner.provision(state.request.execution, state.plan ? sizeRestoreInstance(state.plan) : undefined),

  LoadDump: async (state: Pick<RestoreState, 'request' | 'plan' | 'instance'>): Promise<StepStatus> =>
    withWait(await deps.applier.load(state.plan, state.instance, state.request.execution)),

  ReplayBinlogs: async (state: Pick<RestoreState, 'request' | 'plan' | 'instance'>): Promise<StepStatus> =>
    withWait(await deps.applier.replay(state.plan, state.instance, state.request.execution)),

  CheckStep: async (input: { execution: string; instance: ProvisionedInstance; step: StepStatus }): Promise<StepStatus> =>
    withWait(await deps.applier.check(input.step, input.instance, input.execution), input.step.wait),

  Verify: async (state: Pick<RestoreState, 'request' | 'plan' | 'instance' | 'replay'>): Promise<Verification> => {
    const expected = state.replay.expected ?? { gtids: state.plan.dump.gtids ?? '', events: 0 };
    // What the server says now: the GTID position its applier recorded, transaction by transaction.
    const reached = await deps.applier.reached(state.instance, state.request.execution);
    const checks: string[] = [];
    const problems: string[] = [];
    const stopped = state.replay.reached;
    if (stopped) checks.push(`the applier stopped at ${stopped.binlogFile}:${stopped.binlogPosition}, before the first transaction the target leaves out`);
    if (expected.gtids !== '' || reached.gtids !== '') {
      if (sameGtids(reached.gtids, expected.gtids)) checks.push(`GTID position ${reached.gtids} is the dump's moved on by every transaction at or before the target (${expected.transactions ?? '?'} transactions)`);
      else problems.push(`the server reached GTID ${reached.gtids || '(none)'}, the plan expected ${expected.gtids || '(none)'}`);
    }
    if (expected.time && Date.parse(expected.time) > Date.parse(state.plan.targetTime) + 999) {
      problems.push(`events after the target were applied (${expected.time} > ${state.plan.targetTime})`);
    } else if (expected.time) checks.push(`the last event applied is at ${expected.time}, not after the target ${state.plan.targetTime}`);
    if (problems.length > 0) throw new VerificationError(`the restore did not reach its target: ${problems.join('; ')}`);
    return {
      ok: true,
      expected,
      reached: { gtids: reached.gtids, ...(expected.time ? { time: expected.time } : {}), ...(expected.binlogFile ? { binlogFile: expected.binlogFile } : {}), ...(expected.binlogPosition !== undefined ? { binlogPosition: expected.binlogPosition } : {}) },
      checks,
    };
  },

  Report: async (state: RestoreState): Promise<{ key: string; connect?: string }> => {
    const key = restoreKey({ prefix: deps.prefix, host: state.request.host }, state.request.execution, 'report.json');
    const report = restoreReport(state, 'succeeded');
    const warning = strayWarning(state);
    await deps.store.put(key, JSON.stringify(report, null, 2), { contentType: 'application/json' });
    // What this restore measured is what the RTO budget estimates the next one from (stored bytes a
    // second); the restore succeeded whether or not its measurement could be kept.
    const dumpBytes = state.plan.dump.size ?? 0;
    await recordRates(deps.store, { prefix: deps.prefix, host: state.request.host }, {
      execution: state.request.execution,
      at: deps.clock.now(),
      ...(state.load?.seconds !== undefined ? { load: { bytes: dumpBytes, seconds: state.load.seconds } } : {}),
      ...(state.replay?.seconds !== undefined ? { replay: { bytes: state.plan.bytes - dumpBytes, seconds: state.replay.seconds } } : {}),
    }).catch(() => undefined);
    await deps.alerts.publish({
      type: 'restore-succeeded',
      host: state.request.host,
      severity: 'info',
      message: `restored ${state.request.host} to ${state.plan.targetTime} on ${state.instance.host}:${state.instance.port} (${state.instance.kind} ${state.instance.id})${state.instance.connect ? `; connect: ${state.instance.connect}` : ''}${warning ? `; ${warning}` : ''}`,
      at: deps.clock.now().toISOString(),
      execution: state.request.execution,
    });
    return { key, ...(state.instance.connect ? { connect: state.instance.connect } : {}) };
  },

  /**
   * The instance removed: by id, then by tag any other instance of the execution (one a failed or
   * retried Provision started; `$.instance` is absent after Provision's Catch). With `keep` (the
   * CleanupStrays state of a restore that succeeded: `$.instance.id`), only the others: the instance
   * the restore delivered is never terminated.
   */
  Cleanup: async (state: Partial<RestoreState> & { keep?: string }): Promise<CleanupResult> => {
    const removed = state.instance && state.instance.id !== state.keep ? state.instance : undefined;
    if (removed) await deps.provisioner.cleanup(removed);
    const except = [...(removed ? [removed.id] : []), ...(state.keep ? [state.keep] : [])];
    const execution = state.request?.execution;
    const tagged = execution && deps.provisioner.cleanupExecutions ? await deps.provisioner.cleanupExecutions([execution], except) : [];
    if (tagged.length === 0) return { cleaned: removed !== undefined };
    return { cleaned: true, terminated: tagged };
  },

  /**
   * A restore that failed: its report, and one `restore-failed` alert. A refused one (input that is
   * not a request, a target outside every window, a host with nothing shipped) alerts nobody: nothing
   * was attempted. A dry run changes nothing, failed or not. The report is written only under a host
   * that has something in the bucket, so a mistyped `--host` leaves no trace there (nor in `status`).
   */
  ReportFailure: async (state: Partial<RestoreState> & RestoreRequest): Promise<{ key?: string }> => {
    const host = state.request?.host ?? state.host ?? 'unknown';
    const execution = state.request?.execution ?? state.execution ?? 'unknown';
    const cause = describeCause(state.error);
    // ValidateInput only judges the input: whatever it threw, the request was refused.
    const refused = !state.request || REFUSALS.has(state.error?.Error ?? '');
    const dryRun = state.request?.dryRun ?? state.dryRun === true;
    const report = { ...restoreReport(state, refused ? 'refused' : 'failed'), error: { name: state.error?.Error ?? 'Error', message: cause } };
    let key: string | undefined;
    if (state.request && !dryRun && (await isKnownHost(deps.store, { prefix: deps.prefix, host }))) {
      key = restoreKey({ prefix: deps.prefix, host }, execution, 'report.json');
      await deps.store.put(key, JSON.stringify(report, null, 2), { contentType: 'application/json' });
    }
    if (!refused && !dryRun) {
      await deps.alerts.publish({
        type: 'restore-failed',
        host,
        severity: 'critical',
        message: `restore of ${host} failed: ${cause}${state.instance ? ' (the new instance was removed)' : ''}`,
        at: deps.clock.now().toISOString(),
        execution,
      });
    }
    return key ? { key } : {};
  },
});

/**
 * The pause before the next status check of a step in progress: 30 s, doubling to 15 minutes. A
 * 48-hour load is then about 200 checks, some 1,800 history events (3,500 with a 48-hour replay): far from Step Functions'
 * 25,000, while a short step is seen done within a minute.
 */
export const nextWait = (previous?: number): number => (previous === undefined ? FIRST_WAIT : Math.min(LONGEST_WAIT, previous * 2));
export const FIRST_WAIT = 30;
export const LONGEST_WAIT = 900;

const withWait = (step: StepStatus, previous?: number): StepStatus => {
  if (step.status !== 'InProgress') {
    const { wait: _, ...done } = step;
    return done;
  }
  return { ...step, wait: nextWait(previous) };
};

/**
 * What a succeeded restore says when CleanupStrays failed after its retries: another instance of the
 * execution may still run, and how to find it. Undefined when it did not fail.
 */
const strayWarning = (state: Partial<RestoreState>): string | undefined =>
  state.straysError && state.request && state.instance
    ? `an instance tagged binvault:execution=${state.request.execution} other than ${state.instance.id} may still run (terminating it failed: ${describeCause(state.straysError)})`
    : undefined;

/** The errors that refuse a request before anything is attempted (by name: Step Functions hands over names). */
const REFUSALS = new Set(['RestoreRefusedError', 'InputError']);

/** Whether the host has anything in the bucket (one listing by delimiter: its areas, not its objects). */
const isKnownHost = async (store: ObjectStore, scope: { prefix: string; host: string }): Promise<boolean> => {
  const listed = await store.list(`${hostRoot(scope)}/`, { delimiter: '/' });
  return listed.prefixes.length > 0 || listed.keys.length > 0;
};

export type RestoreTasks = ReturnType<typeof restoreTasks>;

/**
 * A restore of selected databases is refused, before anything is provisioned, when the dump cannot
 * give them alone or a transaction it would replay touches one of them and another database too:
 * replaying it in part would change the data, and skipping it would lose it.
 */
const checkSelection = async (store: ObjectStore, plan: RestorePlan, selected: string[]): Promise<void> => {
  const inDump = plan.dump.databases ?? [];
  if (inDump.length === 0) {
    throw new RestoreRefusedError(`the dump ${store.url(plan.dump.key)} has no sections per database (one database dumped without --databases): restore the whole server`);
  }
  const missing = selected.filter((d) => !inDump.includes(d));
  if (missing.length > 0) throw new RestoreRefusedError(`the dump ${store.url(plan.dump.key)} holds no database ${missing.map((d) => `'${d}'`).join(', ')} (it holds ${inDump.join(', ')})`);
  const { crossings, crossingCount } = await scanPlanBinlogs(store, plan, { selected, known: inDump });
  const first = crossings[0];
  if (first) {
    throw new RestoreRefusedError(
      `restoring only ${selected.join(', ')} would replay part of a transaction: at ${first.binlogFile}:${first.position} one touches ${first.databases.join(' and ')}` +
        `${first.statement ? ` (${first.statement})` : ''}${crossingCount > 1 ? `, and ${crossingCount - 1} more` : ''}; restore ${first.databases.join(', ')} together, or the whole server`,
    );
  }
};

/** What a plan's dump and binlogs take as stored (a HEAD each); an object gone counts 0 and is named in `missing`. */
export const storedSizes = async (
  store: ObjectStore,
  plan: Pick<RestorePlan, 'dump' | 'binlogs'>,
): Promise<{ dumpBytes: number; binlogBytes: number; missing: string[] }> => {
  const missing: string[] = [];
  const sizeOf = async (key: string): Promise<number> => {
    const head = await store.head(key);
    if (!head) missing.push(key);
    return head?.size ?? 0;
  };
  const dumpBytes = await sizeOf(plan.dump.key);
  let binlogBytes = 0;
  for (const b of plan.binlogs) binlogBytes += await sizeOf(b.key);
  return { dumpBytes, binlogBytes, missing };
};

/**
 * A plan whose objects are not all in the bucket is refused before anything is provisioned: a catalog
 * rebuilt from records whose objects retention (or a person) deleted since would otherwise send a
 * restore to load a dump that is not there.
 */
export const refuseMissing = (missing: string[]): void => {
  if (missing.length === 0) return;
  throw new RestoreRefusedError(
    `the plan needs ${missing.length === 1 ? 'an object' : `${missing.length} objects`} the bucket no longer holds (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}): deleted after it was catalogued; the next retention run removes it from the catalog`,
  );
};

/** Two GTID positions are the same: MariaDB's per domain in any order, MySQL's as sets (any formatting). */
export const sameGtids = (a: string, b: string): boolean => {
  if (/^[0-9a-f]{8}-/i.test(a.trim()) || /^[0-9a-f]{8}-/i.test(b.trim())) return MysqlGtidSet.parse(a).equals(MysqlGtidSet.parse(b));
  const norm = (s: string): string => parseMariadbGtids(s).map(formatMariadbGtid).sort().join(',');
  return norm(a) === norm(b);
};

/** Step Functions hands a task's error over as `{Error, Cause}`, the cause often the JSON of the error. */
export const describeCause = (error: { Error: string; Cause: string } | undefined): string => {
  if (!error) return 'unknown error';
  try {
    const parsed = JSON.parse(error.Cause) as { errorMessage?: string; message?: string };
    return parsed.errorMessage ?? parsed.message ?? error.Cause;
  } catch {
    return error.Cause || error.Error;
  }
};

/** The design's restore report: plan, reached, timings, verification, instance (never a password). */
export const restoreReport = (state: Partial<RestoreState>, status: 'succeeded' | 'failed' | 'refused' | 'planned'): Record<string, unknown> => ({
  status,
  execution: state.request?.execution,
  host: state.request?.host,
  target: state.request?.target,
  plan: state.plan
    ? {
        targetTime: state.plan.targetTime,
        dump: state.plan.dump,
        binlogs: state.plan.binlogs.map((b) => b.name),
        startPosition: state.plan.startPosition,
        stop: state.plan.stop,
        bytes: state.plan.bytes,
        estimatedSeconds: state.plan.estimatedSeconds,
        ...(state.plan.estimate ? { estimate: state.plan.estimate } : {}),
      }
    : undefined,
  reached: state.verification?.reached,
  timings: { loadSeconds: state.load?.seconds, replaySeconds: state.replay?.seconds },
  verification: state.verification ? { ok: state.verification.ok, checks: state.verification.checks } : undefined,
  instance: state.instance
    ? {
        host: state.instance.host,
        port: state.instance.port,
        socket: state.instance.socket,
        user: state.instance.user,
        defaultsFile: state.instance.defaultsFile,
        dataDir: state.instance.dataDir,
        kind: state.instance.kind,
        id: state.instance.id,
        ...(state.instance.connect ? { connect: state.instance.connect } : {}),
      }
    : undefined,
  ...(state.strays?.terminated ? { strays: { terminated: state.strays.terminated } } : {}),
  ...(state.straysError ? { warning: strayWarning(state) } : {}),
});
