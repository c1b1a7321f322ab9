import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { link, readFile, rename, rm, unlink, writeFile, access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirectories } from '../../core/files.js';
import { ConfigurationError, writingLocally } from '../../core/errors.js';
import { LockedError } from './errors.js';

/**
 * The shipper's own directory (`BINVAULT_STATE_DIR`): its locks and its cache of what has been
 * shipped. Losing it loses nothing: the cache is rebuilt from the bucket.
 */
export class StateDir {
  public constructor(public readonly path: string) {}

  public async ensure(): Promise<void> {
    try {
      await makeDirectories(this.path, 0o700);
      await access(this.path, constants.W_OK);
    } catch (error) {
      throw new ConfigurationError(
        `state directory ${this.path} is not writable (${(error as NodeJS.ErrnoException).code ?? 'error'}): set BINVAULT_STATE_DIR`,
        { cause: error },
      );
    }
  }

  public async readJson<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.path, name), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A cache torn by a crash is as good as none: it is rebuilt from the bucket.
      if (error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /** Write-to-temp, fsync, rename: a crash leaves the old file or the new one, never half. */
  public async writeJson(name: string, value: unknown): Promise<void> {
    const target = join(this.path, name);
    const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writingLocally(name, this.path, async () => {
      try {
        const fd = openSync(temp, 'w', 0o600);
        try {
          writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        await rename(temp, target);
      } catch (error) {
        // A full disk must not leave a half-written temporary file behind.
        await unlink(temp).catch(() => undefined);
        throw error;
      }
    });
  }

  public async remove(name: string): Promise<void> {
    await rm(join(this.path, name), { force: true });
  }

  /**
   * Takes the named lock or fails at once. A lock left by a process that is gone (or whose pid
   * now belongs to another process) is taken over.
   */
  public async lock(name: string, purpose: string): Promise<() => Promise<void>> {
    await this.ensure();
    const path = join(this.path, `${name}.lock`);
    const mine: LockOwner = { pid: process.pid, start: processStart(process.pid), purpose, since: new Date().toISOString() };
    const temp = `${path}.${process.pid}.tmp`;
    try {
      await writingLocally(`the ${name} lock`, this.path, () => writeFile(temp, JSON.stringify(mine), { mode: 0o600 }));
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          // link() fails if the lock exists: an atomic test-and-set on every local file system.
          await link(temp, path);
          return async () => {
            await unlink(path).catch(() => undefined);
          };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const text = await readFile(path, 'utf8').catch(() => '');
        const owner = parseOwner(text);
        if (owner && isAlive(owner)) {
          throw new LockedError(
            `another binvault ${owner.purpose} is running (pid ${owner.pid}, since ${owner.since}); this run exits`,
          );
        }
        // Stale: remove it only if it is still the same stale lock, then race for it again.
        const again = await readFile(path, 'utf8').catch(() => '');
        if (again === text) await unlink(path).catch(() => undefined);
      }
      throw new LockedError(`could not take the lock ${path}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}

interface LockOwner {
  pid: number;
  start: string | undefined;
  purpose: string;
  since: string;
}

const parseOwner = (text: string): LockOwner | undefined => {
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
};

/** The kernel's start time of a process (Linux), to tell a reused pid from the lock's owner. */
const processStart = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
};

const isAlive = (owner: LockOwner): boolean => {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = processStart(owner.pid);
  return owner.start === undefined || start === undefined || start === owner.start;
};
