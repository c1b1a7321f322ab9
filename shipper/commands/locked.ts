import { BinvaultError } from '../../core/errors.js';
import type { Config } from '../../core/config.js';
import { StateDir } from '../lib/state.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { signalOnTermination } from './io.js';

export interface LockedRun {
  state: StateDir;
  store: S3Store;
  /** Raised by SIGINT/SIGTERM: what runs aborts its upload cleanly. */
  signal: AbortSignal;
  /** The signal that was received, if one was. */
  received(): string | undefined;
}

/**
 * Runs a shipping command under its state-directory lock (a second run exits at once), with the
 * configured store and an abort signal raised by SIGINT/SIGTERM; an interruption becomes one line.
 */
export const underLock = async <T>(config: Config, lock: 'binlogs' | 'dump', purpose: string, run: (ctx: LockedRun) => Promise<T>): Promise<T> => {
  const state = new StateDir(config.stateDir);
  const release = await state.lock(lock, purpose);
  const termination = signalOnTermination();
  try {
    return await run({ state, store: S3Store.fromConfig(config), signal: termination.signal, received: termination.received });
  } catch (error) {
    if (termination.signal.aborted) {
      throw new BinvaultError(`${termination.received() ?? 'signal'} received: the upload in progress was aborted; nothing partial was left, the next run does it again`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    termination.dispose();
    await release();
  }
};
