import { BinvaultError } from '../core/errors.js';

/** The errors of the drivers (the implementations of core's ports). */

/** The MySQL-family server could not be reached, refused us, or is not set up for binvault. */
export class MysqlError extends BinvaultError {
  public override readonly name: string = 'MysqlError';
}

/** A local server instance could not be initialized or started. */
export class InstanceError extends BinvaultError {
  public override readonly name: string = 'InstanceError';
}

/** The port picked for a local instance was taken before the server could bind it: try another. */
export class PortTakenError extends InstanceError {
  public override readonly name: string = 'PortTakenError';

  public constructor(port: number) {
    super(`port ${port} was taken before the server could bind it`);
  }
}

/** Applying a restore plan failed on the new server (the dump or the binlogs did not load). */
export class ApplyError extends BinvaultError {
  public override readonly name: string = 'ApplyError';
}

/** No fresh instance could be had for a restore. */
export class ProvisionError extends BinvaultError {
  public override readonly name: string = 'ProvisionError';
}

/** No instance could be had for want of capacity or limits: Step Functions retries this one. */
export class ProvisionCapacityError extends ProvisionError {
  public override readonly name: string = 'ProvisionCapacityError';
}
