import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { makeDirectories } from '../../core/files.js';
import { InstanceError, PortTakenError } from '../errors.js';
import { writeOptionFile } from '../mysql/option-file.js';
import { findProgram } from '../mysql/programs.js';

const execFileAsync = promisify(execFile);

/**
 * A MySQL-family server started from the binaries on PATH, in a directory of its own: used as
 * the throwaway source in tests and the demo, and as the "fresh instance" of a local restore.
 */
export interface InstanceOptions {
  /** A directory to hold the instance; a new temporary one when unset. */
  baseDir?: string;
  /** A port to try first; a free one is picked when unset or when it turns out to be taken. */
  port?: number;
  /** @default 1 */
  serverId?: number;
  /** Binary logging on, with files `binlog.NNNNNN`. @default true */
  binlog?: boolean;
  /** @default 'ROW' */
  binlogFormat?: 'ROW' | 'STATEMENT' | 'MIXED';
  /** More server options, e.g. `--gtid-mode=ON`. */
  extraArgs?: string[];
  /** Keep running after this process exits (a restored instance left for the operator). @default false */
  detached?: boolean;
  /** InnoDB sizes: small for throwaway test servers, larger for a restore's heavy replay. @default '8M', '64M' */
  innodbLogFileSize?: string;
  innodbBufferPoolSize?: string;
  /** Told, with the end of the error log, when the server exits without being stopped. */
  onUnexpectedExit?: (message: string) => void;
}

export interface Instance {
  flavor: 'mariadb' | 'mysql';
  port: number;
  socket: string;
  baseDir: string;
  dataDir: string;
  /** An option file (mode 0600) with `[client]` user, password and socket for this instance. */
  defaultsFile: string;
  user: string;
  pid: number;
  /** Shuts the server down and, unless kept, removes its directory. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

/** What MariaDB and MySQL write to the error log when the port is in use. */
const PORT_TAKEN = /Bind on TCP\/IP port|Address already in use/i;

export const freePort = async (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

const detectServer = async (): Promise<{ flavor: 'mariadb' | 'mysql'; server: string }> => {
  const mariadbd = findProgram('mariadbd');
  if (mariadbd) return { flavor: 'mariadb', server: mariadbd };
  const mysqld = findProgram('mysqld');
  if (!mysqld) throw new InstanceError('no mariadbd or mysqld on PATH: install MariaDB or MySQL server binaries');
  const { stdout } = await execFileAsync(mysqld, ['--version']);
  return { flavor: /mariadb/i.test(stdout) ? 'mariadb' : 'mysql', server: mysqld };
};

const tail = async (path: string, lines = 5, from = 0): Promise<string> =>
  (await readFile(path).catch(() => Buffer.alloc(0)))
    .subarray(from)
    .toString('utf8')
    .trim()
    .split('\n')
    .slice(-lines)
    .join(' | ');

/**
 * Initializes a data directory and starts a server on a free port and its own socket, binlog on.
 * Resolves once it accepts connections, with a generated root password in a 0600 option file.
 */
export const startInstance = async (options: InstanceOptions = {}): Promise<Instance> => {
  const { flavor, server } = await detectServer();
  const baseDir = options.baseDir ?? (await mkdtemp(join(tmpdir(), 'binvault-db-')));
  await makeDirectories(baseDir, 0o700);
  const dataDir = join(baseDir, 'data');
  // Its own tmpdir: servers name their temporary files after their pid (`#sql-temptable-<pid>-…`),
  // and two servers in different pid namespaces that share /tmp (containers, CI sandboxes) can
  // have the same pid and take each other's files ("File exists", "Error on delete", a dead server).
  const tmpDir = join(baseDir, 'tmp');
  await makeDirectories(tmpDir, 0o700);
  const socket = join(baseDir, 'mysqld.sock');
  const errorLog = join(baseDir, 'error.log');
  const user = userInfo().username;
  const common = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--tmpdir=${tmpDir}`,
    `--innodb-log-file-size=${options.innodbLogFileSize ?? '8M'}`,
    `--innodb-buffer-pool-size=${options.innodbBufferPoolSize ?? '64M'}`,
  ];

  if (flavor === 'mariadb') {
    const installDb = findProgram('mariadb-install-db', 'mysql_install_db');
    if (!installDb) throw new InstanceError('mariadb-install-db not found on PATH');
    await execFileAsync(installDb, [...common, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db']).catch(
      (error: unknown) => {
        // Its reason is in its stderr (an ERROR line), not in the "Command failed: …" message.
        const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n');
        const reason = stderr.find((l) => /\bERROR\b/.test(l)) ?? stderr.at(-1) ?? (error as Error).message.split('\n')[0];
        throw new InstanceError(`mariadb-install-db failed in ${dataDir}: ${reason ?? 'no reason given'}`, { cause: error });
      },
    );
  } else {
    await execFileAsync(server, [...common, `--user=${user}`, '--initialize-insecure', `--log-error=${errorLog}`]).catch(
      async (error: unknown) => {
        throw new InstanceError(`mysqld --initialize-insecure failed: ${await tail(errorLog)}`, { cause: error });
      },
    );
  }

  const binlog = options.binlog ?? true;
  const argsFor = (port: number): string[] => [
    ...common,
    `--user=${user}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socket}`,
    `--pid-file=${join(baseDir, 'mysqld.pid')}`,
    `--log-error=${errorLog}`,
    `--server-id=${options.serverId ?? 1}`,
    ...(binlog
      ? [`--log-bin=${join(dataDir, 'binlog')}`, `--binlog-format=${options.binlogFormat ?? 'ROW'}`]
      : flavor === 'mysql'
        ? ['--skip-log-bin']
        : []),
    ...(flavor === 'mysql' ? ['--mysqlx=OFF'] : []),
    ...(options.extraArgs ?? []),
  ];

  let exited: string | undefined;
  let stopping = false;
  const launch = async (port: number): Promise<ChildProcess> => {
    exited = undefined;
    // What this start writes to the error log, not an earlier attempt's lines.
    const logStart = (await stat(errorLog).catch(() => undefined))?.size ?? 0;
    const child: ChildProcess = spawn(server, argsFor(port), { stdio: 'ignore', detached: options.detached ?? false });
    if (options.detached) child.unref();
    let starting = true;
    child.on('exit', (code, signal) => {
      exited = signal ?? String(code);
      // A server that dies on its own says why in its error log: hand that to whoever listens.
      if (!starting && !stopping && options.onUnexpectedExit) {
        const listener = options.onUnexpectedExit;
        void tail(errorLog, 20).then((log) => listener(`${server} (pid ${child.pid}) exited (${exited}) on its own: ${log}`));
      }
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== undefined) {
        const log = await tail(errorLog, 5, logStart);
        if (PORT_TAKEN.test(log)) throw new PortTakenError(port);
        throw new InstanceError(`${server} exited (${exited}) while starting: ${log}`);
      }
      try {
        const connection = await createConnection({ socketPath: socket, user: 'root' });
        await connection.end();
        starting = false;
        return child;
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new InstanceError(`${server} did not accept connections within 60 s: ${await tail(errorLog)}`);
        }
        await sleep(100);
      }
    }
  };

  // A free port can be taken by another process before the server binds it: then another port.
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; child === undefined; attempt++) {
    port = attempt === 1 && options.port !== undefined ? options.port : await freePort();
    child = await launch(port).catch((error: unknown) => {
      if (error instanceof PortTakenError && attempt < 5) return undefined;
      throw error;
    });
  }
  const running = child;

  const password = randomBytes(18).toString('base64url');
  const admin = await createConnection({ socketPath: socket, user: 'root', multipleStatements: true });
  try {
    await admin.query(
      "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ?; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; " +
        "ALTER USER 'root'@'localhost' IDENTIFIED BY ?",
      [password, password],
    );
  } finally {
    await admin.end();
  }
  const defaultsFile = join(baseDir, 'client.cnf');
  await writeOptionFile(defaultsFile, { user: 'root', password, socket, port, host: '127.0.0.1' });

  const stop = async (stopOptions: { keep?: boolean } = {}): Promise<void> => {
    stopping = true;
    if (exited === undefined) {
      const done = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(timer);
    }
    if (!stopOptions.keep && options.baseDir === undefined) await rm(baseDir, { recursive: true, force: true });
  };
  return { flavor, port, socket, baseDir, dataDir, defaultsFile, user: 'root', pid: running.pid ?? 0, stop };
};
