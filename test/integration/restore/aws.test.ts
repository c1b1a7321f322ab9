import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type DescribeInstancesCommandInput,
  type InstanceStateName,
  type RunInstancesCommandInput,
  type TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../core/ports.js';
import { Ec2Provisioner, SsmApplier } from '../../../drivers/aws/ec2-restore.js';
import { restoreTasks, type RestoreState } from '../../../core/restore/workflow.js';
import { restoreDefinition, runLocalStateMachine } from '../../../local/stepfunctions.js';
import { restoreOnAws } from '../../../shipper/commands/restore.js';
import { binlogSeries, dumpAt, T0, at } from '../../helpers/catalog.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';
import { listedFor, RESTORE_ROLES } from '../../helpers/aws-calls.js';

/** An instance of the EC2 fake: its state, and the tags RunInstances gave it. */
interface FakeInstance {
  state: InstanceStateName;
  tags: Record<string, string>;
}

/**
 * The AWS side of a restore, through the same state machine definition: EC2 and SSM Run Command
 * cannot run here, so SDK-level fakes answer them, and the tests assert the commands sent.
 */
describe('restore on AWS: EC2 provisioner and SSM Run Command (SDK-level fakes)', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  let bucket: TestBucket;
  const alerts: Alert[] = [];

  beforeAll(async () => {
    bucket = await startTestBucket('binvault');
    // A catalog as the catalog function writes it: ten binlogs and a dump at the start.
    const binlogs = binlogSeries({ count: 10 });
    const dump = dumpAt(T0 + 30, 'binlog.000001');
    await bucket.store.put(
      'mysql/db1/catalog/2026-11-01.json',
      JSON.stringify({
        manifestVersion: 1,
        host: 'db1',
        day: '2026-11-01',
        previous: null,
        objects: [],
        binlogs: Object.fromEntries(binlogs.map((b) => [b.key, b])),
        dumps: { [dump.key]: dump },
        gapRecords: {},
        catalog: {},
        builtAt: at(T0),
      }),
    );
    // Its objects, empty: a plan refuses objects the bucket does not hold.
    for (const o of [...binlogs, dump]) await bucket.store.put(o.key, Buffer.alloc(0));
  });
  afterAll(() => bucket.close());
  afterEach(() => {
    ec2.reset();
    ssm.reset();
    alerts.length = 0;
  });

  const awsTasks = () =>
    restoreTasks({
      store: bucket.store,
      prefix: 'mysql',
      timeZone: 'UTC',
      provisioner: new Ec2Provisioner(new EC2Client({ region: 'us-east-1' }), new SSMClient({ region: 'us-east-1' }), { launchTemplate: 'binvault-restore', pollMs: 1 }),
      applier: new SsmApplier(new SSMClient({ region: 'us-east-1' }), { bucket: 'binvault', prefix: 'mysql', pollMs: 1 }),
      alerts: { publish: async (a) => void alerts.push(a) },
      clock: { now: () => new Date((T0 + 700) * 1000) },
    });

  const run = async (tasks: ReturnType<typeof awsTasks> = awsTasks()): Promise<RestoreState> =>
    (await runLocalStateMachine(restoreDefinition(), { host: 'db1', target: { time: at(T0 + 400) }, execution: 'restore-test' }, tasks as never)) as RestoreState;

  /**
   * EC2 as the restore uses it, over the instances it started: RunInstances starts the next of `ids`
   * with the request's instance tags, running at once; DescribeInstances answers by id or by filters
   * (`tag:KEY` and `instance-state-name`: a filter's values ORed, the filters ANDed, as EC2 does);
   * TerminateInstances is idempotent (a terminated instance again succeeds) and fails whole on an id
   * EC2 does not know (InvalidInstanceID.NotFound: none terminated).
   */
  const fleet = (ids: string[]): Map<string, FakeInstance> => {
    const instances = new Map<string, FakeInstance>();
    const next = [...ids];
    const notFound = (id: string): Error => Object.assign(new Error(`The instance ID '${id}' does not exist`), { name: 'InvalidInstanceID.NotFound' });
    ec2.on(RunInstancesCommand).callsFake(async (input: RunInstancesCommandInput) => {
      const id = next.shift();
      if (!id) throw Object.assign(new Error('no capacity left in this fake'), { name: 'InsufficientInstanceCapacity' });
      const tags = input.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags ?? [];
      instances.set(id, { state: 'running', tags: Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? ''])) });
      return { Instances: [{ InstanceId: id }] };
    });
    ec2.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => {
      const unknown = input.InstanceIds?.find((id) => !instances.has(id));
      if (unknown) throw notFound(unknown);
      const valueOf = (name: string, i: FakeInstance): string | undefined => (name === 'instance-state-name' ? i.state : name.startsWith('tag:') ? i.tags[name.slice(4)] : undefined);
      const found = [...instances].filter(([id, i]) => (input.InstanceIds?.includes(id) ?? true) && (input.Filters ?? []).every((f) => (f.Values ?? []).includes(valueOf(f.Name ?? '', i) ?? '')));
      return { Reservations: found.map(([id, i]) => ({ Instances: [{ InstanceId: id, State: { Name: i.state }, PrivateIpAddress: '10.0.0.12' }] })) };
    });
    ec2.on(TerminateInstancesCommand).callsFake(async (input: TerminateInstancesCommandInput) => {
      const unknown = input.InstanceIds?.find((id) => !instances.has(id));
      if (unknown) throw notFound(unknown);
      for (const id of input.InstanceIds ?? []) {
        const instance = instances.get(id);
        if (instance && instance.state !== 'terminated') instance.state = 'shutting-down';
      }
      return {};
    });
    return instances;
  };

  /** One instance (`i-0abc` unless told) that comes up with its SSM agent Online, and SSM taking commands. */
  const instanceUp = (ids = ['i-0abc']): ReturnType<typeof fleet> => {
    const instances = fleet(ids);
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ PingStatus: 'Online' }] });
    let n = 0;
    ssm.on(SendCommandCommand).callsFake(async () => ({ Command: { CommandId: `cmd-${++n}` } }));
    return instances;
  };

  /** The load, the replay and the reached GTIDs succeed (commands cmd-1, cmd-2, cmd-3). */
  const stepsSucceed = (): void => {
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-1' }).resolvesOnce({ Status: 'InProgress' }).resolves({ Status: 'Success', StandardOutputContent: '{"seconds":12,"bytes":1000}' });
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-2' }).resolves({ Status: 'Success', StandardOutputContent: JSON.stringify({ seconds: 3, bytes: 500, expected: { gtids: '0-1-70', events: 99, time: at(T0 + 399) } }) });
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-3' }).resolves({ Status: 'Success', StandardOutputContent: '{"gtids":"0-1-70"}' });
  };

  /** The DescribeInstances calls that looked for the execution's instances by its tag. */
  const sweeps = () => ec2.commandCalls(DescribeInstancesCommand).filter((c) => c.args[0].input.Filters?.some((f) => f.Name === 'tag:binvault:execution'));

  it('starts an instance from the launch template, runs load and replay on it, verifies, reports', async () => {
    instanceUp();
    stepsSucceed();

    const state = await run();

    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input).toMatchObject({
      LaunchTemplate: { LaunchTemplateName: 'binvault-restore' },
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: expect.arrayContaining([{ Key: 'binvault:execution', Value: 'restore-test' }]) },
        { ResourceType: 'volume', Tags: expect.arrayContaining([{ Key: 'binvault:execution', Value: 'restore-test' }]) },
      ],
      // Sized from the plan: the smallest type and the 30 GiB floor for this small catalog.
      InstanceType: 'm7i.large',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
    });
    const commands = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(commands.map((c) => c.Parameters?.commands?.at(-1))).toEqual([
      '/usr/local/bin/binvault restore apply --step load --plan s3://binvault/mysql/db1/restores/restore-test/plan.json --defaults-file /etc/binvault/restore.cnf --json',
      '/usr/local/bin/binvault restore apply --step replay --plan s3://binvault/mysql/db1/restores/restore-test/plan.json --defaults-file /etc/binvault/restore.cnf --json',
      '/usr/local/bin/binvault restore apply --step reached --defaults-file /etc/binvault/restore.cnf --json',
    ]);
    // The load prepares the instance first (the server of the dump's flavor), once.
    expect(commands.map((c) => c.Parameters?.commands?.some((l) => l.includes('binvault-restore-instance prepare s3://binvault/mysql/db1/restores/restore-test/plan.json')))).toEqual([true, false, false]);
    // Every command the fakes received is a call the IAM test simulates for the restore's roles.
    const received = [
      ...ec2.calls().map((c) => ['ec2', c.args[0].constructor.name] as const),
      ...ssm.calls().map((c) => ['ssm', c.args[0].constructor.name] as const),
    ];
    expect(received.flatMap(([service, name]) => listedFor(service, name, Object.values(RESTORE_ROLES)))).toEqual([]);
    expect(commands.every((c) => c.InstanceIds?.[0] === 'i-0abc' && c.DocumentName === 'AWS-RunShellScript')).toBe(true);
    expect(state.verification).toMatchObject({ ok: true, reached: { gtids: '0-1-70' } });
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(alerts.map((a) => a.type)).toEqual(['restore-succeeded']);
    // The connect command: through SSM (the instance has no inbound rule), in the execution's output and the alert.
    const connect = `aws ssm start-session --region us-east-1 --target i-0abc --document-name AWS-StartInteractiveCommand --parameters 'command=["sudo mysql --defaults-file=/etc/binvault/restore.cnf"]'`;
    expect(state.instance.connect).toBe(connect);
    expect((state as RestoreState & { report: { connect?: string } }).report.connect).toBe(connect);
    expect(alerts[0]?.message).toContain(`connect: ${connect}`);
    const plan = JSON.parse((await bucket.store.getBytes('mysql/db1/restores/restore-test/plan.json')).toString()) as { binlogs: { name: string }[] };
    expect(plan.binlogs.map((b) => b.name)).toEqual(['binlog.000001', 'binlog.000002', 'binlog.000003', 'binlog.000004', 'binlog.000005', 'binlog.000006', 'binlog.000007']);
  });

  it('a restore that succeeds with no other instance of its execution looks for them by tag and terminates nothing', async () => {
    const instances = instanceUp();
    stepsSucceed();

    const state = await run();

    expect(state.instance.id).toBe('i-0abc');
    expect(sweeps().map((c) => c.args[0].input.Filters)).toEqual([
      [
        { Name: 'tag:binvault:execution', Values: ['restore-test'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    ]);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(state.strays).toEqual({ cleaned: false });
    expect(instances.get('i-0abc')?.state).toBe('running');
    expect(alerts.map((a) => a.type)).toEqual(['restore-succeeded']);
  });

  it('a restore that succeeds after a retried Provision terminates the instance the first attempt started, and never the one it delivers', async () => {
    // The first attempt starts i-0first and its answer is lost (its Lambda fails after RunInstances):
    // Step Functions retries Provision, which starts i-0abc; both carry the execution's tag.
    const instances = instanceUp(['i-0first', 'i-0abc']);
    stepsSucceed();
    const tasks = awsTasks();
    let attempts = 0;
    const provision: typeof tasks.Provision = async (input) => {
      const instance = await tasks.Provision(input);
      if (++attempts === 1) throw Object.assign(new Error(`the answer naming ${instance.id} was lost`), { name: 'Lambda.ServiceException' });
      return instance;
    };

    const state = await run({ ...tasks, Provision: provision });

    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(2);
    expect(state.instance.id).toBe('i-0abc');
    expect(sweeps()).toHaveLength(1);
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0first'] }]);
    expect(state.strays).toEqual({ cleaned: true, terminated: ['i-0first'] });
    expect(instances.get('i-0first')?.state).toBe('shutting-down');
    expect(instances.get('i-0abc')?.state).toBe('running');
    // The load, the replay and the check ran on the instance delivered, which the user gets.
    expect(ssm.commandCalls(SendCommandCommand).every((c) => c.args[0].input.InstanceIds?.[0] === 'i-0abc')).toBe(true);
    expect(alerts.map((a) => a.type)).toEqual(['restore-succeeded']);
    expect(alerts[0]?.message).toContain('(ec2 i-0abc)');
    const report = JSON.parse((await bucket.store.getBytes('mysql/db1/restores/restore-test/report.json')).toString()) as { status: string; strays?: unknown; instance: { id: string } };
    expect(report).toMatchObject({ status: 'succeeded', strays: { terminated: ['i-0first'] }, instance: { id: 'i-0abc' } });
    // CleanupStrays runs the Cleanup function: its role finds and terminates them.
    expect([...listedFor('ec2', 'DescribeInstancesCommand', [RESTORE_ROLES.Cleanup]), ...listedFor('ec2', 'TerminateInstancesCommand', [RESTORE_ROLES.Cleanup])]).toEqual([]);
  });

  it('a restore whose search for other instances keeps failing still succeeds, and its report and alert say one may still run', async () => {
    const instances = instanceUp();
    stepsSucceed();
    ec2.on(DescribeInstancesCommand, { Filters: [{ Name: 'tag:binvault:execution', Values: ['restore-test'] }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }).rejects(
      Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' }),
    );

    const state = await run();

    // The first attempt and CleanupStrays' three retries.
    expect(sweeps()).toHaveLength(4);
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(instances.get('i-0abc')?.state).toBe('running');
    const warning = 'an instance tagged binvault:execution=restore-test other than i-0abc may still run (terminating it failed: Request limit exceeded.)';
    expect(state.straysError?.Error).toBe('RequestLimitExceeded');
    expect(alerts.map((a) => a.type)).toEqual(['restore-succeeded']);
    expect(alerts[0]?.message).toContain(warning);
    const report = JSON.parse((await bucket.store.getBytes('mysql/db1/restores/restore-test/report.json')).toString()) as { status: string; warning?: string };
    expect(report).toMatchObject({ status: 'succeeded', warning });
  });

  it('Cleanup terminates by tag an instance of the execution that $.instance does not name (a Provision that failed or was retried)', async () => {
    ec2.on(DescribeInstancesCommand).callsFake(async (input: { Filters?: { Name?: string; Values?: string[] }[] }) => {
      const tags = input.Filters?.find((f) => f.Name === 'tag:binvault:execution')?.Values ?? [];
      return { Reservations: tags.includes('restore-left') ? [{ Instances: [{ InstanceId: 'i-0left', State: { Name: 'pending' } }] }] : [] };
    });
    ec2.on(TerminateInstancesCommand).resolves({});
    const tasks = restoreTasks({
      store: bucket.store,
      prefix: 'mysql',
      timeZone: 'UTC',
      provisioner: new Ec2Provisioner(new EC2Client({ region: 'us-east-1' }), new SSMClient({ region: 'us-east-1' }), { launchTemplate: 'binvault-restore' }),
      applier: undefined as never,
      alerts: { publish: async () => undefined },
      clock: { now: () => new Date() },
    });

    const out = await tasks.Cleanup({ request: { host: 'db1', target: { latest: true }, dryRun: false, execution: 'restore-left' } as RestoreState['request'] });

    expect(out).toEqual({ cleaned: true, terminated: ['i-0left'] });
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0left'] }]);
    expect([...listedFor('ec2', 'DescribeInstancesCommand', [RESTORE_ROLES.Cleanup]), ...listedFor('ec2', 'TerminateInstancesCommand', [RESTORE_ROLES.Cleanup])]).toEqual([]);
  });

  it('Provision terminates an instance whose SSM agent never comes online before it throws', async () => {
    instanceUp();
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const provisioner = new Ec2Provisioner(new EC2Client({ region: 'us-east-1' }), new SSMClient({ region: 'us-east-1' }), { launchTemplate: 'binvault-restore', pollMs: 1, timeoutMs: 20 });

    await expect(provisioner.provision('restore-slow')).rejects.toThrow(/^instance i-0abc was not reachable through SSM within/);

    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0abc'] }]);
    expect(listedFor('ec2', 'TerminateInstancesCommand', [RESTORE_ROLES.Provision])).toEqual([]);
  });

  it('terminates the instance when the restore fails on it, and reports the failure', async () => {
    instanceUp();
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StandardErrorContent: 'binvault: loading the dump failed: ERROR 1064 (42000) at line 12' });

    await expect(run()).rejects.toThrow();

    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0abc'] }]);
    expect(listedFor('ec2', 'TerminateInstancesCommand', [RESTORE_ROLES.Cleanup])).toEqual([]);
    expect(alerts).toMatchObject([{ type: 'restore-failed', host: 'db1' }]);
    expect(alerts[0]?.message).toContain('ERROR 1064 (42000) at line 12');
    const report = JSON.parse((await bucket.store.getBytes('mysql/db1/restores/restore-test/report.json')).toString()) as { status: string };
    expect(report.status).toBe('failed');
  });

  it('the CLI starts an execution of the deployed state machine and follows it', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:binvault-restore:x' });
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING' }).resolves({ status: 'SUCCEEDED', output: JSON.stringify({ request: { host: 'db1', execution: 'x' } }) });
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined, json: true, verbose: false };

    const code = await restoreOnAws(new SFNClient({ region: 'us-east-1' }), 'arn:aws:states:us-east-1:123456789012:stateMachine:binvault-restore', { host: 'db1', target: { latest: true } }, io, 1);

    expect(code).toBe(0);
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:binvault-restore');
    expect(JSON.parse(input?.input ?? '{}')).toMatchObject({ host: 'db1', target: { latest: true } });
    expect(sfn.commandCalls(DescribeExecutionCommand).length).toBe(2);
    expect(JSON.parse(out[0] ?? '{}')).toMatchObject({ status: 'succeeded', host: 'db1' });
    sfn.restore();
  });

  it('the CLI ends a restore on AWS with the command that connects to the new server', async () => {
    const sfn = mockClient(SFNClient);
    const connect = 'aws ssm start-session --region us-east-1 --target i-0abc --document-name AWS-StartInteractiveCommand --parameters …';
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:binvault-restore:x' });
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'SUCCEEDED',
      output: JSON.stringify({ request: { host: 'db1', execution: 'x' }, plan: { targetTime: '2026-11-20T15:04:05Z' }, instance: { id: 'i-0abc', host: '10.0.0.12', connect } }),
    });
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined, json: false, verbose: false };

    expect(await restoreOnAws(new SFNClient({ region: 'us-east-1' }), 'arn:aws:states:us-east-1:123456789012:stateMachine:binvault-restore', { host: 'db1', target: { latest: true } }, io, 1)).toBe(0);

    expect(out).toEqual(['restored db1 to 2026-11-20T15:04:05Z on i-0abc (10.0.0.12): see arn:aws:states:us-east-1:123456789012:execution:binvault-restore:x', connect]);
    sfn.restore();
  });
});
