import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
// AGPL-3.0: a test-only development tool (devDependency), never bundled nor shipped.
import { isWildcardOnlyAction, runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, ALERTS_KEY_ARN, AWS_CALLS, BUCKET, FAILED_EVENTS_QUEUE_ARN, PREFIX, REGION, TOPIC_ARN, type AwsCall } from '../../helpers/aws-calls.js';

const run = promisify(execFile);
// Its own package directory: the infra tests package at once, in parallel.
const PACKAGE_DIR = '.serverless-iam';
const TEMPLATE = `infra/${PACKAGE_DIR}/cloudformation-template-update-stack.json`;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

/** The template's intrinsic functions, resolved as CloudFormation would for the test account. */
const resolver = (resources: Record<string, Resource>) => {
  const arnOf = (logicalId: string): string => {
    const r = resources[logicalId];
    if (!r) throw new Error(`no resource ${logicalId}`);
    if (r.Type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT}:role/${String(r.Properties.RoleName ?? logicalId)}`;
    if (r.Type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${String(r.Properties.FunctionName ?? logicalId)}`;
    if (r.Type === 'AWS::SNS::Topic') return TOPIC_ARN;
    if (r.Type === 'AWS::KMS::Key') return ALERTS_KEY_ARN;
    if (r.Type === 'AWS::SQS::Queue') return FAILED_EVENTS_QUEUE_ARN;
    if (r.Type === 'AWS::EC2::LaunchTemplate') return `arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/lt-0abc`;
    throw new Error(`no ARN for ${logicalId} (${r.Type})`);
  };
  const pseudo: Record<string, string> = { 'AWS::AccountId': ACCOUNT, 'AWS::Region': REGION, 'AWS::Partition': 'aws' };
  const ref = (name: string): string => pseudo[name] ?? (resources[name]?.Type === 'AWS::SNS::Topic' ? TOPIC_ARN : arnOf(name));
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return ref(o.Ref as string);
    if ('Fn::GetAtt' in o) return arnOf((o['Fn::GetAtt'] as string[])[0] as string);
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(sep);
    }
    if ('Fn::Sub' in o) {
      const arg = o['Fn::Sub'];
      const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => String(name in vars ? resolve(vars[name]) : ref(name)));
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
};

const asList = <T>(v: T | T[]): T[] => ([] as T[]).concat(v);

/**
 * IAM proven offline: every AWS call the code makes (test/helpers/aws-calls.ts) is simulated with
 * @cloud-copilot/iam-simulate, which knows which actions take which resource types and condition
 * keys, against the policies of its role in the packaged template. A call a role does not allow
 * fails, and so does a grant no call uses.
 */
describe('IAM of the packaged stack', () => {
  let resources: Record<string, Resource>;
  let policies: Record<string, PolicyDocument[]>;
  let keyPolicy: unknown;

  beforeAll(async () => {
    // One packaging at a time (osls's build directory is shared): the infra tests run in parallel.
    await run('flock', ['infra/.package.lock', 'npm', 'run', 'infra:package'], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', BINVAULT_PACKAGE_DIR: PACKAGE_DIR }, maxBuffer: 16 << 20 });
    resources = (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
    const resolve = resolver(resources);
    policies = {};
    for (const [name, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const inline = ((r.Properties.Policies ?? []) as { PolicyDocument: unknown }[]).map((p) => resolve(p.PolicyDocument) as PolicyDocument);
      policies[name] = inline;
    }
    keyPolicy = resolve((resources.AlertsKey as Resource).Properties.KeyPolicy);
  }, 300_000);

  const simulate = async (role: string, call: AwsCall): Promise<string> => {
    const result = await runSimulation(
      {
        identityPolicies: (policies[role] ?? []).map((policy, i) => ({ name: `${role}-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        // A KMS key is used only as its key policy allows (here: it delegates to the account's IAM).
        ...(call.action.startsWith('kms:') ? { resourcePolicy: keyPolicy } : {}),
        request: {
          action: call.action,
          principal: `arn:aws:iam::${ACCOUNT}:role/${role}`,
          resource: { accountId: ACCOUNT, resource: call.resource },
          contextVariables: call.context ?? {},
        },
      },
      {},
    );
    if (result.resultType === 'error') return `error: ${JSON.stringify(result.errors)}`;
    return result.overallResult;
  };

  it('allows every call the code makes, each by the role of its caller', async () => {
    const denied: string[] = [];
    for (const [role, calls] of Object.entries(AWS_CALLS)) {
      expect(policies[role], `the template has no role ${role}`).toBeDefined();
      for (const call of calls) {
        const outcome = await simulate(role, call);
        if (outcome !== 'Allowed') denied.push(`${role}: ${call.action} on ${call.resource} → ${outcome} (${call.why})`);
      }
    }
    expect(denied).toEqual([]);
  });

  it('grants no action that no call of that role uses (the logs the framework grants aside)', () => {
    const unused: string[] = [];
    for (const [role, docs] of Object.entries(policies)) {
      const calls = AWS_CALLS[role];
      if (!calls) continue;
      for (const statement of docs.flatMap((d) => d.Statement)) {
        for (const action of asList(statement.Action)) {
          if (action.startsWith('logs:')) continue;
          if (!calls.some((c) => c.action === action)) unused.push(`${role}: ${action}`);
        }
      }
    }
    expect(unused).toEqual([]);
  });

  it('lists a call for every role of a function, and for the restore instance', () => {
    const lambdaRoles = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => (r.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] as string);
    expect(lambdaRoles.filter((r) => !(r in AWS_CALLS))).toEqual([]);
    expect(resources.RestoreInstanceRole?.Type).toBe('AWS::IAM::Role');
  });

  it('grants no wildcard action, and a `*` resource only to actions that take no resource ARN', async () => {
    const wrong: string[] = [];
    for (const [role, docs] of Object.entries(policies)) {
      for (const statement of docs.flatMap((d) => d.Statement)) {
        for (const action of asList(statement.Action)) {
          if (action.includes('*')) wrong.push(`${role}: wildcard action ${action}`);
          const [service, name] = action.split(':') as [string, string];
          if (asList(statement.Resource).includes('*') && !(await isWildcardOnlyAction(service, name))) wrong.push(`${role}: ${action} on *`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('grants SendCommand on AWS-RunShellScript as AWS names it (an AWS-owned document: no account in its ARN)', () => {
    const asAws = `arn:aws:ssm:${REGION}::document/AWS-RunShellScript`;
    const matches = (pattern: string): boolean => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.?+^$()[\]{}|\\/]/g, '\\$&')).join('.*')}$`).test(asAws);
    for (const role of ['RestoreLoadDumpIamRoleLambdaExecution', 'RestoreReplayBinlogsIamRoleLambdaExecution', 'RestoreVerifyIamRoleLambdaExecution']) {
      const granted = (policies[role] ?? []).flatMap((d) => d.Statement).filter((s) => asList(s.Action).includes('ssm:SendCommand')).flatMap((s) => asList(s.Resource));
      expect(granted.some(matches), `${role}: ${granted.join(', ')}`).toBe(true);
    }
  });

  it('lets the restore instance write a drill’s snapshots, not the drill record they sit beside', async () => {
    const put = (key: string): AwsCall => ({ action: 's3:PutObject', resource: `arn:aws:s3:::${BUCKET}/${PREFIX}/${key}`, why: 'test' });

    expect(await simulate('RestoreInstanceRole', put('db1/drills/2026-11-20/drill-x/restored.json'))).toBe('Allowed');
    expect(await simulate('RestoreInstanceRole', put('db1/drills/2026-11-20/drill-x/dump.json'))).toBe('Allowed');
    expect(await simulate('RestoreInstanceRole', put('db1/drills/2026-11-20/drill-x.json'))).toBe('ImplicitlyDenied');
    expect(await simulate('RestoreInstanceRole', put('db1/drills/2026-11-20/drill-x/other.json'))).toBe('ImplicitlyDenied');
  });

  it('would deny the status check with the old grant (ssm:GetCommandInvocation on arn:aws:ssm:region:account:*)', async () => {
    const saved = policies.RestoreCheckStepIamRoleLambdaExecution;
    policies.RestoreCheckStepIamRoleLambdaExecution = [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ssm:GetCommandInvocation'], Resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:*` }] },
    ];
    try {
      const call = AWS_CALLS.RestoreCheckStepIamRoleLambdaExecution?.[0] as AwsCall;
      expect(await simulate('RestoreCheckStepIamRoleLambdaExecution', call)).toBe('ImplicitlyDenied');
    } finally {
      policies.RestoreCheckStepIamRoleLambdaExecution = saved as PolicyDocument[];
    }
  });
});
