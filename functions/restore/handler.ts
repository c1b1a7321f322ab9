import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { ConfigurationError } from '../../core/errors.js';
import { systemClock } from '../../core/ports.js';
import { alertsFromEnvironment, storeFor } from '../commons/clients.js';
import { functionConfig } from '../../core/config.js';
import { logger } from '../commons/powertools.js';
import { Ec2Provisioner, SsmApplier } from '../../drivers/aws/ec2-restore.js';
import { restoreTasks } from '../../core/restore/workflow.js';

/**
 * The restore state machine's tasks on AWS, one export per Task state: a fresh EC2 instance from
 * the launch template BINVAULT_RESTORE_LAUNCH_TEMPLATE, the load and the replay run on it through
 * SSM Run Command. Created once per cold start.
 */
const config = functionConfig();
const bucket = process.env.BINVAULT_BUCKET ?? '';
const ec2 = new EC2Client({});
const ssm = new SSMClient({});
let tasks: ReturnType<typeof restoreTasks> | undefined;

const get = (): ReturnType<typeof restoreTasks> => {
  if (!bucket) throw new ConfigurationError('BINVAULT_BUCKET is not set');
  const launchTemplate = process.env.BINVAULT_RESTORE_LAUNCH_TEMPLATE;
  if (!launchTemplate) throw new ConfigurationError('BINVAULT_RESTORE_LAUNCH_TEMPLATE is not set');
  tasks ??= restoreTasks({
    store: storeFor(bucket),
    prefix: config.prefix,
    timeZone: process.env.BINVAULT_TZ ?? 'UTC',
    provisioner: new Ec2Provisioner(ec2, ssm, { launchTemplate }),
    // The plan task wrote the plan to the bucket; the instance reads it from there.
    applier: new SsmApplier(ssm, { bucket, prefix: config.prefix }),
    alerts: alertsFromEnvironment(),
    clock: systemClock,
  });
  return tasks;
};

const wrap = <I, O>(fn: (t: ReturnType<typeof restoreTasks>) => (input: I) => Promise<O>) =>
  middy(async (input: I) => fn(get())(input)).use(injectLambdaContext(logger, { clearState: true }));

export const validateInput = wrap((t) => t.ValidateInput);
export const plan = wrap((t) => t.Plan);
export const provision = wrap((t) => t.Provision);
export const loadDump = wrap((t) => t.LoadDump);
export const replayBinlogs = wrap((t) => t.ReplayBinlogs);
export const checkStep = wrap((t) => t.CheckStep);
export const verifyRestore = wrap((t) => t.Verify);
export const report = wrap((t) => t.Report);
export const cleanup = wrap((t) => t.Cleanup);
export const reportFailure = wrap((t) => t.ReportFailure);
