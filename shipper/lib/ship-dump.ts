import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2/promise';
import { DumpVerifier, type DumpFacts } from '../../core/dump/verify.js';
import { writingLocally } from '../../core/errors.js';
import { DumpError, LockWaitError } from './errors.js';
import { areaRoot, dayIn, dumpFileName, dumpKey, type HostScope } from '../../core/layout.js';
import type { Clock, ObjectStore } from '../../core/ports.js';
import { versionAtLeast } from '../../core/server.js';
import { partBytesFor } from '../../core/streams.js';
import { findProgram } from '../../drivers/mysql/programs.js';
import { onPath, rssSampler, zlibCompressor, type Compressor } from './compress.js';
import { sealedGzip, type ParallelGzipOptions } from './gzip.js';
import { MysqlSession, type ServerInfo } from '../../drivers/mysql/session.js';
import { writeOptionFile, type MysqlClientOptions } from '../../drivers/mysql/option-file.js';
import type { StateDir } from './state.js';

const execFileAsync = promisify(execFile);

export type ShipDumpEvent =
  | { type: 'started'; tool: string; options: string[]; key: string }
  | { type: 'cleaned'; key: string }
  /** Raw bytes the tool wrote so far, against an estimate of the whole (the tables' data in information_schema). */
  | { type: 'progress'; rawBytes: number; estimatedBytes: number }
  | { type: 'shipped'; key: string; rawBytes: number; storedBytes: number; seconds: number; facts: DumpFacts };

export interface ShipDumpOptions {
  client: MysqlClientOptions;
  store: ObjectStore;
  state: StateDir;
  scope: HostScope;
  timeZone?: string;
  clock: Clock;
  shipperVersion: string;
  /** All databases when unset. */
  databases?: string[];
  /** Seconds the dump may wait for a lock before it is cancelled. @default 60 */
  lockWaitTimeout?: number;
  gzip?: ParallelGzipOptions;
  /** Who compresses (compress.ts's selectCompressor). @default zlib on every core */
  compressor?: Compressor;
  listener?: (event: ShipDumpEvent) => void;
  signal?: AbortSignal;
}

export interface ShipDumpResult {
  key: string;
  rawBytes: number;
  storedBytes: number;
  sha256: string;
  binlogFile?: string;
  binlogPosition?: number;
  gtids?: string;
  /** The compressor that ran, as selectCompressor described it. */
  compressor: string;
  /** The largest peak RSS of the dump tool and the compressor process, sampled as their output ended. */
  childPeakRss: number;
}

export interface DumpTool {
  path: string;
  flavor: 'mysql' | 'mariadb';
  version: ServerInfo['version'];
}

/** The dump tool on PATH for this server (mariadb-dump or mysqldump), and its version. */
export const detectTool = async (server: ServerInfo): Promise<DumpTool> => {
  const path = server.version.flavor === 'mariadb' ? findProgram('mariadb-dump', 'mysqldump') : findProgram('mysqldump');
  if (!path) {
    throw new DumpError(`no ${server.version.flavor === 'mariadb' ? 'mariadb-dump' : 'mysqldump'} on PATH: install the server's client programs`);
  }
  const { stdout } = await execFileAsync(path, ['--version']);
  const mariadb = /mariadb/i.test(stdout);
  // "mysqldump  Ver 8.4.3 for Linux" / "mariadb-dump from 11.4.2-MariaDB, client 10.19 for …"
  const match = /(?:Ver|from|Distrib)\s+(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  const [major, minor, patch] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  return { path, flavor: mariadb ? 'mariadb' : 'mysql', version: { flavor: mariadb ? 'mariadb' : 'mysql', major, minor, patch, text: stdout.trim() } };
};

/**
 * The dump options of the first users' script, plus the coordinates and GTID state a restore into a
 * fresh instance starts from: `--source-data=2` (MySQL ≥ 8.0.26) or `--master-data=2`, and
 * `--set-gtid-purged=COMMENTED` (MySQL ≥ 8.0.32) or MariaDB's `--gtid`.
 */
export const dumpArguments = (tool: DumpTool, gtidMode: boolean, databases: string[] | undefined): string[] => {
  const args = ['--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--quick'];
  if (tool.flavor === 'mysql') {
    args.push(versionAtLeast(tool.version, 8, 0, 26) ? '--source-data=2' : '--master-data=2');
    args.push(`--set-gtid-purged=${!gtidMode ? 'OFF' : versionAtLeast(tool.version, 8, 0, 32) ? 'COMMENTED' : 'ON'}`);
  } else {
    args.push('--master-data=2', '--gtid');
  }
  args.push(...(databases && databases.length > 0 ? ['--databases', ...databases] : ['--all-databases']));
  return args;
};

/**
 * What the dump will about weigh, for its progress: the data of the tables it dumps, as
 * information_schema tells (InnoDB's own estimate; the SQL text of the rows is of that order).
 */
const estimateDumpBytes = async (session: MysqlSession, databases: string[] | undefined): Promise<number> => {
  const only = databases && databases.length > 0 ? ` AND TABLE_SCHEMA IN (${databases.map((d) => `'${d.replace(/['\\]/g, '\\$&')}'`).join(', ')})` : '';
  const [row] = await session.query<RowDataPacket>(
    "SELECT COALESCE(SUM(DATA_LENGTH), 0) AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema', 'sys')" + only,
  );
  return Number(row?.bytes ?? 0);
};

const LOCK_WAIT = /waiting for (table flush|global read lock|table metadata lock|backup lock|.*lock)/i;

/**
 * One consistent dump, streamed: the server's dump tool → gzip (+ seal) → multipart upload to
 * `{prefix}/{host}/dumps/{day}/{host}-{stamp}.sql.gz`, completed only once the tool has exited
 * cleanly and the stream ends with "Dump completed"; its coordinates in the metadata (and its sha256
 * and raw size when it fits one PUT; the seal states them always). Nothing is written to local disk
 * but a 0600 option file in a private directory, removed afterwards. Any failure leaves no object.
 */
export const shipDump = async (options: ShipDumpOptions): Promise<ShipDumpResult> => {
  const { client, store, scope, clock } = options;
  const emit = options.listener ?? (() => undefined);
  const lockWaitTimeout = options.lockWaitTimeout ?? 60;

  const monitor = await MysqlSession.connect(client);
  let work: string | undefined;
  let child: ChildProcess | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const server = await monitor.info();
    const tool = await detectTool(server);
    const [gtid] = await monitor.query<RowDataPacket>(
      server.version.flavor === 'mysql' ? "SELECT @@gtid_mode = 'ON' AS gtid, CONNECTION_ID() AS id" : 'SELECT 1 AS gtid, CONNECTION_ID() AS id',
    );
    const monitorId = Number(gtid?.id);
    if (options.databases && options.databases.length > 0) {
      const rows = await monitor.query<RowDataPacket>('SHOW DATABASES');
      const present = new Set(rows.map((r) => String(Object.values(r)[0])));
      const missing = options.databases.filter((d) => !present.has(d));
      if (missing.length > 0) throw new DumpError(`no such database on the server: ${missing.join(', ')}`);
    }

    // Leftovers of a killed run (we hold the dump lock: nobody else writes dumps of this host): its
    // open upload, or one to the staging area earlier versions wrote through, and their objects.
    for (const area of ['dumps', 'staging'] as const) {
      for (const upload of await store.listMultipartUploads(areaRoot(scope, area))) {
        await store.abortMultipartUpload(upload.key, upload.uploadId);
        emit({ type: 'cleaned', key: upload.key });
      }
    }
    for (const object of (await store.list(areaRoot(scope, 'staging'))).keys) {
      await store.delete(object.key);
      emit({ type: 'cleaned', key: object.key });
    }

    work = await writingLocally("the dump tool's option file", tmpdir(), () => mkdtemp(join(tmpdir(), 'binvault-dump-')));
    const defaults = join(work, 'client.cnf');
    const { file: _file, ...connection } = client;
    await writingLocally("the dump tool's option file", tmpdir(), () => writeOptionFile(defaults, connection));

    const now = clock.now();
    const name = dumpFileName(scope.host, now);
    const key = dumpKey(scope, dayIn(now, options.timeZone ?? 'UTC'), name);
    const args = dumpArguments(tool, Boolean(Number(gtid?.gtid)), options.databases);
    const estimatedBytes = await estimateDumpBytes(monitor, options.databases);
    emit({ type: 'started', tool: tool.path, options: args, key });

    // The password reaches the tool only through the option file: not argv, not its environment.
    // HOME points at the private directory so that no ~/.my.cnf or ~/.mylogin.cnf overrides it.
    // stdbuf (coreutils) gives the tool's stdout a 4 MiB stdio buffer: it writes its pipe 4 KiB at a
    // time otherwise, and every small read costs this process a round through its event loop
    // (measured with igzip: 0.8 instead of 1.3 CPU seconds here per 163 MB of dump). It execs the
    // tool in place: same process, same arguments, same environment but for its own variables.
    const stdbuf = options.compressor?.name === 'igzip' ? onPath('stdbuf') : undefined;
    const command = stdbuf ? [stdbuf, '-o', '4M', tool.path] : [tool.path];
    child = spawn(command[0] as string, [...command.slice(1), `--defaults-extra-file=${defaults}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LANG: 'C.UTF-8', TZ: 'UTC' },
    });
    const running = child;
    let stderr = '';
    running.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 65_536) stderr += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      running.on('close', (code, signal) => resolve({ code, signal })),
    );
    const spawnFailed = new Promise<never>((_, reject) => running.on('error', (e) => reject(new DumpError(`cannot run ${tool.path}: ${e.message}`, { cause: e }))));
    spawnFailed.catch(() => undefined);

    let cancelled: LockWaitError | undefined;
    watchdog = setInterval(() => {
      void (async () => {
        const rows = await monitor.query<RowDataPacket>(
          `SELECT ID AS id, USER AS user, TIME AS time, STATE AS state, INFO AS info, COMMAND AS command FROM information_schema.PROCESSLIST`,
        );
        const mine = rows.find((r) => Number(r.id) > monitorId && r.user === client.user && LOCK_WAIT.test(String(r.state ?? '')));
        if (!mine || Number(mine.time) < lockWaitTimeout || cancelled) return;
        const blocker = rows
          .filter((r) => Number(r.id) !== Number(mine.id) && Number(r.id) !== monitorId && r.command === 'Query' && r.info)
          .sort((a, b) => Number(b.time) - Number(a.time))[0];
        const what = blocker
          ? `query ${blocker.id} of ${blocker.user} running ${blocker.time} s: ${String(blocker.info).replace(/\s+/g, ' ').slice(0, 200)}`
          : 'no visible query (a lock held by an idle transaction?)';
        cancelled = new LockWaitError(
          `the dump waited ${mine.time} s (${String(mine.state)}${mine.info ? `: ${String(mine.info).slice(0, 80)}` : ''}) behind ${what}; dump cancelled and its session ${mine.id} killed, no object written`,
        );
        await monitor.query(`KILL ${Number(mine.id)}`).catch(() => undefined);
        running.kill('SIGTERM');
      })().catch(() => undefined);
    }, 1000);

    const onAbort = (): void => {
      running.kill('SIGTERM');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const facts = new DumpVerifier();
    const compressor = options.compressor ?? zlibCompressor(availableParallelism());
    let childPeakRss = 0;
    const toolRss = rssSampler(running.pid);
    let rawBytes = 0;
    let sha256 = '';
    let dumpFacts: DumpFacts | undefined;
    let ended = false;
    const started = performance.now();
    async function* body(): AsyncGenerator<Buffer> {
      if (!running.stdout) throw new DumpError('the dump tool has no output');
      // zlib: a read-ahead buffer, so that the dump tool keeps writing while a block is being
      // compressed. igzip: its pipe and 4 MiB of the tool's stdio buffer are enough, and a
      // PassThrough cost more CPU here than it saved (measured).
      const stdout = compressor.name === 'zlib' ? running.stdout.pipe(new PassThrough({ highWaterMark: 4 * 1024 * 1024 })) : running.stdout;
      const sealed = sealedGzip(stdout, {
        ...options.gzip,
        compressor,
        ...(options.signal ? { signal: options.signal } : {}),
        onCompressorEnd: ({ peakRss }) => (childPeakRss = Math.max(childPeakRss, peakRss)),
        onRaw: (block) => {
          toolRss.sample();
          rawBytes += block.length;
          facts.update(block);
          emit({ type: 'progress', rawBytes, estimatedBytes });
        },
        onSeal: (seal) => {
          sha256 = seal.rawSha256;
        },
      });
      for await (const member of sealed) yield member;
      const { code, signal } = await Promise.race([exited, spawnFailed]);
      childPeakRss = Math.max(childPeakRss, toolRss.peak());
      dumpFacts = facts.finish();
      // Checked before the upload completes: a failed dump never becomes an object.
      if (cancelled) throw cancelled;
      options.signal?.throwIfAborted();
      const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      const errorLine = lines.find((l) => /error|denied|unknown|can't|couldn't|cannot|failed|lost connection/i.test(l));
      if (code !== 0) {
        // A tool that fails says why on stderr, in words the pattern may not know ("Couldn't execute …").
        const why = errorLine ?? lines.at(-1);
        throw new DumpError(`${tool.path} ${signal ? `was killed (${signal})` : `exited with code ${code}`}${why ? `: ${why}` : ''}; no object written`);
      }
      if (errorLine) throw new DumpError(`${tool.path} reported an error: ${errorLine}; no object written`);
      if (!dumpFacts.complete) throw new DumpError('the dump stream ends without its "-- Dump completed" trailer; no object written');
      ended = true;
    }

    // Straight to its key: the upload completes only once the body above ended with every check
    // passed, so a failed dump never becomes an object. The metadata is set when the object is
    // created: after its first parts, when the header has given the coordinates; the sha256 and raw
    // size of a dump larger than one part are known only at its end, and its seal states them
    // (what the verifier checks). No staging object copied afterwards: that copy doubled the upload's
    // last seconds and, under Object Lock, the stored bytes for the lock's days.
    const stored = await store.putStream(key, body(), {
      contentType: 'application/gzip',
      metadata: {
        host: scope.host,
        'server-id': String(server.serverId),
        ...(server.serverUuid ? { 'server-uuid': server.serverUuid } : {}),
        kind: 'dump',
        'shipper-version': options.shipperVersion,
      },
      metadataOnCreate: () => {
        const header = facts.peek();
        return {
          'binlog-file': header.binlogFile ? `${header.binlogFile}:${header.binlogPosition ?? ''}` : '',
          ...(ended ? { sha256, 'raw-size': String(rawBytes) } : {}),
        };
      },
      // Parts sized from the estimate (twice the tables' data: the SQL text of a row can be larger than
      // InnoDB's page share of it; the gzip output is smaller), so a dump of any size fits S3's 10,000 parts.
      partBytes: partBytesFor(2 * estimatedBytes),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // The body ran to its end (or the upload threw): the facts are final.
    const final = dumpFacts as unknown as DumpFacts;
    emit({ type: 'shipped', key, rawBytes, storedBytes: stored.bytes, seconds: (performance.now() - started) / 1000, facts: final });
    return {
      key,
      rawBytes,
      storedBytes: stored.bytes,
      sha256,
      ...(final.binlogFile ? { binlogFile: final.binlogFile } : {}),
      ...(final.binlogPosition !== undefined ? { binlogPosition: final.binlogPosition } : {}),
      ...(final.gtids ? { gtids: final.gtids } : {}),
      compressor: compressor.description,
      childPeakRss,
    };
  } catch (error) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    throw error;
  } finally {
    if (watchdog) clearInterval(watchdog);
    await monitor.close();
    if (work) await rm(work, { recursive: true, force: true });
  }
};
