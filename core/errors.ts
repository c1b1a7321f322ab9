/**
 * The base of every error binvault raises on purpose. The CLI prints `message` as one line;
 * Step Functions' Retry/Catch match on `name`.
 */
export class BinvaultError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BinvaultError';
  }
}

/** Input that is wrong in a way the user can fix: a flag, an environment variable, a file. */
export class ConfigurationError extends BinvaultError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/** The message of any thrown value, without a stack. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** The object store could not be reached or refused a request. */
export class StorageError extends BinvaultError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** A conditional write found the key taken: nothing was written. */
export class ObjectExistsError extends StorageError {
  public constructor(
    public readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object already exists: ${key}`, options);
    this.name = 'ObjectExistsError';
  }
}

/** A conditional write lost a race (If-Match): someone else wrote first; read again and retry. */
export class WriteConflictError extends StorageError {
  public constructor(
    public readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`object changed while it was being updated: ${key}`, options);
    this.name = 'WriteConflictError';
  }
}
