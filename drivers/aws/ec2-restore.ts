import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { setTimeout as sleep } from 'node:timers/promises';
import { restoreKey } from '../../core/layout.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import type { InstanceSizing } from '../../core/restore/sizing.js';
import { ApplyError, ProvisionCapacityError, ProvisionError } from '../errors.js';
import type { Applier, ExpectedReach, ProvisionedInstance, Provisioner, Snapshotter, StepStatus } from '../../core/ports.js';

/**
 * The AWS provisioner: an EC2 instance from the launch template named in configuration. The
 * template's image has MariaDB/MySQL, binvault and the SSM agent; its user data starts the server
 * with a generated password in `/etc/binvault/restore.cnf` (0600), the `defaultsFile` of the report.
 */
export class Ec2Provisioner implements Provisioner {
  public constructor(
    private readonly ec2: EC2Client,
    private readonly ssm: SSMClient,
    private readonly options: {
      launchTemplate: string;
      /** Unset: the launch template's subnet, else the default VPC's. */
      subnetId?: string;
      /** Unset: the plan's sizing, else the launch template's. */
      instanceType?: string;
      defaultsFile?: string;
      pollMs?: number;
      timeoutMs?: number;
    },
  ) {}

  public async provision(execution: string, sizing?: InstanceSizing): Promise<ProvisionedInstance> {
    let id: string | undefined;
    const tags = [{ Key: 'Name', Value: `binvault-${execution}` }, { Key: 'binvault:execution', Value: execution }];
    const instanceType = this.options.instanceType ?? sizing?.instanceType;
    try {
      const out = await this.ec2.send(
        new RunInstancesCommand({
          LaunchTemplate: { LaunchTemplateName: this.options.launchTemplate, Version: '$Latest' },
          MinCount: 1,
          MaxCount: 1,
          ...(instanceType ? { InstanceType: instanceType as _InstanceType } : {}),
          ...(this.options.subnetId ? { SubnetId: this.options.subnetId } : {}),
          // The root volume the plan needs (the template's: encrypted gp3, which an override must repeat).
          ...(sizing
            ? { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: sizing.volumeGiB, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }] }
            : {}),
          // Tagged with the execution: the cleanup of a failed or cancelled execution finds it by this tag.
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      );
      id = out.Instances?.[0]?.InstanceId;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'InsufficientInstanceCapacity' || name === 'InstanceLimitExceeded') {
        throw new ProvisionCapacityError(`no EC2 capacity for the launch template ${this.options.launchTemplate}: ${(error as Error).message}`, { cause: error });
      }
      throw new ProvisionError(`cannot start an instance from the launch template ${this.options.launchTemplate}: ${(error as Error).message}`, { cause: error });
    }
    if (!id) throw new ProvisionError('RunInstances returned no instance');
    try {
      return await this.waitReachable(id);
    } catch (error) {
      // An instance that never became usable is terminated here: no state names it after this throw.
      // Should this fail too, the Cleanup state finds it by its tag (cleanupExecutions).
      await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })).catch(() => undefined);
      throw error;
    }
  }

  /** Until the instance runs and its SSM agent is Online; ProvisionError when it stops or the time is out. */
  private async waitReachable(id: string): Promise<ProvisionedInstance> {
    const deadline = Date.now() + (this.options.timeoutMs ?? 600_000);
    const poll = this.options.pollMs ?? 5_000;
    let address: string | undefined;
    for (;;) {
      const described = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      const instance = described.Reservations?.[0]?.Instances?.[0];
      const state = instance?.State?.Name;
      if (state === 'running' && instance?.PrivateIpAddress) {
        address = instance.PrivateIpAddress;
        const info = await this.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }));
        if (info.InstanceInformationList?.[0]?.PingStatus === 'Online') break;
      }
      if (state === 'terminated' || state === 'shutting-down') throw new ProvisionError(`instance ${id} stopped while starting (${state})`);
      if (Date.now() > deadline) throw new ProvisionError(`instance ${id} was not reachable through SSM within ${Math.round((this.options.timeoutMs ?? 600_000) / 1000)} s`);
      await sleep(poll);
    }
    const defaultsFile = this.options.defaultsFile ?? DEFAULTS_FILE;
    const region = await this.ec2.config.region();
    // No inbound rule: the operator reaches the server through an SSM session.
    const connect = `aws ssm start-session --region ${region} --target ${id} --document-name AWS-StartInteractiveCommand --parameters 'command=["sudo mysql --defaults-file=${defaultsFile}"]'`;
    return { id, kind: 'ec2', host: address, port: 3306, user: 'root', defaultsFile, connect };
  }

  public async cleanup(instance: ProvisionedInstance): Promise<void> {
    await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.id] }));
  }

  /**
   * Terminates every instance tagged `binvault:execution` with one of `executions`, but those in
   * `except` (already terminated by id): the instances a Provision started and never handed on (its
   * Lambda timed out or failed after RunInstances, or its own terminate failed).
   * @returns the instances terminated
   */
  public async cleanupExecutions(executions: readonly string[], except: readonly string[] = []): Promise<string[]> {
    if (executions.length === 0) return [];
    const described = await this.ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:binvault:execution', Values: [...executions] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    );
    const ids = (described.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => i.InstanceId)
      .filter((id): id is string => id !== undefined && !except.includes(id));
    if (ids.length > 0) await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    return ids;
  }
}

const DEFAULTS_FILE = '/etc/binvault/restore.cnf';

/**
 * The shell lines of one step on the restore instance (scripts/restore-instance.sh is there as
 * /usr/local/sbin/binvault-restore-instance): the load first prepares the instance (the server of
 * the dump's flavor and version, started with a generated password), once. Only binvault's JSON
 * goes to standard output, which GetCommandInvocation hands back.
 */
export const restoreCommands = (step: 'load' | 'replay' | 'reached', defaultsFile: string, planUrl?: string): string[] => [
  'set -euo pipefail',
  'set -a; . /etc/binvault/instance.env; set +a',
  ...(step === 'load' && planUrl ? [`/usr/local/sbin/binvault-restore-instance prepare ${planUrl} >&2`] : []),
  `/usr/local/bin/binvault restore apply --step ${step}${planUrl ? ` --plan ${planUrl}` : ''} --defaults-file ${defaultsFile} --json`,
];

/**
 * The shell lines of a drill's snapshot on its instance: `binvault drill snapshot` writes the
 * snapshot to the bucket (the instance profile may put objects only under the drills' keys) and
 * prints one short line of JSON, far under the 24,000 characters GetCommandInvocation returns.
 */
const snapshotCommands = (defaultsFile: string, url: string): string[] => [
  'set -euo pipefail',
  'set -a; . /etc/binvault/instance.env; set +a',
  `/usr/local/bin/binvault drill snapshot --to ${url} --defaults-file ${defaultsFile} --json`,
];

/**
 * How long one step's command may run on its instance (a load, a replay, a snapshot): AWS-RunShellScript's
 * executionTimeout, at its maximum, 48 hours. The state machines' TimeoutSeconds are derived from it.
 */
export const SSM_COMMAND_SECONDS = 172_800;

/**
 * The AWS applier: the load and the replay run on the new instance through SSM Run Command
 * (`binvault restore apply`), the state machine polling the command until it ends.
 */
export class SsmApplier implements Applier, Snapshotter {
  public constructor(
    private readonly ssm: SSMClient,
    private readonly options: { bucket: string; prefix: string; pollMs?: number },
  ) {}

  private async send(instance: ProvisionedInstance, execution: string, step: 'load' | 'replay' | 'reached' | 'snapshot', plan?: RestorePlan, snapshotKey?: string): Promise<string> {
    const planUrl = plan ? `s3://${this.options.bucket}/${restoreKey({ prefix: this.options.prefix, host: plan.host }, execution, 'plan.json')}` : undefined;
    const commands = step === 'snapshot' ? snapshotCommands(instance.defaultsFile, `s3://${this.options.bucket}/${snapshotKey ?? ''}`) : restoreCommands(step, instance.defaultsFile, planUrl);
    const out = await this.ssm.send(
      new SendCommandCommand({
        InstanceIds: [instance.id],
        DocumentName: 'AWS-RunShellScript',
        Comment: `binvault ${execution} ${step}`,
        TimeoutSeconds: SSM_COMMAND_SECONDS,
        Parameters: {
          commands,
          executionTimeout: [String(SSM_COMMAND_SECONDS)],
        },
      }),
    );
    const id = out.Command?.CommandId;
    if (!id) throw new ApplyError(`SSM accepted no command for ${step} on ${instance.id}`);
    return id;
  }

  public async load(plan: RestorePlan, instance: ProvisionedInstance, execution: string): Promise<StepStatus> {
    return { status: 'InProgress', commandId: await this.send(instance, execution, 'load', plan) };
  }

  public async replay(plan: RestorePlan, instance: ProvisionedInstance, execution: string): Promise<StepStatus> {
    return { status: 'InProgress', commandId: await this.send(instance, execution, 'replay', plan) };
  }

  /** The drill's snapshot of an instance, taken there and written to `key` (`binvault drill snapshot`). */
  public async snapshot(instance: ProvisionedInstance, execution: string, key: string): Promise<StepStatus> {
    return { status: 'InProgress', commandId: await this.send(instance, execution, 'snapshot', undefined, key) };
  }

  public async check(step: StepStatus, instance: ProvisionedInstance): Promise<StepStatus> {
    if (step.status !== 'InProgress' || !step.commandId) return step;
    const out = await this.ssm
      .send(new GetCommandInvocationCommand({ CommandId: step.commandId, InstanceId: instance.id }))
      .catch((error: unknown) => {
        // The invocation is not registered yet right after SendCommand.
        if ((error as Error).name === 'InvocationDoesNotExist') return { Status: 'Pending' } as const;
        throw error;
      });
    const status = out.Status;
    if (status === 'Pending' || status === 'InProgress' || status === 'Delayed') return step;
    if (status === 'Success') {
      const result = JSON.parse(('StandardOutputContent' in out ? out.StandardOutputContent : undefined) ?? '{}') as { seconds?: number; bytes?: number; expected?: ExpectedReach; reached?: StepStatus['reached'] };
      return { status: 'Success', commandId: step.commandId, ...result };
    }
    const detail = ('StandardErrorContent' in out ? out.StandardErrorContent : undefined)?.trim().split('\n').pop() ?? status ?? 'failed';
    throw new ApplyError(`the command on ${instance.id} ended ${status ?? 'unknown'}: ${detail}`);
  }

  public async reached(instance: ProvisionedInstance, execution: string): Promise<{ gtids: string }> {
    let step: StepStatus = { status: 'InProgress', commandId: await this.send(instance, execution, 'reached') };
    while (step.status === 'InProgress') {
      await sleep(this.options.pollMs ?? 2_000);
      step = await this.check(step, instance);
    }
    return { gtids: (step as StepStatus & { gtids?: string }).gtids ?? '' };
  }
}
