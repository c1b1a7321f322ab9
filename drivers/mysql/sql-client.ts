import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplyError } from '../errors.js';
import type { TargetInstance } from '../../core/ports.js';
import { findProgram } from './programs.js';

const clientProgram = (): string => {
  const path = findProgram('mariadb', 'mysql');
  if (!path) throw new ApplyError('no mariadb or mysql client on PATH');
  return path;
};

/**
 * One session of the SQL client (`mariadb`/`mysql`) on the instance, fed SQL through its stdin, with
 * credentials from the option file only (never argv or environment). It stops at the first failing
 * statement, as a load must. `sync()` resolves once the server has run everything written before it:
 * the client prints a marker that only that point in the stream selects.
 */
export class SqlSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private stdoutTail = '';
  private marks = 0;
  private readonly waiting = new Map<string, () => void>();
  private readonly failure: Promise<never>;

  /**
   * @param options.init a statement the client runs first, on connecting.
   */
  public constructor(
    private readonly instance: TargetInstance,
    options: { init?: string } = {},
  ) {
    const args = [
      `--defaults-extra-file=${instance.defaultsFile}`,
      '--max-allowed-packet=1G',
      '--batch',
      '--skip-column-names',
      '--unbuffered',
      // Statements as the binlog and the dump hold them, byte for byte: without it the client refuses
      // a NUL in a logged statement's text and turns CR LF into LF (MySQL's and MariaDB's manuals
      // replay mysqlbinlog output with --binary-mode for this reason).
      '--binary-mode',
      // A session that reconnected would have lost its temporary tables and settings: fail instead.
      '--skip-reconnect',
      ...(options.init ? [`--init-command=${options.init}`] : []),
    ];
    this.child = spawn(clientProgram(), args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', TZ: 'UTC' },
    });
    // The client frames the failing statement (megabytes of rows) before its ERROR line: the end is kept.
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-16_384);
    });
    this.child.stdout.on('data', (d: Buffer) => this.marked(d.toString('latin1')));
    // A client that died is seen through its exit; writes to it fail with EPIPE meanwhile.
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
    this.failure = this.exited.then((code) => this.failed(code));
    this.failure.catch(() => undefined);
  }

  /** Writes SQL, waiting while the client is behind; rejects if the client has stopped. */
  public async write(sql: Buffer | string): Promise<void> {
    if (this.child.stdin.write(sql)) return;
    // A broken pipe is the client's exit, told with its reason by `failure`.
    await Promise.race([once(this.child.stdin, 'drain').catch(() => this.failure), this.failure]);
  }

  /** Resolves once the server has run every statement written so far; must follow a whole statement. */
  public async sync(): Promise<void> {
    const mark = `binvault-sync-${++this.marks}`;
    const reached = new Promise<void>((resolve) => this.waiting.set(mark, resolve));
    await this.write(`SELECT '${mark}';\n`);
    await Promise.race([reached, this.failure]);
  }

  /** Ends the input and waits for the client; rejects with the failing statement's error. */
  public async end(): Promise<void> {
    this.child.stdin.end();
    const code = await this.exited;
    if (code !== 0) await this.failure;
  }

  /** Stops the client at once (another session failed). */
  public kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private marked(text: string): void {
    const lines = (this.stdoutTail + text).split('\n');
    this.stdoutTail = lines.pop() ?? '';
    for (const line of lines) {
      const resolve = this.waiting.get(line.trim());
      if (resolve) {
        this.waiting.delete(line.trim());
        resolve();
      }
    }
  }

  private async failed(code: number | null): Promise<never> {
    // The client frames the failing statement with dashes; the ERROR line says what went wrong.
    const lines = this.stderr.split('\n').map((l) => l.trim());
    const reason = lines.find((l) => l.startsWith('ERROR')) ?? lines.find((l) => l !== '' && !/^-+$/.test(l)) ?? 'it stopped';
    // A lost connection is the server's story: its error log says why (a local instance has one beside its data).
    const serverLog =
      /Lost connection|gone away/.test(reason) && this.instance.dataDir
        ? (await readFile(join(this.instance.dataDir, '..', 'error.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ')
        : '';
    throw new ApplyError(`the SQL client exited with code ${code}: ${reason}${serverLog ? ` (server log: ${serverLog})` : ''}`);
  }
}
