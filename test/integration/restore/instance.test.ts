import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Context } from 'aws-lambda';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sizeRestoreInstance } from '../../../core/restore/sizing.js';
import { Ec2Provisioner, restoreCommands } from '../../../drivers/aws/ec2-restore.js';
import { cleanupAborted } from '../../../drivers/aws/restore-aborted.js';
import { listedFor, RESTORE_ROLES } from '../../helpers/aws-calls.js';

const run = promisify(execFile);
const SCRIPT = 'scripts/restore-instance.sh';
const DUMPS = '/work/shared/fixtures/dumps/real';

/**
 * The restore instance: what the provisioner asks of EC2 (SDK-level fakes, every command asserted)
 * and what runs on the instance (scripts/restore-instance.sh, run here as it runs there).
 */
describe('restore instance', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    ec2.reset();
    ssm.reset();
    vi.unstubAllEnvs();
  });

  it('starts the instance the plan needs in the given subnet, and waits for it to run and for its SSM agent', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', State: { Name: 'pending' } }] }] })
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.12' }] }] });
    // The agent registers a little after the instance runs: no entry, then Online.
    ssm.on(DescribeInstanceInformationCommand).resolvesOnce({ InstanceInformationList: [] }).resolves({ InstanceInformationList: [{ InstanceId: 'i-0abc', PingStatus: 'Online' }] });
    const provisioner = new Ec2Provisioner(new EC2Client({ region: 'eu-west-1' }), new SSMClient({ region: 'eu-west-1' }), { launchTemplate: 'binvault-restore-prod', subnetId: 'subnet-0abc', pollMs: 1 });
    const GiB = 1024 ** 3;

    const instance = await provisioner.provision('restore-x', sizeRestoreInstance({ dump: { size: 50 * GiB }, bytes: 60 * GiB }));

    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input).toMatchObject({
      LaunchTemplate: { LaunchTemplateName: 'binvault-restore-prod', Version: '$Latest' },
      SubnetId: 'subnet-0abc',
      InstanceType: 'm7i.xlarge',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 406, VolumeType: 'gp3', Encrypted: true } }],
    });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(3);
    expect(ssm.commandCalls(DescribeInstanceInformationCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Key: 'InstanceIds', Values: ['i-0abc'] }] },
      { Filters: [{ Key: 'InstanceIds', Values: ['i-0abc'] }] },
    ]);
    expect(instance).toMatchObject({ id: 'i-0abc', kind: 'ec2', host: '10.0.0.12', defaultsFile: '/etc/binvault/restore.cnf' });
    expect(instance.connect).toContain('--region eu-west-1 --target i-0abc');
    const received = [...ec2.calls().map((c) => ['ec2', c.args[0].constructor.name] as const), ...ssm.calls().map((c) => ['ssm', c.args[0].constructor.name] as const)];
    expect(received.flatMap(([service, name]) => listedFor(service, name, [RESTORE_ROLES.Provision]))).toEqual([]);
  });

  it('runs every task but Provision without the launch template setting (each task is its own function)', async () => {
    vi.stubEnv('BINVAULT_BUCKET', 'binvault-ci-backups');
    vi.stubEnv('BINVAULT_RESTORE_LAUNCH_TEMPLATE', undefined as unknown as string);
    vi.stubEnv('BINVAULT_ALERT_TOPIC_ARN', undefined as unknown as string);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const handlers = await import('../../../functions/restore/handler.js');
    const context = { functionName: 'restoreValidateInput', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

    const request = await handlers.validateInput({ host: 'db1', target: { latest: true }, execution: 'restore-x' }, context);

    expect(request).toMatchObject({ host: 'db1', target: { latest: true }, execution: 'restore-x' });
    await expect(handlers.provision({ request } as never, context)).rejects.toThrow('BINVAULT_RESTORE_LAUNCH_TEMPLATE is not set');
  });

  it('terminates the instances of an execution stopped from the console, found by the name ValidateInput gave it', async () => {
    const sfn = mockClient(SFNClient);
    try {
      sfn.on(GetExecutionHistoryCommand).resolves({
        events: [
          { id: 1, type: 'ExecutionStarted', timestamp: new Date() },
          { id: 5, type: 'TaskStateExited', timestamp: new Date(), stateExitedEventDetails: { name: 'ValidateInput', output: JSON.stringify({ request: { host: 'db1', execution: 'restore-20261204T100000Z-a1b2c3' } }) } },
          { id: 9, type: 'ExecutionAborted', timestamp: new Date() },
        ],
      });
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc' }] }] });
      ec2.on(TerminateInstancesCommand).resolves({});
      const arn = 'arn:aws:states:us-east-1:123456789012:execution:binvault-restore-ci:console-1';

      const result = await cleanupAborted({ sfn: new SFNClient({ region: 'us-east-1' }), ec2: new EC2Client({ region: 'us-east-1' }) }, { detail: { executionArn: arn, status: 'ABORTED' } });

      expect(result).toEqual({ execution: 'restore-20261204T100000Z-a1b2c3', terminated: ['i-0abc'] });
      expect(sfn.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input).toMatchObject({ executionArn: arn, includeExecutionData: true });
      expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toContainEqual({ Name: 'tag:binvault:execution', Values: ['restore-20261204T100000Z-a1b2c3'] });
      expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0abc'] }]);
      const received = [...sfn.calls().map((c) => ['sfn', c.args[0].constructor.name] as const), ...ec2.calls().map((c) => ['ec2', c.args[0].constructor.name] as const)];
      expect(received.flatMap(([service, name]) => listedFor(service, name, [RESTORE_ROLES.Aborted]))).toEqual([]);
      // A succeeded or failed execution is not this function's (Cleanup ran in it).
      expect(await cleanupAborted({ sfn: new SFNClient({ region: 'us-east-1' }), ec2: new EC2Client({ region: 'us-east-1' }) }, { detail: { executionArn: arn, status: 'FAILED' } })).toEqual({ terminated: [] });
    } finally {
      sfn.restore();
    }
  });

  it('names the server of each real dump (flavor and major version) from its header', async () => {
    const named: Record<string, string> = {};
    for (const file of readdirSync(DUMPS).filter((f) => /\.sql(\.gz)?$/.test(f))) {
      named[file] = (await run('bash', [SCRIPT, 'server-of', `${DUMPS}/${file}`])).stdout.trim();
    }
    expect(named).toEqual({
      'mariadb100-master-data1-gtid-empty-schema-only.sql.gz': 'mariadb 10.0',
      'mariadb114-master-data2-deferred-gtid-multidb.sql': 'mariadb 11.4',
      'mariadb118-master-data2-deferred-gtid-comment.sql': 'mariadb 11.8',
      'mariadb55-master-data1-sakila-triggers-routines.sql.gz': 'mariadb 5.5',
      'mysql57client-mysql56server-gtid-multiline-crlf.sql': 'mysql 5.6',
      'mysql80-gtid-purged-plain-no-coordinates.sql': 'mysql 8.0',
      'mysql80-master-data2-commented-single-db.sql': 'mysql 8.0',
      'percona80-master-data2-multidb-views-routines.sql': 'mysql 8.0',
      'percona84-change-replication-source-multidb.sql': 'mysql 8.4',
    });
  });

  it('installs the source’s server from the vendor’s repository, the oldest one still published for an older major', async () => {
    const mariadb = await run('bash', [SCRIPT, 'install-server', 'mariadb', '11.4', '--dry-run']);
    expect(mariadb.stdout).toContain('baseurl=https://rpm.mariadb.org/11.4/rhel/9/$basearch');
    expect(mariadb.stdout).toContain('dnf install -y MariaDB-server MariaDB-client');
    const old = await run('bash', [SCRIPT, 'install-server', 'mariadb', '5.5', '--dry-run']);
    expect(old.stdout).toContain('https://rpm.mariadb.org/10.6/');
    expect(old.stderr).toContain('mariadb 5.5 is no longer published: installing 10.6');
    const mysql = await run('bash', [SCRIPT, 'install-server', 'mysql', '8.4', '--dry-run']);
    expect(mysql.stdout).toContain('baseurl=https://repo.mysql.com/yum/mysql-8.4-community/el/9/$basearch');
    expect(mysql.stdout).toContain('dnf install -y mysql-community-server mysql-community-client');
  });

  it('refuses in one line what it cannot do', async () => {
    await expect(run('bash', [SCRIPT, 'install-server', 'postgres', '16', '--dry-run'])).rejects.toMatchObject({ stderr: "binvault-restore-instance: unknown server flavor 'postgres' (mariadb or mysql)\n" });
    await expect(run('bash', [SCRIPT, 'server-of', 'package.json'])).rejects.toMatchObject({ stderr: 'binvault-restore-instance: the dump package.json names no server version in its header\n' });
  });

  it('builds the artifacts the user data fetches: one-file binvault that runs `restore apply`, its sha256, the instance script', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    await run('node', ['scripts/artifacts.mjs'], { maxBuffer: 1 << 20 });
    const bundle = `dist/artifacts/binvault-${version}.mjs`;
    const sha256 = createHash('sha256').update(readFileSync(bundle)).digest('hex');
    expect(readFileSync(`${bundle}.sha256`, 'utf8')).toBe(`${sha256}  binvault-${version}.mjs\n`);
    expect((await run('node', [bundle, 'restore', 'apply', '--help'])).stdout).toContain('usage: binvault restore apply --step load|replay|reached');
    expect(readFileSync(`dist/artifacts/restore-instance-${version}.sh`, 'utf8')).toBe(readFileSync(SCRIPT, 'utf8'));
  }, 120_000);

  it('sends SSM shell lines that bash reads, the load preparing the instance first', async () => {
    const load = restoreCommands('load', '/etc/binvault/restore.cnf', 's3://b/mysql/db1/restores/x/plan.json');
    expect(load).toContain('/usr/local/sbin/binvault-restore-instance prepare s3://b/mysql/db1/restores/x/plan.json >&2');
    for (const step of ['load', 'replay', 'reached'] as const) {
      const lines = restoreCommands(step, '/etc/binvault/restore.cnf', step === 'reached' ? undefined : 's3://b/k');
      await run('bash', ['-n', '-c', lines.join('\n')]);
    }
    await run('bash', ['-n', SCRIPT]);
  });
});
