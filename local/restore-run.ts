import { join } from 'node:path';
import { RestoreFailedError, RestoreRefusedError, UsageError } from '../core/errors.js';
import type { Alerts, ApplyProgress, Clock, ObjectStore } from '../core/ports.js';
import type { RestorePlan } from '../core/restore/plan.js';
import { restoreTasks, type RestoreRequest, type RestoreState } from '../core/restore/workflow.js';
import { LocalApplier, LocalProvisioner } from '../drivers/local/restore.js';
import { restoreDefinition, runLocalStateMachine, type LocalExecutionEvent } from './stepfunctions.js';

export interface LocalRestoreOptions {
  store: ObjectStore;
  prefix: string;
  timeZone: string;
  /** Restored instances live in `{stateDir}/restores/{execution}`. */
  stateDir: string;
  alerts: Alerts;
  clock: Clock;
  onEvent?: (event: LocalExecutionEvent) => void;
  onProgress?: (progress: ApplyProgress) => void;
  /** The plan, once the Plan task made it (its estimate gives the progress its time left). */
  onPlan?: (plan: RestorePlan) => void;
}

/**
 * Runs the restore state machine (infra/restore.asl.json) in-process with the local task handlers:
 * the same definition AWS runs, into a fresh local instance. Resolves with the final state, or
 * throws RestoreFailedError with the first task error's message; a refusal (a request that is not
 * one, a target outside every window) is thrown as it was, with its own exit code: nothing was attempted.
 */
export const runLocalRestore = async (options: LocalRestoreOptions, request: RestoreRequest): Promise<RestoreState> => {
  const tasks = restoreTasks({
    store: options.store,
    prefix: options.prefix,
    timeZone: options.timeZone,
    provisioner: new LocalProvisioner(options.stateDir),
    applier: new LocalApplier(options.store, join(options.stateDir, 'restore-work'), options.onProgress),
    alerts: options.alerts,
    clock: options.clock,
  });
  let failure: Error | undefined;
  const handlers = Object.fromEntries(
    Object.entries(tasks).map(([name, fn]) => [
      name,
      async (input: never) => {
        try {
          const output = await (fn as (i: never) => Promise<unknown>)(input);
          if (name === 'Plan') options.onPlan?.(output as RestorePlan);
          return output;
        } catch (error) {
          failure ??= error as Error;
          throw error;
        }
      },
    ]),
  );
  try {
    return (await runLocalStateMachine(restoreDefinition(), request, handlers, options.onEvent ? { onEvent: options.onEvent } : {})) as RestoreState;
  } catch (error) {
    if (failure instanceof RestoreRefusedError || failure instanceof UsageError) throw failure;
    throw new RestoreFailedError(`restore failed: ${(failure ?? (error as Error)).message}`, { cause: error });
  }
};
