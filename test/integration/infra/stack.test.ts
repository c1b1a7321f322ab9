import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
const TEMPLATE = 'infra/.serverless/cloudformation-template-update-stack.json';

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
  const ofType = (type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);

  beforeAll(async () => {
    await run('npm', ['run', 'infra:package'], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, maxBuffer: 16 << 20 });
    resources = (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
  }, 300_000);

  it('passes asl-validator: the restore state machine definition', async () => {
    const { stdout } = await run('npx', ['asl-validator', '--json-path', 'infra/restore.asl.json']);
    expect(stdout).toContain('is valid');
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
    expect(roles.length).toBe(15);
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
    const [machine] = ofType('AWS::StepFunctions::StateMachine');
    const definition = JSON.stringify(machine?.[1].Properties.DefinitionString);
    for (const state of ['ValidateInput', 'Plan', 'Provision', 'LoadDump', 'ReplayBinlogs', 'Verify', 'Report', 'Cleanup', 'ReportFailure']) {
      expect(definition).toContain(state);
    }
    expect(definition).toContain('RestoreProvisionLambdaFunction');
    expect(ofType('AWS::CloudWatch::Alarm').length).toBeGreaterThanOrEqual(4);
    expect(ofType('AWS::SSM::Parameter').map(([, p]) => p.Properties.Name)).toEqual(
      expect.arrayContaining(['/binvault/ci/prefix', '/binvault/ci/restore-launch-template', '/binvault/ci/policy']),
    );
  });
});
