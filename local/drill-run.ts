import { join } from 'node:path';
import { RestoreFailedError } from '../core/errors.js';
import { drillKey } from '../core/layout.js';
import type { Alerts, ApplyProgress, Clock, ObjectStore } from '../core/ports.js';
import { runDrill, type DrillRecord, type DrillRequest } from '../core/restore/drill.js';
import { drillTasks, isDrillRefusal, type DrillInput, type DrillState, type SkippedDrillOutput } from '../core/restore/drill-workflow.js';
import { LocalApplier, LocalProvisioner, LocalSnapshotter } from '../drivers/local/restore.js';
import { MysqlInstanceReader } from '../drivers/mysql/compare.js';
import { drillDefinition, runLocalStateMachine, type LocalExecutionEvent } from './stepfunctions.js';

export interface LocalDrillOptions {
  store: ObjectStore;
  prefix: string;
  /** The drill's two instances live in `{stateDir}/restores/{execution}-restored|-dump`, removed at the end. */
  stateDir: string;
  alerts: Alerts;
  clock: Clock;
  onProgress?: (progress: ApplyProgress) => void;
  onEvent?: (event: LocalExecutionEvent) => void;
}

/** A drill on this machine: both instances from the binaries on PATH, the load and replay in-process. */
export const runLocalDrill = (options: LocalDrillOptions, request: DrillRequest): Promise<DrillRecord> =>
  runDrill(
    {
      store: options.store,
      prefix: options.prefix,
      provisioner: new LocalProvisioner(options.stateDir),
      applier: new LocalApplier(options.store, join(options.stateDir, 'restore-work'), options.onProgress),
      reader: new MysqlInstanceReader(),
      alerts: options.alerts,
      clock: options.clock,
    },
    request,
  );

/**
 * The drill state machine (infra/drill.asl.json, the definition AWS runs) in-process with local task
 * handlers: two local servers, the snapshots written to the bucket as the AWS instances write them.
 * Resolves with the drill's record (proven or failed, as the record says), or with the execution's
 * `skipped` output when the host has nothing to drill yet (fewer than two verified dumps: the
 * execution succeeds). A refusal (no such window, a window not drillable yet, input that is not a
 * drill's) is thrown as it was: nothing was attempted. Any other failure: RestoreFailedError with the
 * first task error's message, after the failed record.
 */
export const runLocalDrillMachine = async (options: LocalDrillOptions & { pauseMs?: number }, input: DrillInput): Promise<LocalDrillResult> => {
  const tasks = drillTasks({
    store: options.store,
    prefix: options.prefix,
    provisioner: new LocalProvisioner(options.stateDir),
    applier: new LocalApplier(options.store, join(options.stateDir, 'restore-work'), options.onProgress),
    snapshots: new LocalSnapshotter(options.store, new MysqlInstanceReader()),
    alerts: options.alerts,
    clock: options.clock,
  });
  let failure: Error | undefined;
  let state: DrillState | undefined;
  const wrap =
    <I, O>(fn: (input: I) => Promise<O>) =>
    async (input: I): Promise<O> => {
      try {
        return await fn(input);
      } catch (error) {
        failure ??= error as Error;
        throw error;
      }
    };
  // By state name: the Check and Cleanup states share one function each on AWS.
  const handlers = {
    DrillPlan: wrap(tasks.DrillPlan),
    Provision: wrap(tasks.Provision),
    LoadDumps: wrap(tasks.LoadDumps),
    CheckLoads: wrap(tasks.CheckSteps),
    ReplayBinlogs: wrap(tasks.ReplayBinlogs),
    CheckReplay: wrap(tasks.CheckSteps),
    RetireLater: wrap(tasks.RetireLater),
    Snapshot: wrap(tasks.Snapshot),
    CheckSnapshots: wrap(tasks.CheckSteps),
    Compare: wrap(async (s: DrillState) => {
      state = s;
      return tasks.Compare(s);
    }),
    // Its input has the record's outcome: kept for a drill that found differences (DrillFailed ends the execution).
    CleanupAfterCompare: async (s: DrillState) => {
      state = s;
      return tasks.Cleanup(s);
    },
    Cleanup: tasks.Cleanup,
    ReportFailure: async (s: DrillState) => {
      state = s;
      return tasks.ReportFailure(s);
    },
  };
  try {
    const final = (await runLocalStateMachine(drillDefinition(), input, handlers as never, { pauseMs: options.pauseMs ?? 0, ...(options.onEvent ? { onEvent: options.onEvent } : {}) })) as DrillState | SkippedDrillOutput;
    if ('result' in final && final.result === 'skipped') return { skipped: final };
    state = final as DrillState;
  } catch (error) {
    // DrillFailed: a record exists unless it was refused.
    if (failure && isDrillRefusal(failure)) throw failure;
    if (!state?.drill) throw new RestoreFailedError(`drill failed: ${(failure ?? (error as Error)).message}`, { cause: error });
  }
  const drill = state?.drill;
  if (!drill) throw new RestoreFailedError('drill failed: no plan');
  const record = JSON.parse((await options.store.getBytes(drillKey({ prefix: options.prefix, host: drill.host }, drill.day, drill.execution))).toString('utf8')) as DrillRecord;
  return { state: state as DrillState, record };
};

/** A drill state machine run to its end: the record it wrote, or the execution's skipped output. */
export type LocalDrillResult = { state: DrillState; record: DrillRecord; skipped?: undefined } | { skipped: SkippedDrillOutput; state?: undefined; record?: undefined };
