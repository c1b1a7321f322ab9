import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Event } from 'aws-lambda';
import { parseConfig } from '../../../core/config.js';
import { catalogEvent } from '../../../functions/catalog/handler.js';
import { drillOnAws } from '../../../shipper/commands/drill.js';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseS3Url } from '../../../core/layout.js';
import type { Alert } from '../../../core/ports.js';
import type { DrillRecord } from '../../../core/restore/drill.js';
import { startDrillForRecord, startScheduledDrills } from '../../../core/restore/drill-start.js';
import { drillTasks, type DrillState } from '../../../core/restore/drill-workflow.js';
import { Ec2Provisioner, SsmApplier } from '../../../drivers/aws/ec2-restore.js';
import { cleanupAborted } from '../../../drivers/aws/restore-aborted.js';
import { SfnDrillStarter } from '../../../drivers/aws/sfn.js';
import { drillDefinition, runLocalStateMachine } from '../../../local/stepfunctions.js';
import { DRILL_ROLES, listedFor, RESTORE_ROLES } from '../../helpers/aws-calls.js';
import { at, binlogSeries, dumpAt, recordOf, T0 } from '../../helpers/catalog.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';

const SNAPSHOT = { tables: { 'shop.orders': { checksum: '123', rows: 5, columns: 'id int(11) NO NULL auto_increment', primaryKey: true } }, definitions: {} };

/**
 * The drill on AWS, through the same state machine definition (infra/drill.asl.json): EC2 and SSM
 * Run Command cannot run here, so SDK-level fakes answer them and the tests assert the commands
 * sent; a snapshot command's fake writes the snapshot to the bucket, as `binvault drill snapshot` does.
 */
describe('the drill on AWS: two EC2 instances driven by SSM Run Command (SDK-level fakes)', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  let bucket: TestBucket;
  const alerts: Alert[] = [];
  const laterDump = dumpAt(T0 + 400, 'binlog.000007');

  beforeAll(async () => {
    bucket = await startTestBucket('binvault');
    // A catalog as the catalog function leaves it: ten binlogs, a dump at the start and one later.
    const binlogs = binlogSeries({ count: 10 });
    const dumps = [dumpAt(T0 + 30, 'binlog.000001'), laterDump];
    await bucket.store.put(
      'mysql/db1/catalog/2026-11-01.json',
      JSON.stringify({
        manifestVersion: 1,
        host: 'db1',
        day: '2026-11-01',
        previous: null,
        objects: [],
        binlogs: Object.fromEntries(binlogs.map((b) => [b.key, b])),
        dumps: Object.fromEntries(dumps.map((d) => [d.key, d])),
        gapRecords: {},
        catalog: {},
        builtAt: at(T0),
      }),
    );
    // Its objects, empty: a plan refuses objects the bucket does not hold.
    for (const o of [...binlogs, ...dumps]) await bucket.store.put(o.key, Buffer.alloc(0));
  });
  afterAll(() => bucket.close());
  afterEach(() => {
    ec2.reset();
    ssm.reset();
    alerts.length = 0;
  });

  const run = async (execution: string): Promise<DrillState> => {
    const applier = new SsmApplier(new SSMClient({ region: 'us-east-1' }), { bucket: 'binvault', prefix: 'mysql', pollMs: 1 });
    const tasks = drillTasks({
      store: bucket.store,
      prefix: 'mysql',
      provisioner: new Ec2Provisioner(new EC2Client({ region: 'us-east-1' }), new SSMClient({ region: 'us-east-1' }), { launchTemplate: 'binvault-restore', pollMs: 1 }),
      applier,
      snapshots: applier,
      alerts: { publish: async (a) => void alerts.push(a) },
      clock: { now: () => new Date((T0 + 700) * 1000) },
    });
    const handlers = { ...tasks, CheckLoads: tasks.CheckSteps, CheckReplay: tasks.CheckSteps, CheckSnapshots: tasks.CheckSteps, CleanupAfterCompare: tasks.Cleanup };
    return (await runLocalStateMachine(drillDefinition(), { host: 'db1', execution }, handlers as never)) as DrillState;
  };

  /** What the instances were told and when, across both clients: `run i-01`, `send i-02 snapshot`, `terminate i-02`, … */
  const happened: string[] = [];

  /** Two instances come up; every command is accepted; a snapshot command's instance writes its snapshot. */
  const instancesUp = (options: { failSecond?: boolean } = {}): void => {
    happened.length = 0;
    let started = 0;
    ec2.on(RunInstancesCommand).callsFake(async () => {
      started++;
      if (options.failSecond && started % 2 === 0) throw Object.assign(new Error('We currently do not have sufficient m7i.large capacity'), { name: 'InsufficientInstanceCapacity' });
      happened.push(`run i-0${started}`);
      return { Instances: [{ InstanceId: `i-0${started}` }] };
    });
    ec2.on(DescribeInstancesCommand).callsFake(async (input: { InstanceIds?: string[] }) => ({ Reservations: [{ Instances: [{ InstanceId: input.InstanceIds?.[0], State: { Name: 'running' }, PrivateIpAddress: '10.0.0.12' }] }] }));
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ PingStatus: 'Online' }] });
    ec2.on(TerminateInstancesCommand).callsFake(async (input: { InstanceIds?: string[] }) => {
      happened.push(`terminate ${input.InstanceIds?.join(',') ?? ''}`);
      return {};
    });
    let n = 0;
    ssm.on(SendCommandCommand).callsFake(async (input: { InstanceIds?: string[]; Parameters?: { commands?: string[] } }) => {
      const last = input.Parameters?.commands?.at(-1) ?? '';
      happened.push(`send ${input.InstanceIds?.[0] ?? ''} ${/--step (\w+)|drill (snapshot)/.exec(last)?.slice(1).find(Boolean) ?? last}`);
      const to = / drill snapshot --to (\S+) /.exec(last)?.[1];
      const address = to ? parseS3Url(to) : undefined;
      if (address) await bucket.store.put(address.key, JSON.stringify(SNAPSHOT));
      return { Command: { CommandId: `cmd-${++n}` } };
    });
  };
  const replayed = JSON.stringify({ seconds: 3, bytes: 500, expected: { gtids: '0-1-70', events: 99 }, reached: { binlogFile: 'binlog.000007', binlogPosition: 1234, gtids: '0-1-70' } });

  it('loads both dumps at once; snapshots the later dump’s instance and terminates it while the replay runs on the other; snapshots that one after the replay; writes a proven record; terminates it', async () => {
    instancesUp();
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: '{"seconds":12,"bytes":1000}' });
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-1' }).resolvesOnce({ Status: 'InProgress' }).resolves({ Status: 'Success', StandardOutputContent: '{"seconds":12,"bytes":1000}' });
    // The replay (cmd-4) runs through two checks: the later instance's snapshot (cmd-3) is in at the first.
    let replayChecks = 0;
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-4' }).callsFake(async () => {
      replayChecks++;
      happened.push(`replay ${replayChecks < 3 ? 'InProgress' : 'Success'}`);
      return replayChecks < 3 ? { Status: 'InProgress' } : { Status: 'Success', StandardOutputContent: replayed };
    });

    const state = await run('drill-aws-1');

    expect(happened).toEqual([
      'run i-01',
      'run i-02',
      'send i-01 load',
      'send i-02 load',
      'send i-02 snapshot',
      'send i-01 replay',
      'replay InProgress',
      'terminate i-02',
      'replay InProgress',
      'replay Success',
      'send i-01 snapshot',
      'terminate i-01',
    ]);
    expect(state.retired).toEqual({ id: 'i-02' });
    expect(state.cleanup).toEqual({ cleaned: ['i-01'] });

    const tags = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.TagSpecifications?.[0]?.Tags?.find((t) => t.Key === 'binvault:execution')?.Value);
    expect(tags.sort()).toEqual(['drill-aws-1-dump', 'drill-aws-1-restored']);
    const sent = ssm.commandCalls(SendCommandCommand).map((c) => ({ instance: c.args[0].input.InstanceIds?.[0], line: c.args[0].input.Parameters?.commands?.at(-1) }));
    expect(sent).toEqual([
      { instance: 'i-01', line: '/usr/local/bin/binvault restore apply --step load --plan s3://binvault/mysql/db1/restores/drill-aws-1-restored/plan.json --defaults-file /etc/binvault/restore.cnf --json' },
      { instance: 'i-02', line: '/usr/local/bin/binvault restore apply --step load --plan s3://binvault/mysql/db1/restores/drill-aws-1-dump/plan.json --defaults-file /etc/binvault/restore.cnf --json' },
      { instance: 'i-02', line: `/usr/local/bin/binvault drill snapshot --to s3://binvault/mysql/db1/drills/${laterDump.day}/drill-aws-1/dump.json --defaults-file /etc/binvault/restore.cnf --json` },
      { instance: 'i-01', line: '/usr/local/bin/binvault restore apply --step replay --plan s3://binvault/mysql/db1/restores/drill-aws-1-restored/plan.json --defaults-file /etc/binvault/restore.cnf --json' },
      { instance: 'i-01', line: `/usr/local/bin/binvault drill snapshot --to s3://binvault/mysql/db1/drills/${laterDump.day}/drill-aws-1/restored.json --defaults-file /etc/binvault/restore.cnf --json` },
    ]);
    const plans = await Promise.all(['restored', 'dump'].map(async (side) => JSON.parse((await bucket.store.getBytes(`mysql/db1/restores/drill-aws-1-${side}/plan.json`)).toString()) as { dump: { key: string }; binlogs: unknown[]; stop: unknown }));
    expect(plans.map((p) => [p.dump.key, p.binlogs.length])).toEqual([[dumpAt(T0 + 30, 'binlog.000001').key, 7], [laterDump.key, 0]]);
    // Each instance terminated once: the later one by RetireLater, the other by the Cleanup after Compare.
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds?.[0])).toEqual(['i-02', 'i-01']);
    const record = JSON.parse((await bucket.store.getBytes(`mysql/db1/drills/${laterDump.day}/drill-aws-1.json`)).toString()) as DrillRecord;
    expect(record).toMatchObject({ result: 'proven', differences: [], tables: 1, gtids: { reached: '0-1-70' }, stop: { binlogFile: 'binlog.000007', position: 1234 } });
    expect(record.timings).toMatchObject({ loadSeconds: 12, laterLoadSeconds: 12, replaySeconds: 3, compareSeconds: 12 });
    expect(state.record?.result).toBe('proven');
    expect(alerts).toEqual([]);
    // The rates go to the RTO budget through finishDrill, as the local drill's; these objects (only in
    // the catalog, 0 bytes stored) are under the 4 MB a measurement needs, so none is kept.
    expect(await bucket.store.head('mysql/db1/restores/rates.json')).toBeUndefined();
    const received = [...ec2.calls().map((c) => ['ec2', c.args[0].constructor.name] as const), ...ssm.calls().map((c) => ['ssm', c.args[0].constructor.name] as const)];
    expect(received.flatMap(([service, name]) => listedFor(service, name, Object.values(DRILL_ROLES)))).toEqual([]);
  });

  it('a RetireLater that fails on every attempt only costs the later instance’s hours: the drill goes on and is proven, and the Cleanup after Compare terminates both', async () => {
    instancesUp();
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: '{"seconds":12,"bytes":1000}' });
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-4' }).resolvesOnce({ Status: 'InProgress' }).resolves({ Status: 'Success', StandardOutputContent: replayed });
    // RetireLater's four attempts (one and three retries) are refused; later calls go through.
    let refused = 0;
    ec2.on(TerminateInstancesCommand).callsFake(async (input: { InstanceIds?: string[] }) => {
      if (input.InstanceIds?.[0] === 'i-02' && refused < 4) {
        refused++;
        throw Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' });
      }
      happened.push(`terminate ${input.InstanceIds?.join(',') ?? ''}`);
      return {};
    });

    const state = await run('drill-aws-retire');

    expect(refused).toBe(4);
    expect(state.retired).toMatchObject({ Error: expect.any(String) as unknown });
    expect(state.record?.result).toBe('proven');
    expect(alerts).toEqual([]);
    // Both terminated by the Cleanup after Compare, each once.
    expect(happened.filter((h) => h.startsWith('terminate ')).sort()).toEqual(['terminate i-01', 'terminate i-02']);
    expect(state.cleanup?.cleaned.slice().sort()).toEqual(['i-01', 'i-02']);
  });

  it('terminates both instances when the replay fails on its instance (the later one already retired, not terminated twice), and records and alerts the failure', async () => {
    instancesUp();
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: '{"seconds":12,"bytes":1000}' });
    ssm.on(GetCommandInvocationCommand, { CommandId: 'cmd-4' }).resolvesOnce({ Status: 'InProgress' }).resolves({ Status: 'Failed', StandardErrorContent: 'binvault: the replay stopped: Error 1062 Duplicate entry' });

    await expect(run('drill-aws-2')).rejects.toThrow();

    expect(ssm.commandCalls(SendCommandCommand).map((c) => /--step (\w+)|drill (snapshot)/.exec(c.args[0].input.Parameters?.commands?.at(-1) ?? '')?.slice(1).find(Boolean))).toEqual(['load', 'load', 'snapshot', 'replay']);
    expect(happened.filter((h) => h.startsWith('terminate '))).toEqual(['terminate i-02', 'terminate i-01']);
    const record = JSON.parse((await bucket.store.getBytes(`mysql/db1/drills/${laterDump.day}/drill-aws-2.json`)).toString()) as DrillRecord;
    expect(record.result).toBe('failed');
    expect(record.error).toContain('Error 1062 Duplicate entry');
    expect(alerts).toMatchObject([{ type: 'drill-failed', severity: 'critical', state: 'started' }]);
  });

  it('terminates the first instance when the second cannot start, on every attempt (ProvisionCapacityError is retried)', async () => {
    instancesUp({ failSecond: true });

    await expect(run('drill-aws-3')).rejects.toThrow();

    // Four attempts (one and three retries), each starting the restored side and failing the other.
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(8);
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds?.[0])).toEqual(['i-01', 'i-03', 'i-05', 'i-07']);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    const record = JSON.parse((await bucket.store.getBytes(`mysql/db1/drills/${laterDump.day}/drill-aws-3.json`)).toString()) as DrillRecord;
    expect(record.error).toMatch(/^no EC2 capacity for the launch template binvault-restore: /);
  });

  const shortProvisioner = () => new Ec2Provisioner(new EC2Client({ region: 'us-east-1' }), new SSMClient({ region: 'us-east-1' }), { launchTemplate: 'binvault-restore', pollMs: 1, timeoutMs: 20 });

  it('Provision terminates an instance whose SSM agent never comes online before it throws', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0slow' }] });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0slow', State: { Name: 'running' }, PrivateIpAddress: '10.0.0.12' }] }] });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    ec2.on(TerminateInstancesCommand).resolves({});

    await expect(shortProvisioner().provision('drill-aws-5-restored')).rejects.toThrow(/^instance i-0slow was not reachable through SSM within/);

    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0slow'] }]);
    expect(listedFor('ec2', 'TerminateInstancesCommand', [DRILL_ROLES.Provision])).toEqual([]);
  });

  it('Cleanup terminates by tag every instance of both sides that $.instances does not name (a Provision that failed or was retried)', async () => {
    // A Provision whose Lambda timed out after RunInstances: the instance runs, tagged, and no state names it.
    ec2.on(DescribeInstancesCommand).callsFake(async (input: { Filters?: { Name?: string; Values?: string[] }[] }) => {
      const tags = input.Filters?.find((f) => f.Name === 'tag:binvault:execution')?.Values ?? [];
      return { Reservations: tags.includes('drill-aws-6-dump') ? [{ Instances: [{ InstanceId: 'i-0left', State: { Name: 'running' } }] }] : [] };
    });
    ec2.on(TerminateInstancesCommand).resolves({});
    const tasks = drillTasks({ store: undefined as never, prefix: 'mysql', provisioner: shortProvisioner(), applier: undefined as never, snapshots: undefined as never, alerts: { publish: async () => undefined }, clock: { now: () => new Date() } });

    const out = await tasks.Cleanup({ drill: { execution: 'drill-aws-6' } as DrillState['drill'] });

    expect(out).toEqual({ cleaned: ['i-0left'] });
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toContainEqual({ Name: 'tag:binvault:execution', Values: ['drill-aws-6-restored', 'drill-aws-6-dump'] });
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0left'] }]);
    expect([...listedFor('ec2', 'DescribeInstancesCommand', [DRILL_ROLES.Cleanup]), ...listedFor('ec2', 'TerminateInstancesCommand', [DRILL_ROLES.Cleanup])]).toEqual([]);
  });

  it('Cleanup does not terminate twice what it terminated by id', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-01', State: { Name: 'stopping' } }] }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    const tasks = drillTasks({ store: undefined as never, prefix: 'mysql', provisioner: shortProvisioner(), applier: undefined as never, snapshots: undefined as never, alerts: { publish: async () => undefined }, clock: { now: () => new Date() } });

    const out = await tasks.Cleanup({ drill: { execution: 'drill-aws-7' } as DrillState['drill'], instances: { restored: { id: 'i-01', kind: 'ec2', host: '10.0.0.1', port: 3306, user: 'root', defaultsFile: '/etc/binvault/restore.cnf' } } });

    expect(out).toEqual({ cleaned: ['i-01'] });
    expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-01'] }]);
  });
});

describe('starting drills on AWS: the schedule and every-dump (SDK-level fake of Step Functions)', () => {
  const sfn = mockClient(SFNClient);
  let bucket: TestBucket;
  const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:binvault-drill-ci';
  beforeAll(async () => {
    bucket = await startTestBucket('binvault-drill-start');
  });
  afterAll(() => bucket.close());
  afterEach(() => sfn.reset());

  it('the schedule starts one execution per host, named by host and day; a second delivery starts nothing more', async () => {
    for (const host of ['db1', 'db2.example']) await bucket.store.put(`mysql/${host}/records/2026-11-01/x.json`, '{}');
    await bucket.store.put('mysql/_check/db1/x.txt', '');
    const names = new Set<string>();
    sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => {
      if (names.has(input.name)) throw Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' });
      names.add(input.name);
      return { executionArn: `${arn}:${input.name}` };
    });
    const deps = { store: bucket.store, starter: new SfnDrillStarter(new SFNClient({ region: 'us-east-1' }), arn), clock: { now: () => new Date('2026-11-22T03:00:00Z') } };

    const first = await startScheduledDrills(deps, 'mysql');
    const second = await startScheduledDrills(deps, 'mysql');

    expect(first).toEqual([
      { host: 'db1', execution: 'drill-db1-20261122', outcome: 'started' },
      { host: 'db2.example', execution: 'drill-db2_example-20261122', outcome: 'started' },
    ]);
    expect(second.map((s) => s.outcome)).toEqual(['exists', 'exists']);
    const inputs = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toEqual({ stateMachineArn: arn, name: 'drill-db1-20261122', input: JSON.stringify({ host: 'db1', execution: 'drill-db1-20261122' }) });
    expect(listedFor('sfn', 'StartExecutionCommand', [DRILL_ROLES.Schedule])).toEqual([]);
  });

  it('every-dump: a verified dump’s record starts the drill of the window it closes, named by the dump; a duplicate event starts nothing more; other records nothing', async () => {
    const dump = dumpAt(T0 + 400, 'binlog.000007', 'mysql/db1/dumps/2026-11-01/db1-20261101T000640Z.sql.gz');
    const failed = { ...dumpAt(T0 + 500, 'binlog.000008', 'mysql/db1/dumps/2026-11-01/db1-20261101T000820Z.sql.gz'), status: 'failed' as const };
    await bucket.store.put('mysql/db1/records/2026-11-01/db1-20261101T000640Z.sql.gz.json', JSON.stringify(recordOf(dump)));
    await bucket.store.put('mysql/db1/records/2026-11-01/db1-20261101T000820Z.sql.gz.json', JSON.stringify(recordOf(failed)));
    await bucket.store.put('mysql/db1/records/2026-11-01/binlog.000001.gz.json', JSON.stringify(recordOf(binlogSeries({ count: 1 })[0] as never)));
    sfn.on(StartExecutionCommand).resolvesOnce({ executionArn: `${arn}:x` }).rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const deps = { store: bucket.store, starter: new SfnDrillStarter(new SFNClient({ region: 'us-east-1' }), arn) };

    const first = await startDrillForRecord(deps, 'mysql/db1/records/2026-11-01/db1-20261101T000640Z.sql.gz.json');
    const again = await startDrillForRecord(deps, 'mysql/db1/records/2026-11-01/db1-20261101T000640Z.sql.gz.json');
    const ofFailed = await startDrillForRecord(deps, 'mysql/db1/records/2026-11-01/db1-20261101T000820Z.sql.gz.json');
    const ofBinlog = await startDrillForRecord(deps, 'mysql/db1/records/2026-11-01/binlog.000001.gz.json');

    expect(first).toEqual({ host: 'db1', execution: 'drill-db1-20261101T000640Z', outcome: 'started' });
    expect(again?.outcome).toBe('exists');
    expect(ofFailed).toBeUndefined();
    expect(ofBinlog).toBeUndefined();
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}')).toEqual({ host: 'db1', window: 'db1-20261101T000640Z.sql.gz', execution: 'drill-db1-20261101T000640Z' });
    expect(listedFor('sfn', 'StartExecutionCommand', [DRILL_ROLES.Catalog])).toEqual([]);
  });
  it('a 60-character host: the schedule’s and every-dump’s names fit DrillPlan’s 71 characters, differ from another long host’s, and DrillPlan accepts them', async () => {
    const host = 'db-primary-01.eu-west-1.prod.internal.example-corp-group.com';
    const twin = 'db-primary-01.eu-west-1.prod.internal.example-corp-group.net';
    expect(host).toHaveLength(60);
    const dump = dumpAt(T0 + 400, 'binlog.000007', `mysql/${host}/dumps/2026-11-01/${host}-20261101T000640Z.sql.gz`);
    await bucket.store.put(`mysql/${host}/records/2026-11-01/${host}-20261101T000640Z.sql.gz.json`, JSON.stringify(recordOf({ ...dump, host } as never)));
    await bucket.store.put(`mysql/${twin}/records/2026-11-01/x.json`, '{}');
    sfn.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({ executionArn: `${arn}:${input.name}` }));
    const starter = new SfnDrillStarter(new SFNClient({ region: 'us-east-1' }), arn);

    const scheduled = (await startScheduledDrills({ store: bucket.store, starter, clock: { now: () => new Date('2026-11-22T03:00:00Z') } }, 'mysql')).filter((s) => s.host.length === 60);
    const everyDump = await startDrillForRecord({ store: bucket.store, starter }, `mysql/${host}/records/2026-11-01/${host}-20261101T000640Z.sql.gz.json`);

    const names = [...scheduled.map((s) => s.execution), everyDump?.execution ?? ''];
    expect(scheduled.map((s) => s.host).sort()).toEqual([host, twin]);
    expect(names.map((n) => n.length <= 71)).toEqual([true, true, true]);
    expect(new Set(names).size).toBe(3);
    expect(names[0]).toMatch(/^drill-db-primary-01_eu-west-1_prod_internal_example-c-[0-9a-f]{8}-20261122$/);
    expect(everyDump?.execution).toMatch(/^drill-db-primary-01_eu-west-1_prod_internal_e-[0-9a-f]{8}-20261101T000640Z$/);
    // The names the starts send are names DrillPlan takes: past its input's check (InputError before
    // this fix), it refuses only because this bucket has no catalog for these hosts.
    const tasks = drillTasks({ store: bucket.store, prefix: 'mysql', provisioner: undefined as never, applier: undefined as never, snapshots: undefined as never, alerts: { publish: async () => undefined }, clock: { now: () => new Date('2026-11-22T03:00:00Z') } });
    for (const call of sfn.commandCalls(StartExecutionCommand)) {
      const input = JSON.parse(call.args[0].input.input ?? '{}') as { host: string; execution: string };
      expect(input.execution).toBe(call.args[0].input.name);
      await expect(tasks.DrillPlan(input)).rejects.toMatchObject({ name: 'RestoreRefusedError', message: expect.stringMatching(/^no catalog for host /) });
    }
  });

  it('the catalog function, with BINVAULT_DRILL=every-dump, starts the drill when a verified dump’s record lands, once per dump; with scheduled, never', async () => {
    const dump = dumpAt(T0 + 700, 'binlog.000009', 'mysql/db1/dumps/2026-11-01/db1-20261101T001140Z.sql.gz');
    const recordKey = 'mysql/db1/records/2026-11-01/db1-20261101T001140Z.sql.gz.json';
    await bucket.store.put(recordKey, JSON.stringify(recordOf(dump)));
    sfn.on(StartExecutionCommand).resolvesOnce({ executionArn: `${arn}:x` }).rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
    const event = { Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'binvault-drill-start' }, object: { key: recordKey } } }] } as unknown as S3Event;
    const depsWith = (drill: string) => ({
      config: parseConfig({ BINVAULT_BUCKET: 'binvault-drill-start', BINVAULT_DRILL: drill }, { hostname: 'lambda', home: '/tmp', stateDir: '/tmp/binvault' }),
      store: () => bucket.store,
      alerts: { publish: async () => undefined },
      clock: { now: () => new Date((T0 + 800) * 1000) },
    });
    const starter = new SfnDrillStarter(new SFNClient({ region: 'us-east-1' }), arn);
    const telemetry = { logger: new Logger({ logLevel: 'SILENT' }) };

    const [first] = await catalogEvent(depsWith('every-dump'), telemetry, event, starter);
    const [duplicate] = await catalogEvent(depsWith('every-dump'), telemetry, event, starter);
    const [scheduled] = await catalogEvent(depsWith('scheduled'), telemetry, event, starter);

    expect(first?.drill).toEqual({ execution: 'drill-db1-20261101T001140Z', outcome: 'started' });
    expect(duplicate?.drill).toEqual({ execution: 'drill-db1-20261101T001140Z', outcome: 'exists' });
    expect(scheduled?.drill).toBeUndefined();
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it('binvault drill --aws starts an execution, follows it, and shows the record it wrote (exit 0 proven, 1 failed)', async () => {
    const laterDay = '2026-11-20';
    sfn.on(StartExecutionCommand).callsFake(async (input: { name: string; input: string }) => {
      const { host, execution } = JSON.parse(input.input) as { host: string; execution: string };
      await bucket.store.put(`mysql/${host}/drills/${laterDay}/${execution}.json`, JSON.stringify({ host, execution, result: 'failed', window: { from: 'a', to: 'b' }, dumps: { from: 'x', to: 'y' }, binlogs: ['binlog.000001'], stop: { binlogFile: 'binlog.000002', position: 4 }, tables: 1, definitions: 0, withoutPrimaryKey: [], differences: [{ kind: 'table', name: 'shop.t', message: 'shop.t differs' }], timings: { loadSeconds: 1, replaySeconds: 1, laterLoadSeconds: 1, compareSeconds: 1, totalSeconds: 4 } }));
      return { executionArn: `${arn.replace(':stateMachine:', ':execution:')}:${input.name}` };
    });
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING' }).resolves({ status: 'FAILED', error: 'DrillFailed' });
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined, json: false, verbose: false };

    const code = await drillOnAws(new SFNClient({ region: 'us-east-1' }), arn, bucket.store, 'mysql', { host: 'db1', window: 'db1-20261120T000000Z.sql.gz' }, io, 1);

    expect(code).toBe(1);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}') as { host: string; window: string; execution: string };
    expect(input).toMatchObject({ host: 'db1', window: 'db1-20261120T000000Z.sql.gz' });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe(input.execution);
    expect(out[0]).toBe('drill of db1, window a → b: FAILED');
    expect(out).toContain('  differs  shop.t differs');
  });

  it('binvault drill --aws on a host with nothing to drill yet: the execution succeeded skipped; it says why in one line and exits 0, as the local drill, with no record to look for', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${arn.replace(':stateMachine:', ':execution:')}:${input.name}` }));
    const skipped = { result: 'skipped', host: 'db3', message: 'skipped: a drill needs two verified dumps of db3; it has 1' };
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: JSON.stringify(skipped) });
    const out: string[] = [];
    const io = (json: boolean) => ({ out: (l: string) => void out.push(l), err: () => undefined, json, verbose: false });

    const text = await drillOnAws(new SFNClient({ region: 'us-east-1' }), arn, bucket.store, 'mysql', { host: 'db3' }, io(false), 1);
    const json = await drillOnAws(new SFNClient({ region: 'us-east-1' }), arn, bucket.store, 'mysql', { host: 'db3' }, io(true), 1);

    expect([text, json]).toEqual([0, 0]);
    expect(out).toEqual(['drill skipped: a drill needs two verified dumps of db3; it has 1', JSON.stringify(skipped)]);
  });
});


// Last: it mocks and restores the clients the describes above mock for themselves.
describe('an aborted or timed-out drill execution (restoreAborted)', () => {
  it('terminates both instances, found by the tags DrillPlan’s execution name gives them', async () => {
    const sfn = mockClient(SFNClient);
    const ec2 = mockClient(EC2Client);
    try {
      sfn.on(GetExecutionHistoryCommand).resolves({
        events: [{ id: 4, type: 'TaskStateExited', timestamp: new Date(), stateExitedEventDetails: { name: 'DrillPlan', output: JSON.stringify({ host: 'db1', drill: { host: 'db1', execution: 'drill-db1-20261122' } }) } }],
      });
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-01' }, { InstanceId: 'i-02' }] }] });
      ec2.on(TerminateInstancesCommand).resolves({});

      const result = await cleanupAborted({ sfn: new SFNClient({ region: 'us-east-1' }), ec2: new EC2Client({ region: 'us-east-1' }) }, { detail: { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:binvault-drill-ci:drill-db1-20261122', status: 'TIMED_OUT' } });

      expect(result).toEqual({ execution: 'drill-db1-20261122', terminated: ['i-01', 'i-02'] });
      expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toContainEqual({ Name: 'tag:binvault:execution', Values: ['drill-db1-20261122-restored', 'drill-db1-20261122-dump'] });
      expect(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-01', 'i-02'] }]);
      const received = [...sfn.calls().map((c) => ['sfn', c.args[0].constructor.name] as const), ...ec2.calls().map((c) => ['ec2', c.args[0].constructor.name] as const)];
      expect(received.flatMap(([service, name]) => listedFor(service, name, [RESTORE_ROLES.Aborted]))).toEqual([]);
    } finally {
      sfn.restore();
      ec2.restore();
    }
  });
});
