import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { restoreTasks, type RestoreTasks } from '../../core/restore/workflow.js';
import { SsmApplier } from '../../drivers/aws/ec2-restore.js';
import { cleanupAborted, type ExecutionStatusChange } from '../../drivers/aws/restore-aborted.js';
import { lambdaDeps } from '../commons/deps.js';
import { lazyProvisioner, ssmClient } from '../commons/restore-instance.js';
import { lambdaTelemetry, withTelemetry } from '../commons/powertools.js';

/**
 * The restore state machine's tasks on AWS, one export per Task state: a fresh EC2 instance from
 * the launch template BINVAULT_RESTORE_LAUNCH_TEMPLATE, the load and the replay run on it through
 * SSM Run Command. Created once per cold start; the EC2 provisioner only when a task uses it, so
 * that only Provision and Cleanup need the launch template's setting.
 */
let tasks: RestoreTasks | undefined;

const get = (): RestoreTasks => {
  if (tasks) return tasks;
  const deps = lambdaDeps();
  const { config } = deps;
  tasks = restoreTasks({
    store: deps.store(config.bucket),
    prefix: config.prefix,
    timeZone: config.timeZone,
    provisioner: lazyProvisioner(config),
    // The plan task wrote the plan to the bucket; the instance reads it from there.
    applier: new SsmApplier(ssmClient(), { bucket: config.bucket, prefix: config.prefix }),
    alerts: deps.alerts,
    clock: deps.clock,
  });
  return tasks;
};

const task = <K extends keyof RestoreTasks>(name: K) =>
  // Logs only: the tasks publish no metrics of their own (the state machine has its own).
  withTelemetry(async (input: Parameters<RestoreTasks[K]>[0]) => (get()[name] as (i: typeof input) => ReturnType<RestoreTasks[K]>)(input), { logger: lambdaTelemetry.logger });

export const validateInput = task('ValidateInput');
export const plan = task('Plan');
export const provision = task('Provision');
export const loadDump = task('LoadDump');
export const replayBinlogs = task('ReplayBinlogs');
export const checkStep = task('CheckStep');
export const verifyRestore = task('Verify');
export const report = task('Report');
export const cleanup = task('Cleanup');
export const reportFailure = task('ReportFailure');

/** EventBridge: a restore execution ABORTED (from the console) or TIMED_OUT: its instances terminated. */
export const aborted = withTelemetry(
  async (event: ExecutionStatusChange) => {
    const result = await cleanupAborted({ sfn: new SFNClient({}), ec2: new EC2Client({}) }, event);
    lambdaTelemetry.logger.info('restore execution stopped', { executionArn: event.detail.executionArn, status: event.detail.status, ...result });
    return result;
  },
  { logger: lambdaTelemetry.logger },
);
