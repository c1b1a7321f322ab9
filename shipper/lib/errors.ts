import { BinvaultError } from '../../core/errors.js';

/** The MySQL-family server could not be reached, refused us, or is not set up for binvault. */
export class MysqlError extends BinvaultError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MysqlError';
  }
}

/** Another binvault run holds the lock this one needs. */
export class LockedError extends BinvaultError {
  public constructor(message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

/** A binlog could not be shipped (unreadable, changed while read, conflicting with the bucket). */
export class ShipError extends BinvaultError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShipError';
  }
}

/** Binlogs were purged by the server before they were shipped: the chain has a hole. */
export class BinlogGapError extends BinvaultError {
  public constructor(
    message: string,
    public readonly missing: string[],
  ) {
    super(message);
    this.name = 'BinlogGapError';
  }
}
