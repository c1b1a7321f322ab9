import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Config } from '../../core/config.js';
import { ConfigurationError } from '../../core/errors.js';
import type { Provisioner } from '../../core/ports.js';
import { Ec2Provisioner } from '../../drivers/aws/ec2-restore.js';

let provisioner: Ec2Provisioner | undefined;
let ssm: SSMClient | undefined;

/** The SSM client of the restore and drill tasks, made once. */
export const ssmClient = (): SSMClient => (ssm ??= new SSMClient({}));

/**
 * The EC2 provisioner of the restore and drill tasks, made on first use: only Provision needs the
 * launch template's setting (Cleanup terminates by instance id and by tag).
 */
export const lazyProvisioner = (config: Config): Provisioner => {
  const get = (): Ec2Provisioner => {
    if (provisioner) return provisioner;
    const launchTemplate = config.restoreLaunchTemplate;
    if (!launchTemplate) throw new ConfigurationError('BINVAULT_RESTORE_LAUNCH_TEMPLATE is not set');
    provisioner = new Ec2Provisioner(new EC2Client({}), ssmClient(), {
      launchTemplate,
      ...(config.restoreSubnetId ? { subnetId: config.restoreSubnetId } : {}),
      ...(config.restoreInstanceType ? { instanceType: config.restoreInstanceType } : {}),
    });
    return provisioner;
  };
  const cleaner = (): Ec2Provisioner => provisioner ?? new Ec2Provisioner(new EC2Client({}), ssmClient(), { launchTemplate: '' });
  return {
    provision: (execution, sizing) => get().provision(execution, sizing),
    cleanup: (instance) => cleaner().cleanup(instance),
    cleanupExecutions: (executions, except) => cleaner().cleanupExecutions(executions, except),
  };
};
