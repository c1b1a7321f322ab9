/**
 * The base of every error binvault raises on purpose. The CLI prints `message` as one line and exits
 * with `exitCode`; Step Functions' Retry/Catch match on `name` (set as a literal in each class, so a
 * bundler that renames classes cannot change it).
 *
 * The errors of the core live in this file; drivers/errors.ts and shipper/lib/errors.ts hold those of
 * their layers.
 */
export class BinvaultError extends Error {
  public override readonly name: string = 'BinvaultError';
  /** The CLI's exit code for this error: 1 (error), 2 (usage), 3 (a gap was found). */
  public readonly exitCode: number = 1;

  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Input that is wrong in a way the user can fix: a flag, an environment variable, a file. Exit 2,
 * like a usage error: running it again unchanged cannot help (systemd's RestartPreventExitStatus=2
 * stops a service that would otherwise restart into the same error forever).
 */
export class ConfigurationError extends BinvaultError {
  public override readonly name: string = 'ConfigurationError';
  public override readonly exitCode: number = 2;
}

/** The command line is wrong (an unknown command or option, a bad value): exit 2. */
export class UsageError extends ConfigurationError {
  public override readonly name: string = 'UsageError';
  public override readonly exitCode: number = 2;
}

/** An event or a state machine input that is not what the function takes: the caller's to fix (exit 2). */
export class InputError extends UsageError {
  public override readonly name: string = 'InputError';
}

/** A time that is not one (a typo, an impossible date, a wall clock the zone skipped or repeated). */
export class TimeInputError extends InputError {
  public override readonly name: string = 'TimeInputError';
}

/** The message of any thrown value, without a stack. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** The object store could not be reached or refused a request. */
export class StorageError extends BinvaultError {
  public override readonly name: string = 'StorageError';
}

/** A conditional write found the key taken: nothing was written. */
export class ObjectExistsError extends StorageError {
  public override readonly name: string = 'ObjectExistsError';

  public constructor(
    public readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object already exists: ${key}`, options);
  }
}

/** A conditional write lost a race (If-Match): someone else wrote first; read again and retry. */
export class WriteConflictError extends StorageError {
  public override readonly name: string = 'WriteConflictError';

  public constructor(
    public readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object changed while it was being updated: ${key}`, options);
  }
}

/** A read pinned to one version (If-Match on the ETag) found another version under the key. */
export class ObjectChangedError extends StorageError {
  public override readonly name: string = 'ObjectChangedError';

  public constructor(
    public readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object replaced since it was looked at: ${key}`, options);
  }
}

/** The restore cannot be planned as asked: outside every window, a broken chain, a bad target. */
export class RestoreRefusedError extends BinvaultError {
  public override readonly name: string = 'RestoreRefusedError';
}

/**
 * A drill's window cannot be drilled yet (its later dump or a binlog up to its coordinates is not
 * verified and catalogued): the drill state machine retries its plan on this name a while.
 */
export class DrillNotReadyError extends RestoreRefusedError {
  public override readonly name: string = 'DrillNotReadyError';
}

/**
 * A host has fewer than two verified dumps: no window exists, so there is nothing to drill yet (a new
 * host, or the first dump's every-dump drill). Thrown by the core as a refusal; the drill state machine
 * ends such an execution as succeeded with a `skipped: …` output, and `binvault drill` (here or --aws) says it skipped
 * and exits 0: neither a failure nor an alert.
 */
export class NothingToDrillError extends RestoreRefusedError {
  public override readonly name: string = 'NothingToDrillError';
}

/** The restored instance did not reach what the plan expected. */
export class VerificationError extends BinvaultError {
  public override readonly name: string = 'VerificationError';
}

/** A restore ran and failed (its report says where); the new instance was removed. */
export class RestoreFailedError extends BinvaultError {
  public override readonly name: string = 'RestoreFailedError';
}

/** A local file could not be written (a full disk, a quota, a read-only file system). */
export class LocalWriteError extends BinvaultError {
  public override readonly name: string = 'LocalWriteError';
}

/** What a file system error means, in the words a person reads in one line. */
const FILE_SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/**
 * Runs a local write. A file system failure becomes one line that says what was being written,
 * where, and why ("cannot write its lock in /var/lib/binvault: no space left on the device
 * (ENOSPC)"); any other error passes unchanged.
 */
export const writingLocally = async <T>(what: string, where: string, write: () => Promise<T>): Promise<T> => {
  try {
    return await write();
  } catch (error) {
    const reason = fileSystemReason(error);
    if (reason === undefined) throw error;
    throw new LocalWriteError(`cannot write ${what} in ${where}: ${reason}`, { cause: error });
  }
};

/** "no space left on the device (ENOSPC)" for a file system error; undefined for any other. */
export const fileSystemReason = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : FILE_SYSTEM_REASONS[code];
  return reason === undefined ? undefined : `${reason} (${code})`;
};

/** Retention could not delete objects that no Object Lock holds (access denied, …): a `retention-failed` alert says which. */
export class RetentionFailedError extends BinvaultError {
  public override readonly name: string = 'RetentionFailedError';
}
