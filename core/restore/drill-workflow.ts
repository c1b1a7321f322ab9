import { DrillNotReadyError, InputError, NothingToDrillError, RestoreRefusedError } from '../errors.js';
import { drillKey, drillSnapshotKey, restoreKey } from '../layout.js';
import { DRILL_NAME_MAX } from './drill-start.js';
import type { Alerts, Applier, Clock, InstanceSnapshot, ObjectStore, ProvisionedInstance, Provisioner, Snapshotter, StepStatus } from '../ports.js';
import { chooseDrillWindow, compareSnapshots, finishDrill, gtidDifferences, newDrillExecution, type ProvableDump } from './drill.js';
import type { RestorePlan } from './plan.js';
import { sizeRestoreInstance } from './sizing.js';
import { describeCause, nextWait, refuseMissing, storedSizes } from './workflow.js';

/** The drill state machine's input (infra/drill.asl.json): a host, and optionally the window's later dump. */
export interface DrillInput {
  host?: string;
  /** The later dump of the window (its key or file name); default: the newest window whose binlogs are all shipped. */
  window?: string;
  /** The drill's name (its record, its instances' tag); the schedule and the catalog pass the execution's name. */
  execution?: string;
}

/** The two instances of a drill: the earlier dump restored and replayed, and the later dump loaded. */
export type DrillSide = 'restored' | 'dump';

/** What DrillPlan hands on (small: the plans themselves are in the bucket, under each side's restores/{execution}-{side}/plan.json). */
export interface PlannedDrill {
  host: string;
  execution: string;
  /** The `{day}` folder of the later dump: where the record and the snapshots go. */
  day: string;
  from: ProvableDump;
  to: ProvableDump;
  startedAt: string;
}

/**
 * What DrillPlan hands on when the host has nothing to drill yet (fewer than two verified dumps): the
 * execution ends succeeded with `{result: 'skipped', host, message: 'skipped: …'}` (the NothingToDrill
 * state), neither a record nor drill-failed: a new host's weekly drill is not a failure.
 */
export interface SkippedDrill {
  host: string;
  skipped: string;
}

/** The drill state machine's output when it skipped (infra/drill.asl.json NothingToDrill). */
export interface SkippedDrillOutput {
  result: 'skipped';
  host: string;
  /** `skipped: ` and why. */
  message: string;
}

/** The drill's instances, and how long they took to start. */
export type DrillInstances = Partial<Record<DrillSide, ProvisionedInstance>> & { seconds?: number };

/** Steps running on both instances at once (or one): in progress while either is. */
export interface DrillSteps {
  status: 'InProgress' | 'Success';
  steps: Partial<Record<DrillSide, StepStatus>>;
  wait?: number;
}

export interface DrillState extends DrillInput {
  drill: PlannedDrill;
  instances: DrillInstances;
  load: DrillSteps;
  replay: DrillSteps;
  snapshot: DrillSteps;
  /**
   * The later dump's instance, terminated by RetireLater once its snapshot was in (the replay still
   * running); or RetireLater's error, when it failed after its retries: the drill goes on, and the
   * Cleanup after Compare terminates that instance.
   */
  retired?: { id: string } | { Error: string; Cause: string };
  record?: { key: string; result: 'proven' | 'failed'; differences: number };
  cleanup?: { cleaned: string[] };
  error?: { Error: string; Cause: string };
}

export interface DrillTaskDeps {
  store: ObjectStore;
  prefix: string;
  provisioner: Provisioner;
  applier: Applier;
  snapshots: Snapshotter;
  alerts: Alerts;
  clock: Clock;
}

/** The name of one side's restore (its plan.json, its instance's `binvault:execution` tag). */
const sideExecution = (execution: string, side: DrillSide): string => `${execution}-${side}`;

const SIDES: readonly DrillSide[] = ['restored', 'dump'];

/** The errors that refuse a drill before anything is attempted: no record, no alert. */
const REFUSALS = new Set(['RestoreRefusedError', 'DrillNotReadyError', 'InputError']);

const combine = (steps: DrillSteps['steps'], previous?: number): DrillSteps => {
  const running = Object.values(steps).some((s) => s?.status === 'InProgress');
  return running ? { status: 'InProgress', steps, wait: nextWait(previous) } : { status: 'Success', steps };
};

/**
 * One plain function per Task state of infra/drill.asl.json: the drill of core/restore/drill.ts
 * `runDrill` cut into steps a state machine can wait between, on AWS two EC2 instances driven by SSM
 * (each load, the replay and each snapshot a command on its instance), locally two local servers. The
 * later dump's instance lives only until its snapshot is in (RetireLater), not for the replay.
 * Each task re-reads what it needs from the bucket (the plans), so the state stays small whatever the
 * number of binlogs (Step Functions passes at most 256 KiB from state to state).
 */
export const drillTasks = (deps: DrillTaskDeps) => {
  const scopeOf = (drill: Pick<PlannedDrill, 'host'>) => ({ prefix: deps.prefix, host: drill.host });
  const planOf = async (drill: PlannedDrill, side: DrillSide): Promise<RestorePlan> =>
    JSON.parse((await deps.store.getBytes(restoreKey(scopeOf(drill), sideExecution(drill.execution, side), 'plan.json'))).toString('utf8')) as RestorePlan;
  const instanceOf = (state: Pick<DrillState, 'instances'>, side: DrillSide): ProvisionedInstance => {
    const instance = state.instances[side];
    if (!instance) throw new InputError(`the drill has no ${side} instance`);
    return instance;
  };

  const snapshotOf = async (state: Pick<DrillState, 'drill' | 'instances'>, side: DrillSide): Promise<StepStatus> =>
    deps.snapshots.snapshot(instanceOf(state, side), sideExecution(state.drill.execution, side), drillSnapshotKey(scopeOf(state.drill), state.drill.day, state.drill.execution, side));

  return {
    /**
     * Validates the input, chooses the window, writes each side's plan where its instance reads it.
     * A window not drillable yet is DrillNotReadyError (the state machine retries it a while: a dump's
     * binlogs may still be on their way when every-dump starts the drill). A host with fewer than two
     * verified dumps is not an error here: `{host, skipped}`, and the execution ends as skipped.
     */
    DrillPlan: async (input: DrillInput): Promise<PlannedDrill | SkippedDrill> => {
      if (!input.host || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(input.host)) throw new InputError(`'${input.host ?? ''}' is not a host name`);
      if (input.window !== undefined && (typeof input.window !== 'string' || input.window === '' || input.window.includes('..'))) throw new InputError(`"window" must name a dump: ${JSON.stringify(input.window)}`);
      // At most DRILL_NAME_MAX (71), what drillExecutionName gives: `{execution}-restored` is a tag and a restore name.
      if (input.execution !== undefined && (typeof input.execution !== 'string' || input.execution.length > DRILL_NAME_MAX || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(input.execution))) {
        throw new InputError(`"execution" '${String(input.execution)}' is not a name (letters, digits, - and _, at most ${DRILL_NAME_MAX})`);
      }
      let chosen;
      try {
        chosen = await chooseDrillWindow(deps, { host: input.host, ...(input.window ? { window: input.window } : {}) });
      } catch (error) {
        if (error instanceof NothingToDrillError) return { host: input.host, skipped: error.message };
        throw error;
      }
      const execution = input.execution ?? newDrillExecution(deps.clock);
      const scope = scopeOf(chosen);
      const { dumpBytes: dumpSize, binlogBytes, missing } = await storedSizes(deps.store, chosen.plan);
      const { dumpBytes: laterSize, missing: laterMissing } = await storedSizes(deps.store, { dump: chosen.later.dump, binlogs: [] });
      refuseMissing([...missing, ...laterMissing]);
      const plans: Record<DrillSide, RestorePlan> = {
        restored: { ...chosen.plan, dump: { ...chosen.plan.dump, size: dumpSize }, bytes: dumpSize + binlogBytes },
        dump: { ...chosen.later, dump: { ...chosen.later.dump, size: laterSize }, bytes: laterSize },
      };
      for (const side of SIDES) {
        await deps.store.put(restoreKey(scope, sideExecution(execution, side), 'plan.json'), JSON.stringify(plans[side], null, 2), { contentType: 'application/json' });
      }
      return { host: chosen.host, execution, day: chosen.to.day, from: chosen.from, to: chosen.to, startedAt: deps.clock.now().toISOString() };
    },

    /** Both instances at once, each sized from its plan; if one cannot start, the other is removed before the error. */
    Provision: async (state: Pick<DrillState, 'drill'>): Promise<DrillInstances> => {
      const t = deps.clock.now().getTime();
      const plans = await Promise.all(SIDES.map((side) => planOf(state.drill, side)));
      const started = await Promise.allSettled(SIDES.map((side, i) => deps.provisioner.provision(sideExecution(state.drill.execution, side), sizeRestoreInstance(plans[i] as RestorePlan))));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        for (const r of started) if (r.status === 'fulfilled') await deps.provisioner.cleanup(r.value).catch(() => undefined);
        throw failed.reason;
      }
      const [restored, dump] = started.map((r) => (r as PromiseFulfilledResult<ProvisionedInstance>).value) as [ProvisionedInstance, ProvisionedInstance];
      return { restored, dump, seconds: Math.round((deps.clock.now().getTime() - t) / 100) / 10 };
    },

    /** The earlier dump into one instance, the later into the other, at the same time. */
    LoadDumps: async (state: Pick<DrillState, 'drill' | 'instances'>): Promise<DrillSteps> => {
      const steps: DrillSteps['steps'] = {};
      for (const side of SIDES) steps[side] = await deps.applier.load(await planOf(state.drill, side), instanceOf(state, side), sideExecution(state.drill.execution, side));
      return combine(steps);
    },

    /**
     * The later dump's instance snapshots itself into the bucket (its `dump` step), and the binlogs up to
     * the later dump's coordinates go into the restored instance (its `restored` step), at the same time:
     * the later instance has nothing left to do once its snapshot is in, and RetireLater terminates it
     * then, while the replay goes on.
     */
    ReplayBinlogs: async (state: Pick<DrillState, 'drill' | 'instances'>): Promise<DrillSteps> => {
      const dump = await snapshotOf(state, 'dump');
      const restored = await deps.applier.replay(await planOf(state.drill, 'restored'), instanceOf(state, 'restored'), sideExecution(state.drill.execution, 'restored'));
      return combine({ restored, dump });
    },

    /** The later dump's instance, its snapshot in the bucket: terminated, without waiting for the replay. */
    RetireLater: async (state: Pick<DrillState, 'instances'>): Promise<NonNullable<DrillState['retired']>> => {
      const instance = instanceOf(state, 'dump');
      await deps.provisioner.cleanup(instance);
      return { id: instance.id };
    },

    /** The restored instance, the replay done, snapshots itself into the bucket beside the later one's. */
    Snapshot: async (state: Pick<DrillState, 'drill' | 'instances'>): Promise<DrillSteps> => combine({ restored: await snapshotOf(state, 'restored') }),

    /** Asks each side's step in progress how far it is (one function for loads, replay and snapshots). */
    CheckSteps: async (input: { execution: string; instances: DrillState['instances']; steps: DrillSteps }): Promise<DrillSteps> => {
      const steps: DrillSteps['steps'] = {};
      for (const [side, step] of Object.entries(input.steps.steps) as [DrillSide, StepStatus][]) {
        steps[side] = step.status === 'InProgress' ? await deps.applier.check(step, instanceOf(input, side), sideExecution(input.execution, side)) : step;
      }
      return combine(steps, input.steps.wait);
    },

    /**
     * The two snapshots compared (core compareSnapshots), the GTIDs the replay reached checked against
     * the later dump's, the record written, rates kept, drill-failed reconciled.
     */
    Compare: async (state: Pick<DrillState, 'drill' | 'instances' | 'load' | 'replay' | 'snapshot'>): Promise<NonNullable<DrillState['record']>> => {
      const { drill } = state;
      const t = deps.clock.now().getTime();
      const read = async (side: DrillSide): Promise<InstanceSnapshot> =>
        JSON.parse((await deps.store.getBytes(drillSnapshotKey(scopeOf(drill), drill.day, drill.execution, side))).toString('utf8')) as InstanceSnapshot;
      const restored = await read('restored');
      const dumped = await read('dump');
      const replay = state.replay.steps.restored;
      const reachedGtids = replay?.reached?.gtids ?? replay?.expected?.gtids ?? '';
      const differences = [...gtidDifferences(drill, reachedGtids, replay?.expected?.gtids), ...compareSnapshots(restored, dumped)];
      const plan = await planOf(drill, 'restored');
      // The later side's snapshot ran during the replay: only the restored side's adds to the drill's time.
      const snapshotSeconds = state.snapshot.steps.restored?.seconds ?? 0;
      const startedAt = new Date(drill.startedAt);
      const record = await finishDrill(deps, { host: drill.host, from: drill.from, to: drill.to, plan }, {
        execution: drill.execution,
        differences,
        snapshot: restored,
        reachedGtids,
        timings: {
          provisionSeconds: state.instances.seconds ?? 0,
          loadSeconds: state.load.steps.restored?.seconds ?? 0,
          replaySeconds: replay?.seconds ?? 0,
          laterLoadSeconds: state.load.steps.dump?.seconds ?? 0,
          compareSeconds: Math.round(snapshotSeconds * 10 + (deps.clock.now().getTime() - t) / 100) / 10,
          totalSeconds: Math.round((deps.clock.now().getTime() - startedAt.getTime()) / 100) / 10,
        },
        startedAt,
      });
      return { key: drillKey(scopeOf(drill), drill.day, drill.execution), result: record.result, differences: record.differences.length };
    },

    /**
     * Both instances removed, whatever happened: by id (but the later one RetireLater terminated), then
     * by tag every other instance of the drill's two sides (one a failed or retried Provision started;
     * `$.instances` is absent after Provision's Catch). An aborted or timed-out execution's:
     * restoreAborted, by the same tags.
     */
    Cleanup: async (state: Partial<Pick<DrillState, 'instances' | 'drill' | 'retired'>>): Promise<{ cleaned: string[] }> => {
      const cleaned: string[] = [];
      const retired = state.retired && 'id' in state.retired ? state.retired.id : undefined;
      for (const instance of Object.values(state.instances ?? {})) {
        if (!instance || typeof instance !== 'object' || instance.id === retired) continue;
        await deps.provisioner.cleanup(instance);
        cleaned.push(instance.id);
      }
      if (state.drill?.execution && deps.provisioner.cleanupExecutions) {
        const { execution } = state.drill;
        cleaned.push(...(await deps.provisioner.cleanupExecutions(SIDES.map((side) => sideExecution(execution, side)), retired ? [...cleaned, retired] : cleaned)));
      }
      return { cleaned };
    },

    /**
     * A drill that failed on the way (an instance that did not start, a load that failed): its record
     * says so with the error, and drill-failed is announced. A refused one (no such host, one dump, a
     * window not drillable yet) writes nothing and alerts nobody: nothing was attempted.
     */
    ReportFailure: async (state: Partial<DrillState>): Promise<{ key?: string; refused: boolean }> => {
      const cause = describeCause(state.error);
      if (!state.drill || REFUSALS.has(state.error?.Error ?? '')) return { refused: true };
      const { drill } = state;
      const plan = await planOf(drill, 'restored').catch(() => undefined);
      await finishDrill(deps, { host: drill.host, from: drill.from, to: drill.to, plan: plan ?? ({ binlogs: [], dump: { key: drill.from.key } } as unknown as RestorePlan) }, {
        execution: drill.execution,
        differences: [],
        error: cause,
        timings: { provisionSeconds: state.instances?.seconds ?? 0, loadSeconds: state.load?.steps.restored?.seconds ?? 0, replaySeconds: state.replay?.steps.restored?.seconds ?? 0, laterLoadSeconds: state.load?.steps.dump?.seconds ?? 0, compareSeconds: 0, totalSeconds: Math.round((deps.clock.now().getTime() - Date.parse(drill.startedAt)) / 100) / 10 },
        startedAt: new Date(drill.startedAt),
      });
      return { key: drillKey(scopeOf(drill), drill.day, drill.execution), refused: false };
    },
  };
};

export type DrillTasks = ReturnType<typeof drillTasks>;

/** Whether a failed drill execution's error refused it (nothing attempted) — for the CLI's exit code and message. */
export const isDrillRefusal = (error: unknown): boolean => error instanceof RestoreRefusedError || error instanceof DrillNotReadyError || error instanceof InputError;
