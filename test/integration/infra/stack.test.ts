import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { RegoEngine, TemplateFile } from '@aws/cloudformation-validate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  alertStateKey,
  binlogKey,
  dumpFileName,
  dumpKey,
  eventTarget,
  gapRecordName,
  manifestKey,
  notificationFilters,
  recordKey,
  restoreKey,
  stagingKey,
} from '../../../core/layout.js';

const run = promisify(execFile);
// Its own package directory: the infra tests package at once, in parallel.
const PACKAGE_DIR = '.serverless-stack';
const TEMPLATE = `infra/${PACKAGE_DIR}/cloudformation-template-update-stack.json`;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
}

/**
 * The AWS stack, proven offline: packaged by an open-source Serverless Framework CLI (osls) with no
 * AWS account, validated by asl-validator and by AWS's own CloudFormation validator, then read.
 */
describe('infra/serverless.yml packaged offline', () => {
  let resources: Record<string, Resource>;
  let outputs: Record<string, { Value: unknown }>;
  const ofType = (type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);

  beforeAll(async () => {
    // One packaging at a time (osls's build directory is shared): the infra tests run in parallel.
    await run('flock', ['infra/.package.lock', 'npm', 'run', 'infra:package'], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', BINVAULT_PACKAGE_DIR: PACKAGE_DIR }, maxBuffer: 16 << 20 });
    const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
    resources = template.Resources;
    outputs = template.Outputs;
  }, 300_000);

  it('passes asl-validator: the restore and drill state machine definitions', async () => {
    for (const file of ['infra/restore.asl.json', 'infra/drill.asl.json']) {
      const { stdout } = await run('npx', ['asl-validator', '--json-path', file]);
      expect(stdout, file).toContain('is valid');
    }
  });

  it('passes AWS’s CloudFormation validator with no error, and protects the backups bucket from deletion', () => {
    const engine = new RegoEngine();
    try {
      const report = engine.validateStandard(new TemplateFile(TEMPLATE));
      const errors = report.diagnostics.filter((d) => /^(ERROR|Error)$/.test(String(d.severity)));
      expect(errors.map((d) => `${d.ruleId}: ${d.message}`)).toEqual([]);
      const onBucket = report.diagnostics.filter((d) => JSON.stringify(d).includes('S3BucketBackups') && d.severity !== 'INFO');
      expect(onBucket.map((d) => `${d.ruleId}: ${d.message}`)).toEqual([]);
    } finally {
      engine.free();
    }
  });

  it('gives every function its own role', () => {
    const roles = ofType('AWS::Lambda::Function').map(([, f]) => JSON.stringify(f.Properties.Role));
    expect(roles.length).toBe(26);
    expect(new Set(roles).size).toBe(roles.length);
    expect(roles.some((r) => r.includes('"IamRoleLambdaExecution"'))).toBe(false);
  });

  it('grants no wildcard action in any role', () => {
    for (const [name, role] of ofType('AWS::IAM::Role')) {
      const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
      for (const statement of policies.flatMap((p) => p.PolicyDocument.Statement)) {
        const actions = ([] as string[]).concat(statement.Action);
        for (const action of actions) expect(action, `${name}: ${action}`).not.toMatch(/^\*$|:\*$/);
      }
    }
  });

  it('scopes the functions’ bucket access to the key prefix', () => {
    const verifyRole = resources.VerifyIamRoleLambdaExecution as Resource;
    const statements = (verifyRole.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
    const objectAccess = statements.find((s) => ([] as string[]).concat(s.Action).includes('s3:GetObject'));
    expect(objectAccess?.Resource).toBe('arn:aws:s3:::binvault-ci-backups/mysql/*');
  });

  it('has a bucket with SSE-KMS, public access blocked, versioning, Object Lock, the lifecycle and a policy denying non-TLS', () => {
    const bucket = resources.S3BucketBackups as Resource;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(JSON.stringify(bucket.Properties.BucketEncryption)).toContain('aws:kms');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: { Transitions?: { StorageClass: string }[]; AbortIncompleteMultipartUpload?: unknown }[] }).Rules;
    expect(rules.flatMap((r) => r.Transitions ?? []).map((t) => t.StorageClass)).toEqual(['STANDARD_IA', 'GLACIER_IR']);
    expect(rules.some((r) => r.AbortIncompleteMultipartUpload)).toBe(true);
    const policy = (resources.BackupsBucketPolicy as Resource).Properties.PolicyDocument as { Statement: Statement[] };
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    // One bucket for the backups: no second one made by an S3 event.
    expect(ofType('AWS::S3::Bucket').map(([n]) => n).sort()).toEqual(['S3BucketBackups', 'ServerlessDeploymentBucket']);
  });

  it('sends S3 events to verify (objects) and catalog (records), and runs the watchdog every 5 minutes and retention daily', () => {
    const bucket = resources.S3BucketBackups as Resource;
    const notifications = JSON.stringify(bucket.Properties.NotificationConfiguration);
    expect(notifications).toContain('VerifyLambdaFunction');
    expect(notifications).toContain('CatalogLambdaFunction');
    const schedules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression).filter((e) => e !== undefined);
    expect(schedules.sort()).toEqual(['cron(30 3 * * ? *)', 'rate(5 minutes)']);
  });

  it('delivers every key the layout routes to verify or catalog through the stack’s S3 filters (the local runtime routes with the same layout)', () => {
    const bucket = resources.S3BucketBackups as Resource;
    const configs = (bucket.Properties.NotificationConfiguration as { LambdaConfigurations: { Function: { 'Fn::GetAtt': string[] }; Filter: { S3Key: { Rules: { Name: string; Value: string }[] } } }[] }).LambdaConfigurations;
    const filterOf = (fn: string): { prefix: string; suffix: string } => {
      const rules = configs.find((c) => c.Function['Fn::GetAtt'][0] === fn)?.Filter.S3Key.Rules ?? [];
      return { prefix: rules.find((r) => r.Name === 'prefix')?.Value ?? '', suffix: rules.find((r) => r.Name === 'suffix')?.Value ?? '' };
    };
    const stack = { verify: filterOf('VerifyLambdaFunction'), catalog: filterOf('CatalogLambdaFunction') };
    expect(stack).toEqual(notificationFilters('mysql'));
    const scope = { prefix: 'mysql', host: 'db1' };
    const keys = [
      binlogKey(scope, '2026-11-20', 'binlog.000123'),
      binlogKey(scope, '2026-11-20', 'binlog.000001', '20261121T001500Z'),
      dumpKey(scope, '2026-11-20', dumpFileName('db1', new Date())),
      recordKey(scope, '2026-11-20', 'binlog.000123.gz'),
      recordKey(scope, '2026-11-20', gapRecordName(['binlog.000004'])),
      manifestKey(scope, '2026-11-20'),
      stagingKey(scope, dumpFileName('db1', new Date())),
      alertStateKey(scope),
      restoreKey(scope, 'restore-1', 'report.json'),
    ];
    for (const key of keys) {
      const target = eventTarget(key);
      if (target) expect(key.startsWith(stack[target].prefix) && key.endsWith(stack[target].suffix), `${key} → ${target}`).toBe(true);
    }
  });

  it('lets the watchdog and retention read their per-host policy from SSM, and nothing more of it', () => {
    for (const name of ['WatchdogLambdaFunction', 'RetentionLambdaFunction']) {
      const fn = resources[name] as Resource;
      expect((fn.Properties.Environment as { Variables: Record<string, string> }).Variables.BINVAULT_SSM_POLICY).toBe('/binvault/ci/policy');
    }
    const role = resources.WatchdogIamRoleLambdaExecution as Resource;
    const statements = (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
    expect(statements.find((s) => ([] as string[]).concat(s.Action).includes('ssm:GetParameter'))?.Resource).toHaveLength(2);
  });

  it('has the alerts topic, the restore state machine from its own file, alarms and the SSM parameters', () => {
    expect(ofType('AWS::SNS::Topic')).toHaveLength(1);
    const definition = JSON.stringify((resources.RestoreStateMachine as Resource).Properties.DefinitionString);
    for (const state of ['ValidateInput', 'Plan', 'Provision', 'LoadDump', 'ReplayBinlogs', 'Verify', 'CleanupStrays', 'Report', 'Cleanup', 'ReportFailure']) {
      expect(definition).toContain(state);
    }
    expect(definition).toContain('RestoreProvisionLambdaFunction');
    // Only the parameter something reads (the watchdog's and retention's policy).
    expect(ofType('AWS::SSM::Parameter').map(([, p]) => p.Properties.Name)).toEqual(['/binvault/ci/policy']);
  });

  const statementsOf = (role: string): Statement[] =>
    ((resources[role] as Resource).Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
  const grants = (role: string, action: string): Statement | undefined => statementsOf(role).find((s) => ([] as string[]).concat(s.Action).includes(action));

  it('encrypts the alerts topic with a key of its own whose policy lets CloudWatch, S3 and EventBridge publish, and the publishing functions use it', () => {
    const topic = resources.AlertsTopic as Resource;
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': ['AlertsKey', 'Arn'] });
    const key = resources.AlertsKey as Resource;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const statements = (key.Properties.KeyPolicy as { Statement: (Statement & { Principal: { Service?: string[] } })[] }).Statement;
    const services = statements.find((s) => s.Principal.Service);
    expect(services?.Principal.Service).toEqual(expect.arrayContaining(['cloudwatch.amazonaws.com', 's3.amazonaws.com', 'events.amazonaws.com']));
    expect(services?.Action).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    const topicPolicy = JSON.stringify((resources.AlertsTopicPolicy as Resource).Properties);
    expect(topicPolicy).toContain('cloudwatch.amazonaws.com');
    for (const role of ['VerifyIamRoleLambdaExecution', 'WatchdogIamRoleLambdaExecution', 'RetentionIamRoleLambdaExecution', 'RestoreReportIamRoleLambdaExecution', 'RestoreReportFailureIamRoleLambdaExecution']) {
      expect(grants(role, 'sns:Publish'), role).toBeDefined();
      expect(grants(role, 'kms:GenerateDataKey')?.Resource, role).toEqual({ 'Fn::GetAtt': ['AlertsKey', 'Arn'] });
    }
  });

  it('has alarms on errors, throttles, dropped events, failed events waiting, failed, timed-out and aborted restores and drills, and a silent watchdog — each telling the topic when it fires and when it clears', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm'));
    const names = Object.keys(alarms).sort();
    for (const fn of ['Verify', 'Catalog', 'Watchdog', 'Retention']) {
      expect(names).toEqual(expect.arrayContaining([`${fn}Errors`, `${fn}Throttles`, `${fn}AsyncEventsDropped`]));
      expect((alarms[`${fn}Throttles`] as Resource).Properties.MetricName).toBe('Throttles');
      expect((alarms[`${fn}AsyncEventsDropped`] as Resource).Properties.MetricName).toBe('AsyncEventsDropped');
    }
    expect(names).toEqual(expect.arrayContaining(['FailedEventsWaiting', 'RestoreExecutionsFailed', 'RestoreExecutionsTimedOut', 'RestoreExecutionsAborted', 'WatchdogNotRunning']));
    for (const [name, alarm] of Object.entries(alarms)) {
      expect(alarm.Properties.AlarmActions, name).toEqual([{ Ref: 'AlertsTopic' }]);
      expect(alarm.Properties.OKActions, name).toEqual([{ Ref: 'AlertsTopic' }]);
    }
    for (const machine of ['Restore', 'Drill']) {
      for (const m of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
        expect((alarms[`${machine}${m}`] as Resource | undefined)?.Properties, `${machine}${m}`).toMatchObject({ Namespace: 'AWS/States', MetricName: m, Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: `${machine}StateMachine` } }], Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      }
      expect(resources[`${machine}StateMachine`]?.Type).toBe('AWS::StepFunctions::StateMachine');
    }
    expect((alarms.FailedEventsWaiting as Resource).Properties).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['FailedEventsQueue', 'QueueName'] } }] });
    // The watchdog's own heartbeat (functions/watchdog/handler.ts): no data is an alarm, not silence.
    expect((alarms.WatchdogNotRunning as Resource).Properties).toMatchObject({ Namespace: 'binvault', MetricName: 'watchdogRuns', Dimensions: [{ Name: 'service', Value: 'watchdog' }], ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
  });

  it('lets only the verify function run in a recursive loop (a verify in steps invokes itself more than 16 times)', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(1);
    for (const [name, fn] of functions) {
      expect(fn.Properties.RecursiveLoop, name).toBe(name === 'VerifyLambdaFunction' ? 'Allow' : undefined);
    }
  });

  it('sends every asynchronously invoked function’s event, once its retries are spent, to the failed-events queue its role may write to', () => {
    const configs = Object.fromEntries(ofType('AWS::Lambda::EventInvokeConfig').map(([, c]) => [(c.Properties.FunctionName as { Ref: string }).Ref, c.Properties]));
    for (const fn of ['Verify', 'Catalog', 'Watchdog', 'Retention']) {
      expect(configs[`${fn}LambdaFunction`], fn).toMatchObject({ MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] } } } });
      expect(grants(`${fn}IamRoleLambdaExecution`, 'sqs:SendMessage')?.Resource, fn).toEqual({ 'Fn::GetAtt': ['FailedEventsQueue', 'Arn'] });
    }
    expect((resources.FailedEventsQueue as Resource).Properties).toMatchObject({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    // `binvault redrive --queue URL` takes it from the stack's outputs.
    expect(outputs.FailedEventsQueueUrl?.Value).toEqual({ Ref: 'FailedEventsQueue' });
  });

  it('lets retention delete versions and read locks, and sets the bucket’s default retention only when objectLockDays > 0', () => {
    for (const action of ['s3:DeleteObjectVersion', 's3:GetObjectRetention', 's3:GetObjectLegalHold', 's3:ListBucketVersions']) {
      expect(grants('RetentionIamRoleLambdaExecution', action), action).toBeDefined();
    }
    const bucket = resources.S3BucketBackups as Resource;
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({
      'Fn::If': ['HasObjectLockDays', { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: '0' } } }, { Ref: 'AWS::NoValue' }],
    });
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: { NoncurrentVersionExpiration?: { NoncurrentDays: number } }[] }).Rules;
    expect(rules.find((r) => r.NoncurrentVersionExpiration)?.NoncurrentVersionExpiration?.NoncurrentDays).toBe(7);
  });

  it('has the drill state machine from its own file, its schedule (weekly by default, off by a parameter) and its starters’ grants', () => {
    const definition = JSON.stringify((resources.DrillStateMachine as Resource).Properties.DefinitionString);
    for (const fn of ['DrillPlan', 'DrillProvision', 'DrillLoadDumps', 'DrillReplayBinlogs', 'DrillRetireLater', 'DrillSnapshot', 'DrillCheckSteps', 'DrillCompare', 'DrillCleanup', 'DrillReportFailure']) {
      expect(definition, fn).toContain(`${fn}LambdaFunction`);
    }
    expect((resources.DrillStateMachine as Resource).Properties.StateMachineName).toBe('binvault-drill-ci');
    const schedule = resources.DrillSchedule as Resource & { Condition?: string };
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Condition).toBe('HasDrillSchedule');
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 3 ? * SUN *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': ['DrillScheduleLambdaFunction', 'Arn'] }, RoleArn: { 'Fn::GetAtt': ['DrillSchedulerRole', 'Arn'] } },
    });
    const conditions = (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Conditions: Record<string, unknown> }).Conditions;
    expect(JSON.stringify(conditions.HasDrillSchedule)).toContain('"off"');
    expect(JSON.stringify(conditions.HasDrillSchedule)).toContain('"0"');
    const schedulerRole = resources.DrillSchedulerRole as Resource;
    expect(JSON.stringify(schedulerRole.Properties.AssumeRolePolicyDocument)).toContain('scheduler.amazonaws.com');
    const invoke = ((schedulerRole.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[])[0]?.PolicyDocument.Statement ?? [])[0];
    expect(invoke).toMatchObject({ Action: ['lambda:InvokeFunction'], Resource: { 'Fn::GetAtt': ['DrillScheduleLambdaFunction', 'Arn'] } });
    // The schedule's function and the catalog (every-dump) may start the drill machine, and nothing else.
    const drillArn = { 'Fn::Join': ['', ['arn:aws:states:us-east-1:', { Ref: 'AWS::AccountId' }, ':stateMachine:binvault-drill-ci']] };
    for (const role of ['DrillScheduleIamRoleLambdaExecution', 'CatalogIamRoleLambdaExecution']) expect(grants(role, 'states:StartExecution')?.Resource, role).toEqual(drillArn);
    const catalogEnv = ((resources.CatalogLambdaFunction as Resource).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(catalogEnv.BINVAULT_DRILL).toBe('scheduled');
    expect(catalogEnv.BINVAULT_DRILL_STATE_MACHINE_ARN).toEqual(drillArn);
    // The restore instance may write only a drill's snapshots.
    const instanceStatements = ((resources.RestoreInstanceRole as Resource).Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
    expect(instanceStatements.filter((st) => ([] as string[]).concat(st.Action).includes('s3:PutObject')).map((st) => st.Resource)).toEqual([
      ['arn:aws:s3:::binvault-ci-backups/mysql/*/drills/*/*/restored.json', 'arn:aws:s3:::binvault-ci-backups/mysql/*/drills/*/*/dump.json'],
    ]);
    // An aborted or timed-out drill's instances are terminated as a restore's are.
    const rule = ofType('AWS::Events::Rule').find(([, r]) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('ABORTED'));
    expect(JSON.stringify(rule?.[1].Properties.EventPattern)).toContain('binvault-drill-ci');
    expect(JSON.stringify(rule?.[1].Properties.EventPattern)).toContain('TIMED_OUT');
  });

  it('gives both state machines an execution timeout, the one their definitions carry (their unit tests derive it), so that no execution runs on forever', () => {
    for (const [machine, file] of [['RestoreStateMachine', 'infra/restore.asl.json'], ['DrillStateMachine', 'infra/drill.asl.json']] as const) {
      // The packaged definition is a JSON string inside the template (an Fn::Sub): its quotes escaped once more.
      const packaged = JSON.stringify((resources[machine] as Resource).Properties.DefinitionString);
      const timeout = (JSON.parse(readFileSync(file, 'utf8')) as { TimeoutSeconds: number }).TimeoutSeconds;
      expect(timeout, machine).toBeGreaterThan(86_400);
      expect(packaged, machine).toMatch(new RegExp(`TimeoutSeconds\\\\*"\\s*:\\s*${timeout}[,}\\\\\\s]`));
    }
  });
});

describe('infra/serverless.yml parameters checked before packaging (plugins/check-params.cjs)', () => {
  it('refuses a drillSchedule EventBridge Scheduler would refuse, with one line naming it, before anything is built or packaged', async () => {
    const dir = '.serverless-badparam';
    const failed = await run('flock', ['infra/.package.lock', 'npm', 'run', 'infra:package', '--', '--param=drillSchedule=cron(0 3 * * SUN)', '--param=timeZone=Europe/Nowhere'], {
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', BINVAULT_PACKAGE_DIR: dir },
      maxBuffer: 16 << 20,
    }).then(
      () => undefined,
      (e: unknown) => e as { code: number; stdout: string; stderr: string },
    );

    expect(failed?.code).not.toBe(0);
    const output = `${failed?.stdout ?? ''}${failed?.stderr ?? ''}`;
    expect(output).toContain("drillSchedule 'cron(0 3 * * SUN)': a cron expression has 6 fields (minutes hours day-of-month month day-of-week year); this one has 5");
    expect(output).toContain("timeZone 'Europe/Nowhere': not an IANA time zone");
    // Nothing was built: the check runs before the functions are bundled.
    expect(existsSync(`infra/${dir}/cloudformation-template-update-stack.json`)).toBe(false);
  }, 120_000);
});
