/**
 * Every AWS call binvault's functions, the restore state machine's tasks and the restore instance
 * make, by the IAM role that makes it: the action, the resource ARN as the code builds it, and the
 * condition keys AWS adds to the request. test/integration/infra/iam.test.ts simulates each one
 * against the packaged template's policies; the SDK-level tests (restore/aws.test.ts,
 * restore/instance.test.ts) check that every command their fakes received is one of these.
 *
 * Names follow the packaged stack with `--stage ci` (infra:package): bucket binvault-ci-backups,
 * prefix mysql, region us-east-1; the account is a placeholder the template resolves to.
 */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const STAGE = 'ci';
export const BUCKET = `binvault-${STAGE}-backups`;
export const PREFIX = 'mysql';
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:binvault-alerts-${STAGE}`;

export interface AwsCall {
  action: string;
  /** The resource's ARN, or `*` for an action that takes none. */
  resource: string;
  /** Condition keys the request carries. */
  context?: Record<string, string | string[]>;
  /** Which code path makes it. */
  why: string;
}

const object = (key: string): string => `arn:aws:s3:::${BUCKET}/${PREFIX}/${key}`;
const bucket = `arn:aws:s3:::${BUCKET}`;
const instance = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0abc`;
// AWS evaluates an AWS-owned document as arn:aws:ssm:REGION::document/NAME (no account); the
// simulator's resource patterns want an account, so the call names one and the grant's `*` covers both.
const runShellScript = `arn:aws:ssm:${REGION}:${ACCOUNT}:document/AWS-RunShellScript`;

/** S3Store's reads: GetObject/HeadObject, and ListBucket so that a missing key is a 404, not a 403. */
const reads = (key: string, why: string): AwsCall[] => [
  { action: 's3:GetObject', resource: object(key), why: `${why}: GetObject, HeadObject` },
  // Without s3:ListBucket, S3 answers HeadObject of a missing key with 403 instead of 404.
  { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': `${PREFIX}/db1/` }, why: `${why}: ListObjectsV2, and a 404 for a missing key` },
];
export const ALERTS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0abc-alerts`;
/** The verify function, as the stack names it (`{service}-{stage}-verify`): it invokes itself to go on with a long verify. */
export const VERIFY_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:binvault-${STAGE}-verify`;
export const FAILED_EVENTS_QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:binvault-failed-events-${STAGE}`;
const publish: AwsCall = { action: 'sns:Publish', resource: TOPIC_ARN, why: 'SnsAlerts.publish (PublishCommand)' };
/** Publishing to the topic under its own KMS key: SNS asks KMS for a data key with the caller's rights. */
const publishing = (why = 'SnsAlerts.publish (PublishCommand)'): AwsCall[] => [
  { ...publish, why },
  { action: 'kms:GenerateDataKey', resource: ALERTS_KEY_ARN, why: `${why}: the topic is encrypted with the stack's key` },
  { action: 'kms:Decrypt', resource: ALERTS_KEY_ARN, why: `${why}: the topic is encrypted with the stack's key` },
];
/** An asynchronously invoked function's on-failure destination sends with the function's own role. */
const failedEvent: AwsCall = { action: 'sqs:SendMessage', resource: FAILED_EVENTS_QUEUE_ARN, why: 'on-failure destination: the event, after two retries, to the failed-events queue' };
const policyParameter = (name: string): AwsCall => ({ action: 'ssm:GetParameter', resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/binvault/${STAGE}/${name}`, why: 'per-host policy (ssmParameters)' });
const sendCommand = (why: string): AwsCall[] => [
  { action: 'ssm:SendCommand', resource: instance, why: `${why}: SsmApplier.send (SendCommandCommand, InstanceIds)` },
  { action: 'ssm:SendCommand', resource: runShellScript, why: `${why}: SsmApplier.send (DocumentName AWS-RunShellScript)` },
];
// GetCommandInvocation takes no resource ARN: only `*` grants it.
const getInvocation = (why: string): AwsCall => ({ action: 'ssm:GetCommandInvocation', resource: '*', why: `${why}: SsmApplier.check (GetCommandInvocationCommand)` });

const DRILL_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:binvault-drill-${STAGE}`;
/** RunInstances from the launch template and its waits: the restore's Provision and the drill's. */
const provisioning = (why: string): AwsCall[] => [
  ...['instance/i-0abc', 'volume/vol-0abc', 'network-interface/eni-0abc', 'subnet/subnet-0abc', 'security-group/sg-0abc', 'launch-template/lt-0abc'].map(
    (r): AwsCall => ({ action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:${r}`, why: `${why}: Ec2Provisioner.provision (RunInstancesCommand)` }),
  ),
  { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}::image/ami-0abc`, why: `${why}: the launch template’s image` },
  { action: 'ec2:CreateTags', resource: instance, context: { 'ec2:CreateAction': 'RunInstances' }, why: `${why}: TagSpecifications on the instance` },
  { action: 'ec2:CreateTags', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-0abc`, context: { 'ec2:CreateAction': 'RunInstances' }, why: `${why}: TagSpecifications on the volume` },
  { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/binvault-restore-instance-${STAGE}`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, why: `${why}: the launch template’s instance profile` },
  { action: 'ec2:DescribeInstances', resource: '*', why: `${why}: waits for running (DescribeInstancesCommand)` },
  { action: 'ssm:DescribeInstanceInformation', resource: '*', why: `${why}: waits for the SSM agent (DescribeInstanceInformationCommand)` },
  { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/binvault:execution': 'drill-x-restored' }, why: `${why}: an instance that never became reachable is terminated (TerminateInstancesCommand)` },
];
/** The drill's record written, its rates kept, drill-failed reconciled (finishDrill). */
const drillRecord = (why: string): AwsCall[] => [
  ...reads('db1/drills/2026-11-20/drill-x/restored.json', `${why}: the snapshots, the plan, the rates, the alert state`),
  { action: 's3:PutObject', resource: object('db1/drills/2026-11-20/drill-x.json'), why: `${why}: finishDrill writes the drill record` },
  { action: 's3:PutObject', resource: object('db1/restores/rates.json'), why: `${why}: a proven drill’s rates (recordRates)` },
  { action: 's3:PutObject', resource: object('db1/alerts/state.json'), why: `${why}: drill-failed reconciled (reconcileAlerts)` },
  ...publishing(`${why}: drill-failed (reconcileAlerts → SnsAlerts.publish)`),
];

/** By the logical id of the role in the packaged template. */
export const AWS_CALLS: Record<string, AwsCall[]> = {
  VerifyIamRoleLambdaExecution: [
    ...reads('db1/binlogs/2026-11-20/binlog.000123.gz', 'verifyObject reads the object and looks for its record'),
    { action: 's3:PutObject', resource: object('db1/records/2026-11-20/binlog.000123.gz.json'), why: 'verifyObject writes the record (PutObject, If-None-Match)' },
    { action: 's3:PutObjectTagging', resource: object('db1/binlogs/2026-11-20/binlog.000123.gz'), why: 'verifyObject tags the object (PutObjectTaggingCommand)' },
    { action: 's3:PutObject', resource: object('db1/records/2026-11-20/binlog.000123.gz.checkpoint'), why: 'verifyObject pauses a verify longer than one invocation: its checkpoint (If-Match / If-None-Match)' },
    { action: 's3:DeleteObject', resource: object('db1/records/2026-11-20/binlog.000123.gz.checkpoint'), why: 'verifyObject removes the checkpoint once the record is written (DeleteObjectCommand)' },
    { action: 'lambda:InvokeFunction', resource: VERIFY_FUNCTION_ARN, why: 'the verify function goes on in its next invocation (lambdaInvoker: InvokeCommand, InvocationType Event)' },
    ...publishing(),
    failedEvent,
  ],
  CatalogIamRoleLambdaExecution: [
    ...reads('db1/records/2026-11-20/binlog.000123.gz.json', 'the catalog reads records and manifests'),
    { action: 's3:PutObject', resource: object('db1/catalog/2026-11-20.json'), why: 'the catalog writes the manifest (If-Match)' },
    { action: 's3:DeleteObject', resource: object('db1/catalog/summaries/2026-11-20/10/binlog.000123.json'), why: 'the catalog removes the summaries an hour segment sealed, and the old layout’s day manifests (DeleteObjectCommand)' },
    { action: 'states:StartExecution', resource: DRILL_MACHINE, why: 'every-dump: startDrillForRecord → SfnDrillStarter.start (StartExecutionCommand)' },
    failedEvent,
  ],
  WatchdogIamRoleLambdaExecution: [
    policyParameter('policy'),
    policyParameter('policy/db1'),
    ...reads('db1/catalog/2026-11-20.json', 'the watchdog reads manifests and its alert state'),
    { action: 's3:PutObject', resource: object('db1/alerts/state.json'), why: 'the watchdog keeps its alert state' },
    ...publishing(),
    failedEvent,
  ],
  RetentionIamRoleLambdaExecution: [
    policyParameter('policy'),
    policyParameter('policy/db1'),
    ...reads('db1/catalog/2026-11-20.json', 'retention reads manifests'),
    { action: 's3:PutObject', resource: object('db1/catalog/2026-11-20.json'), why: 'retention rewrites a manifest' },
    { action: 's3:DeleteObject', resource: object('db1/binlogs/2026-11-01/binlog.000001.gz'), why: 'retention deletes what the policy proves it may (DeleteObjectCommand)' },
    { action: 's3:ListBucketVersions', resource: bucket, context: { 's3:prefix': `${PREFIX}/db1/binlogs/2026-11-01/binlog.000001.gz` }, why: 'S3Store.purge lists every version (ListObjectVersionsCommand)' },
    { action: 's3:DeleteObjectVersion', resource: object('db1/binlogs/2026-11-01/binlog.000001.gz'), why: 'S3Store.purge deletes each version and delete marker (DeleteObjectCommand with VersionId)' },
    { action: 's3:GetObjectRetention', resource: object('db1/binlogs/2026-11-01/binlog.000001.gz'), why: 'S3Store.lockOf: a refused delete under a retention date is a hold' },
    { action: 's3:GetObjectLegalHold', resource: object('db1/binlogs/2026-11-01/binlog.000001.gz'), why: 'S3Store.lockOf: a refused delete under a legal hold is a hold' },
    { action: 's3:GetObject', resource: object('db1/drills/2026-11-02/drill-x.json'), why: 'retention reads the drill records of the windows it deletes (drillsOfDeleted)' },
    { action: 's3:DeleteObjectVersion', resource: object('db1/drills/2026-11-02/drill-x.json'), why: 'retention purges a drill record with its window (S3Store.purge)' },
    { action: 's3:GetObject', resource: object('db1/dumps/2026-11-01/db1-20261101T000000Z.sql.gz'), why: 'retention HEADs a drill record’s dumps: one gone takes the record (drillsOfDeleted, HeadObject)' },
    { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': `${PREFIX}/db1/records/` }, why: 'retention lists the records area: a record or checkpoint whose object is gone is purged (orphansOf, ListObjectsV2)' },
    { action: 's3:ListBucketVersions', resource: bucket, context: { 's3:prefix': `${PREFIX}/db1/records/2026-11-01/binlog.000001.gz.checkpoint` }, why: 'S3Store.purge of a record or checkpoint an earlier run left held lists its versions' },
    { action: 's3:DeleteObjectVersion', resource: object('db1/records/2026-11-01/binlog.000001.gz.checkpoint'), why: 'retention purges a record or checkpoint an earlier run left held (orphansOf, S3Store.purge)' },
    { action: 's3:GetObjectRetention', resource: object('db1/records/2026-11-01/binlog.000001.gz.json'), why: 'S3Store.lockOf: a record still under its retention date is held again' },
    ...publishing('runRetention reconciles its alerts (reconcileAlerts → SnsAlerts.publish)'),
    failedEvent,
  ],
  RestoreValidateInputIamRoleLambdaExecution: [],
  RestorePlanIamRoleLambdaExecution: [
    ...reads('db1/catalog/2026-11-20.json', 'Plan reads manifests and sizes the dump and binlogs'),
    { action: 's3:PutObject', resource: object('db1/restores/restore-x/plan.json'), why: 'Plan writes plan.json for the instance' },
  ],
  RestoreProvisionIamRoleLambdaExecution: [
    // RunInstances from a launch template: every resource it creates or uses is authorized.
    ...['instance/i-0abc', 'volume/vol-0abc', 'network-interface/eni-0abc', 'subnet/subnet-0abc', 'security-group/sg-0abc', 'launch-template/lt-0abc'].map(
      (r): AwsCall => ({ action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:${r}`, why: 'Ec2Provisioner.provision (RunInstancesCommand)' }),
    ),
    { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${REGION}::image/ami-0abc`, why: 'Ec2Provisioner.provision: the launch template’s image' },
    { action: 'ec2:CreateTags', resource: instance, context: { 'ec2:CreateAction': 'RunInstances' }, why: 'Ec2Provisioner.provision: TagSpecifications on the instance' },
    { action: 'ec2:CreateTags', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:volume/vol-0abc`, context: { 'ec2:CreateAction': 'RunInstances' }, why: 'Ec2Provisioner.provision: TagSpecifications on the volume' },
    { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/binvault-restore-instance-${STAGE}`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, why: 'Ec2Provisioner.provision: the launch template’s instance profile' },
    { action: 'ec2:DescribeInstances', resource: '*', why: 'Ec2Provisioner.provision waits for running (DescribeInstancesCommand)' },
    { action: 'ssm:DescribeInstanceInformation', resource: '*', why: 'Ec2Provisioner.provision waits for the SSM agent (DescribeInstanceInformationCommand)' },
    { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/binvault:execution': 'restore-x' }, why: 'Ec2Provisioner.provision terminates an instance that never became reachable (TerminateInstancesCommand)' },
  ],
  RestoreLoadDumpIamRoleLambdaExecution: sendCommand('LoadDump'),
  RestoreReplayBinlogsIamRoleLambdaExecution: sendCommand('ReplayBinlogs'),
  RestoreCheckStepIamRoleLambdaExecution: [getInvocation('CheckStep')],
  RestoreVerifyIamRoleLambdaExecution: [...sendCommand('Verify (reached)'), getInvocation('Verify (reached)')],
  RestoreReportIamRoleLambdaExecution: [
    { action: 's3:PutObject', resource: object('db1/restores/restore-x/report.json'), why: 'Report writes report.json' },
    { action: 's3:GetObject', resource: object('db1/restores/rates.json'), why: 'Report reads the measured rates (the RTO budget)' },
    { action: 's3:PutObject', resource: object('db1/restores/rates.json'), why: 'Report appends its load and replay rates' },
    ...publishing(),
  ],
  RestoreReportFailureIamRoleLambdaExecution: [
    { action: 's3:PutObject', resource: object('db1/restores/restore-x/report.json'), why: 'ReportFailure writes report.json' },
    { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': `${PREFIX}/db1/` }, why: 'ReportFailure: isKnownHost lists the host’s areas (ListObjectsV2)' },
    ...publishing(),
  ],
  // The Cleanup function: the Cleanup state (a failed restore) and CleanupStrays (a succeeded one's other instances).
  RestoreCleanupIamRoleLambdaExecution: [
    { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/binvault:execution': 'restore-x' }, why: 'Ec2Provisioner.cleanup and cleanupExecutions (TerminateInstancesCommand) of a tagged instance' },
    { action: 'ec2:DescribeInstances', resource: '*', why: 'Cleanup and CleanupStrays: Ec2Provisioner.cleanupExecutions finds the execution’s other instances by tag (DescribeInstancesCommand)' },
  ],
  RestoreAbortedIamRoleLambdaExecution: [
    { action: 'states:GetExecutionHistory', resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:binvault-restore-${STAGE}:restore-x`, why: 'cleanupAborted reads the execution’s history (GetExecutionHistoryCommand)' },
    { action: 'states:GetExecutionHistory', resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:binvault-drill-${STAGE}:drill-x`, why: 'cleanupAborted reads a drill execution’s history (GetExecutionHistoryCommand)' },
    { action: 'ec2:DescribeInstances', resource: '*', why: 'cleanupAborted finds the execution’s instances by tag (DescribeInstancesCommand)' },
    { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/binvault:execution': 'restore-x' }, why: 'cleanupAborted terminates them (TerminateInstancesCommand)' },
  ],
  // The restore instance (instance profile): reads the plan, the dump, the binlogs and the binvault bundle.
  RestoreInstanceRole: [
    ...reads('db1/dumps/2026-11-20/db1-20261120T000000Z.sql.gz', 'the instance: binvault restore apply'),
    { action: 's3:GetObject', resource: object('_artifacts/binvault-0.1.0.mjs'), why: 'the instance’s user data fetches the binvault bundle' },
    { action: 's3:PutObject', resource: object('db1/drills/2026-11-20/drill-x/restored.json'), why: 'a drill’s instance: binvault drill snapshot writes its snapshot (restored side)' },
    { action: 's3:PutObject', resource: object('db1/drills/2026-11-20/drill-x/dump.json'), why: 'a drill’s instance: binvault drill snapshot writes its snapshot (dump side)' },
  ],
  // The drill state machine's tasks (functions/drill/handler.ts).
  DrillPlanIamRoleLambdaExecution: [
    ...reads('db1/catalog/head.jsonl', 'DrillPlan reads the catalog and sizes the dumps and binlogs'),
    { action: 's3:PutObject', resource: object('db1/restores/drill-x-restored/plan.json'), why: 'DrillPlan writes each side’s plan.json' },
  ],
  DrillProvisionIamRoleLambdaExecution: [...provisioning('drill Provision'), ...reads('db1/restores/drill-x-restored/plan.json', 'drill Provision reads each side’s plan (sizing)')],
  DrillLoadDumpsIamRoleLambdaExecution: [...sendCommand('LoadDumps'), ...reads('db1/restores/drill-x-restored/plan.json', 'LoadDumps reads each side’s plan')],
  DrillReplayBinlogsIamRoleLambdaExecution: [
    ...sendCommand('drill ReplayBinlogs (the replay, and binvault drill snapshot on the later dump’s instance)'),
    ...reads('db1/restores/drill-x-restored/plan.json', 'drill ReplayBinlogs reads the restored side’s plan'),
  ],
  DrillRetireLaterIamRoleLambdaExecution: [
    { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/binvault:execution': 'drill-x-dump' }, why: 'RetireLater: Ec2Provisioner.cleanup (TerminateInstancesCommand) of the later dump’s instance once its snapshot is in' },
  ],
  DrillSnapshotIamRoleLambdaExecution: sendCommand('drill Snapshot (binvault drill snapshot)'),
  DrillCheckStepsIamRoleLambdaExecution: [getInvocation('CheckSteps')],
  DrillCompareIamRoleLambdaExecution: drillRecord('Compare'),
  DrillCleanupIamRoleLambdaExecution: [
    { action: 'ec2:TerminateInstances', resource: instance, context: { 'aws:ResourceTag/binvault:execution': 'drill-x-restored' }, why: 'drill Cleanup: Ec2Provisioner.cleanup (TerminateInstancesCommand) of a tagged instance' },
    { action: 'ec2:DescribeInstances', resource: '*', why: 'drill Cleanup: Ec2Provisioner.cleanupExecutions finds both sides’ other instances by tag (DescribeInstancesCommand)' },
  ],
  DrillReportFailureIamRoleLambdaExecution: drillRecord('drill ReportFailure'),
  DrillScheduleIamRoleLambdaExecution: [
    { action: 's3:ListBucket', resource: bucket, context: { 's3:prefix': `${PREFIX}/` }, why: 'startScheduledDrills: listHosts (ListObjectsV2 by delimiter)' },
    { action: 'states:StartExecution', resource: DRILL_MACHINE, why: 'startScheduledDrills → SfnDrillStarter.start (StartExecutionCommand)' },
  ],
  // EventBridge Scheduler's role: it invokes the drillSchedule function.
  DrillSchedulerRole: [{ action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:binvault-${STAGE}-drillSchedule`, why: 'the drill schedule (AWS::Scheduler::Schedule) invokes drillSchedule' }],
};

/** The IAM action an SDK command needs, by service and command name (the name without `Command`). */
export const IAM_ACTION: Record<string, Record<string, string[]>> = {
  s3: {
    GetObject: ['s3:GetObject'],
    HeadObject: ['s3:GetObject'],
    PutObject: ['s3:PutObject'],
    CreateMultipartUpload: ['s3:PutObject'],
    UploadPart: ['s3:PutObject'],
    CompleteMultipartUpload: ['s3:PutObject'],
    UploadPartCopy: ['s3:GetObject', 's3:PutObject'],
    CopyObject: ['s3:GetObject', 's3:PutObject'],
    AbortMultipartUpload: ['s3:AbortMultipartUpload'],
    ListObjectsV2: ['s3:ListBucket'],
    ListMultipartUploads: ['s3:ListBucketMultipartUploads'],
    HeadBucket: ['s3:ListBucket'],
    GetBucketLocation: ['s3:GetBucketLocation'],
    PutObjectTagging: ['s3:PutObjectTagging'],
    DeleteObject: ['s3:DeleteObject'],
    ListObjectVersions: ['s3:ListBucketVersions'],
    GetObjectRetention: ['s3:GetObjectRetention'],
    GetObjectLegalHold: ['s3:GetObjectLegalHold'],
  },
  ec2: {
    RunInstances: ['ec2:RunInstances', 'ec2:CreateTags', 'iam:PassRole'],
    DescribeInstances: ['ec2:DescribeInstances'],
    TerminateInstances: ['ec2:TerminateInstances'],
  },
  ssm: {
    SendCommand: ['ssm:SendCommand'],
    GetCommandInvocation: ['ssm:GetCommandInvocation'],
    DescribeInstanceInformation: ['ssm:DescribeInstanceInformation'],
    GetParameter: ['ssm:GetParameter'],
  },
  sns: { Publish: ['sns:Publish'] },
  sfn: { GetExecutionHistory: ['states:GetExecutionHistory'], StartExecution: ['states:StartExecution'] },
};

/** The restore roles whose commands the SDK-level restore tests see, by the task that sends them. */
export const RESTORE_ROLES = {
  Provision: 'RestoreProvisionIamRoleLambdaExecution',
  LoadDump: 'RestoreLoadDumpIamRoleLambdaExecution',
  ReplayBinlogs: 'RestoreReplayBinlogsIamRoleLambdaExecution',
  CheckStep: 'RestoreCheckStepIamRoleLambdaExecution',
  Verify: 'RestoreVerifyIamRoleLambdaExecution',
  Cleanup: 'RestoreCleanupIamRoleLambdaExecution',
  Aborted: 'RestoreAbortedIamRoleLambdaExecution',
} as const;

/** The drill roles whose commands the SDK-level drill tests see, by the task that sends them. */
export const DRILL_ROLES = {
  Provision: 'DrillProvisionIamRoleLambdaExecution',
  LoadDumps: 'DrillLoadDumpsIamRoleLambdaExecution',
  ReplayBinlogs: 'DrillReplayBinlogsIamRoleLambdaExecution',
  RetireLater: 'DrillRetireLaterIamRoleLambdaExecution',
  Snapshot: 'DrillSnapshotIamRoleLambdaExecution',
  CheckSteps: 'DrillCheckStepsIamRoleLambdaExecution',
  Cleanup: 'DrillCleanupIamRoleLambdaExecution',
  Schedule: 'DrillScheduleIamRoleLambdaExecution',
  Catalog: 'CatalogIamRoleLambdaExecution',
} as const;

/** Whether every IAM action a command needs is in the call list of one of the roles. */
export const listedFor = (service: keyof typeof IAM_ACTION, command: string, roles: readonly string[]): string[] => {
  const actions = IAM_ACTION[service]?.[command.replace(/Command$/, '')];
  if (!actions) return [`${service}:${command} is not in IAM_ACTION`];
  const listed = new Set(roles.flatMap((r) => (AWS_CALLS[r] ?? []).map((c) => c.action)));
  return actions.filter((a) => !listed.has(a)).map((a) => `${command} needs ${a}, listed for none of ${roles.join(', ')}`);
};
