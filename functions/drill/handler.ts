import { ConfigurationError } from '../../core/errors.js';
import { startScheduledDrills } from '../../core/restore/drill-start.js';
import { drillTasks, type DrillTasks } from '../../core/restore/drill-workflow.js';
import { SsmApplier } from '../../drivers/aws/ec2-restore.js';
import { sfnClientFor, SfnDrillStarter } from '../../drivers/aws/sfn.js';
import { lambdaDeps, type FunctionDeps } from '../commons/deps.js';
import { lambdaTelemetry, withTelemetry, type Telemetry } from '../commons/powertools.js';
import { lazyProvisioner, ssmClient } from '../commons/restore-instance.js';

/**
 * The drill state machine's tasks on AWS (infra/drill.asl.json), one export per function: two EC2
 * instances from the restore's launch template, each load, the replay and each snapshot a command
 * on its instance through SSM Run Command; the later dump's instance terminated (RetireLater) once
 * its snapshot is in. Created once per cold start.
 */
let tasks: DrillTasks | undefined;

const get = (): DrillTasks => {
  if (tasks) return tasks;
  const deps = lambdaDeps();
  const { config } = deps;
  const applier = new SsmApplier(ssmClient(), { bucket: config.bucket, prefix: config.prefix });
  tasks = drillTasks({
    store: deps.store(config.bucket),
    prefix: config.prefix,
    provisioner: lazyProvisioner(config),
    applier,
    snapshots: applier,
    alerts: deps.alerts,
    clock: deps.clock,
  });
  return tasks;
};

const task = <K extends keyof DrillTasks>(name: K) =>
  withTelemetry(async (input: Parameters<DrillTasks[K]>[0]) => (get()[name] as (i: typeof input) => ReturnType<DrillTasks[K]>)(input), { logger: lambdaTelemetry.logger });

export const plan = task('DrillPlan');
export const provision = task('Provision');
export const loadDumps = task('LoadDumps');
export const replayBinlogs = task('ReplayBinlogs');
export const retireLater = task('RetireLater');
export const snapshot = task('Snapshot');
export const checkSteps = task('CheckSteps');
export const compare = task('Compare');
export const cleanup = task('Cleanup');
export const reportFailure = task('ReportFailure');

/** The schedule (EventBridge Scheduler): one drill execution per host in the bucket. */
export const scheduledEvent = async (deps: FunctionDeps, telemetry: Telemetry) => {
  const arn = deps.config.drillStateMachineArn;
  if (!arn) throw new ConfigurationError('BINVAULT_DRILL_STATE_MACHINE_ARN is not set');
  const started = await startScheduledDrills({ store: deps.store(deps.config.bucket), starter: new SfnDrillStarter(sfnClientFor(arn), arn), clock: deps.clock }, deps.config.prefix);
  for (const s of started) telemetry.logger.info('drill scheduled', { ...s });
  return started;
};

export const scheduled = withTelemetry(() => scheduledEvent(lambdaDeps(), lambdaTelemetry), lambdaTelemetry);
