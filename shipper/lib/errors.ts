import { BinvaultError } from '../../core/errors.js';

/** The errors of the shipper (the host's commands). */

/** Another binvault run holds the lock this one needs. */
export class LockedError extends BinvaultError {
  public override readonly name: string = 'LockedError';
}

/** A binlog could not be shipped (unreadable, changed while read, conflicting with the bucket). */
export class ShipError extends BinvaultError {
  public override readonly name: string = 'ShipError';
}

/** Binlogs were purged by the server before they were shipped: the chain has a hole (exit 3). */
export class BinlogGapError extends BinvaultError {
  public override readonly name: string = 'BinlogGapError';
  public override readonly exitCode: number = 3;

  public constructor(
    message: string,
    public readonly missing: string[],
  ) {
    super(message);
  }
}

/** The dump could not be made or shipped; nothing was left in the bucket. */
export class DumpError extends BinvaultError {
  public override readonly name: string = 'DumpError';
}

/** The dump waited for a lock longer than allowed and was cancelled, its server session killed. */
export class LockWaitError extends DumpError {
  public override readonly name: string = 'LockWaitError';
}

/** `status` could not read what it reports on (the configuration, the bucket): exit 3, monitoring's UNKNOWN. */
export class StatusUnknownError extends BinvaultError {
  public override readonly name: string = 'StatusUnknownError';
  public override readonly exitCode: number = 3;
}
