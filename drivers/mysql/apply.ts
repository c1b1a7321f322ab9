import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { RowDataPacket } from 'mysql2/promise';
import { makeDirectories } from '../../core/files.js';
import { EventType } from '../../core/binlog/events.js';
import { BinlogVerifier } from '../../core/binlog/verify.js';
import { formatMariadbGtid, parseMariadbGtids, type MariadbGtid } from '../../core/gtid.js';
import { writingLocally } from '../../core/errors.js';
import { isoSeconds } from '../../core/time.js';
import { ApplyError } from '../errors.js';
import type { ExpectedReach, ObjectStore, TargetInstance } from '../../core/ports.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import { findProgram } from './programs.js';
import { MysqlSession } from './session.js';
import { readOptionFile } from './option-file.js';

import { loadSql } from './load.js';
import { SqlSession } from './sql-client.js';

export type ApplyProgress = { phase: 'load' | 'download' | 'replay'; bytes: number; total?: number };

const sqlString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** An admin session on the instance: its option file's password, the instance's own address. */
const connect = async (instance: TargetInstance): Promise<MysqlSession> => {
  const options = await readOptionFile(instance.defaultsFile);
  const { socket, host, port, user } = instance;
  return MysqlSession.connect({ ...options, ...(socket ? { socket } : { host, port }), user });
};

/**
 * The new server's settings for a bulk step. Flushes relaxed (redo written at each commit but
 * flushed once a second, binlog left to the OS): nobody uses the instance yet and a crash means a
 * new restore anyway. Packets up to the maximum: a large row event replays as one BINLOG statement
 * a third larger than the event, beyond the 16 MiB or 64 MiB a server allows by default.
 */
const BULK_SETTINGS: ReadonlyArray<readonly [string, number]> = [
  ['innodb_flush_log_at_trx_commit', 2],
  ['sync_binlog', 0],
  ['max_allowed_packet', 1024 ** 3],
  // A LOAD DATA logged as a statement replays as LOAD DATA LOCAL (MySQL 8 refuses it by default).
  ['local_infile', 1],
];

/**
 * Set for the restore and left so: the dump brings the source's scheduled events, and an event fired
 * on the new server (MySQL's scheduler is on by default) would change its data after the target
 * second, during the replay or after it. The operator turns the scheduler on when the instance is put
 * to use.
 */
const KEPT_SETTINGS: ReadonlyArray<readonly [string, string]> = [['event_scheduler', 'OFF']];

/**
 * Runs a bulk step with {@link BULK_SETTINGS} on the new server (its sessions, opened by the step,
 * take them) and puts the server's own values back afterwards, whatever happens; sets
 * {@link KEPT_SETTINGS} for good.
 */
const withBulkSettings = async <T>(instance: TargetInstance, step: () => Promise<T>): Promise<T> => {
  const admin = await connect(instance);
  for (const [name, value] of KEPT_SETTINGS) {
    // A scheduler started DISABLED cannot be set, and needs not be.
    await admin.query(`SET GLOBAL ${name} = ${value}`).catch(() => undefined);
  }
  const saved: Array<[string, number]> = [];
  for (const [name, value] of BULK_SETTINGS) {
    try {
      const [row] = await admin.query<RowDataPacket>(`SELECT @@GLOBAL.${name} AS value`);
      await admin.query(`SET GLOBAL ${name} = ${value}`);
      saved.push([name, Number(row?.value)]);
    } catch {
      // A server that refuses (no privilege, another engine) runs the step with its own value.
    }
  }
  try {
    return await step();
  } finally {
    for (const [name, value] of saved) await admin.query(`SET GLOBAL ${name} = ${value}`).catch(() => undefined);
    await admin.close();
  }
};

/**
 * Loads the plan's dump into the instance: streamed from the bucket through gunzip into the SQL
 * client — its tables' rows in parallel sessions (read ahead into `workDir`, removed as they load) —
 * and not logged to the new server's binlog. A dump of all databases brings the source's accounts:
 * the instance's own admin account is set again afterwards, so the option file keeps working.
 */
export const loadDump = async (
  store: ObjectStore,
  plan: RestorePlan,
  instance: TargetInstance,
  onProgress?: (p: ApplyProgress) => void,
  workDir: string = tmpdir(),
): Promise<{ bytes: number; seconds: number; tables: number; parallel: number }> => {
  const started = performance.now();
  const password = (await readOptionFile(instance.defaultsFile)).password ?? '';
  const gunzip = createGunzip();
  const body = await store.get(plan.dump.key);
  const feeding = pipeline(Readable.from(body), gunzip).catch((error: unknown) => gunzip.destroy(error as Error));
  const admin = `${sqlString(instance.user)}@`;
  const account = [
    '\nFLUSH PRIVILEGES;',
    ...['localhost', '127.0.0.1'].flatMap((host) => [
      `CREATE USER IF NOT EXISTS ${admin}${sqlString(host)} IDENTIFIED BY ${sqlString(password)};`,
      `ALTER USER ${admin}${sqlString(host)} IDENTIFIED BY ${sqlString(password)};`,
      `GRANT ALL PRIVILEGES ON *.* TO ${admin}${sqlString(host)} WITH GRANT OPTION;`,
    ]),
    'FLUSH PRIVILEGES;\n',
  ].join('\n');
  try {
    await makeDirectories(workDir, 0o700);
    const result = await withBulkSettings(instance, () =>
      loadSql(gunzip as AsyncIterable<Buffer>, instance, {
        spillDir: workDir,
        finally: account,
        ...(onProgress ? { onProgress: (bytes: number) => onProgress({ phase: 'load', bytes }) } : {}),
      }),
    );
    await feeding;
    return { bytes: result.bytes, seconds: (performance.now() - started) / 1000, tables: result.tables, parallel: result.parallel };
  } catch (error) {
    gunzip.destroy();
    throw new ApplyError(`loading the dump ${store.url(plan.dump.key)} failed: ${(error as Error).message}`, { cause: error });
  }
};

/** Events that start a transaction or stand between transactions. */
const BETWEEN_TRANSACTIONS = new Set<number>([
  EventType.MARIADB_GTID,
  EventType.GTID,
  EventType.ANONYMOUS_GTID,
  EventType.ROTATE,
  EventType.STOP,
  EventType.MARIADB_GTID_LIST,
  EventType.MARIADB_BINLOG_CHECKPOINT,
  EventType.PREVIOUS_GTIDS,
]);


/**
 * Walks the downloaded binlogs as the replay does: from the start position to the stop, counting
 * only transactions that end before it (one cut in the middle is rolled back with the session).
 */
const expectedReach = async (plan: RestorePlan, files: string[]): Promise<ExpectedReach> => {
  const stopAt = 'datetime' in plan.stop ? Date.parse(plan.stop.datetime) / 1000 : Number.POSITIVE_INFINITY;
  const [stopDomain, , stopSeq] = 'gtid' in plan.stop ? plan.stop.gtid.split('-').map(Number) : [];
  const completed = new Map<number, MariadbGtid>();
  let current: MariadbGtid | undefined;
  let stopped = false;
  const reach: ExpectedReach = { gtids: '', events: 0 };
  for (const [index, path] of files.entries()) {
    const verifier = new BinlogVerifier((e) => {
      if (stopped || e.type === EventType.FORMAT_DESCRIPTION) return;
      if (index === 0 && e.position < plan.startPosition) return;
      if (e.timestamp >= stopAt) {
        stopped = true;
        // Stopping on the next transaction's first event (or between transactions) leaves the
        // current one whole; stopping inside it cuts it, and the session rolls it back.
        if (current && BETWEEN_TRANSACTIONS.has(e.type)) completed.set(current.domain, current);
        current = undefined;
        return;
      }
      if (e.type === EventType.MARIADB_GTID && e.gtid) {
        const [gtid] = parseMariadbGtids(e.gtid);
        if (stopDomain !== undefined && gtid && gtid.domain === stopDomain && gtid.seq > (stopSeq ?? 0)) {
          stopped = true;
          return;
        }
        if (current) completed.set(current.domain, current);
        current = gtid;
      }
      reach.events++;
      reach.time = isoSeconds(e.timestamp);
      reach.binlogFile = plan.binlogs[index]?.name ?? '';
      reach.binlogPosition = e.position + e.size;
    });
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) verifier.update(chunk as Buffer);
    verifier.finish();
    if (stopped) break;
  }
  // The transaction open at the end of the files, or at a GTID stop, is whole.
  if (current) completed.set(current.domain, current);
  reach.gtids = [...completed.values()].sort((a, b) => a.domain - b.domain).map(formatMariadbGtid).join(',');
  return reach;
};

/**
 * Replays the plan's binlogs in one session: one mariadb-binlog/mysqlbinlog process reading every
 * file in order, into one SQL client, from the dump's coordinates to the stop. Per-file replay would
 * lose temporary tables across files. Files are downloaded (gunzipped, sha256-checked) first.
 */
export const replayBinlogs = async (
  store: ObjectStore,
  plan: RestorePlan,
  instance: TargetInstance,
  workDir: string,
  onProgress?: (p: ApplyProgress) => void,
): Promise<{ bytes: number; seconds: number; expected: ExpectedReach }> => {
  const started = performance.now();
  await makeDirectories(workDir, 0o700);
  const files: string[] = [];
  let bytes = 0;
  try {
    for (const binlog of plan.binlogs) {
      const path = join(workDir, binlog.name);
      const head = await store.head(binlog.key);
      const hash = createHash('sha256');
      const source = Readable.from(await store.get(binlog.key));
      // A full disk on the restore host says so, naming the binlog and the directory.
      await writingLocally(`binlog ${binlog.name} (downloaded for the replay)`, workDir, () =>
        pipeline(
          source,
          createGunzip(),
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              hash.update(chunk);
              bytes += chunk.length;
              onProgress?.({ phase: 'download', bytes });
              yield chunk;
            }
          },
          createWriteStream(path, { mode: 0o600 }),
        ),
      );
      const expected = head?.metadata.sha256;
      if (expected && hash.digest('hex') !== expected) throw new ApplyError(`${store.url(binlog.key)} does not match its sha256: not replayed`);
      files.push(path);
    }
    // Read beside the replay (it only reads the files): ready by the time the replay ends.
    const reaching = expectedReach(plan, files);
    reaching.catch(() => undefined);

    const tool = findProgram('mariadb-binlog', 'mysqlbinlog');
    if (!tool) throw new ApplyError('no mariadb-binlog or mysqlbinlog on PATH');
    // The rows of a replayed LOAD DATA wait in the work directory (removed afterwards), not in /tmp.
    const loads = join(workDir, 'load-data');
    await mkdir(loads, { mode: 0o700 });
    const args = [
      `--local-load=${loads}`,
      ...('gtid' in plan.stop
        ? [`--start-position=${plan.dump.gtids ?? ''}`, `--stop-position=${plan.stop.gtid}`]
        : [`--start-position=${plan.startPosition}`, `--stop-datetime=${plan.stop.datetime.replace('T', ' ').replace('Z', '')}`]),
    ];
    const { code, stderr } = await withBulkSettings(instance, async () => {
      // MIXED logs what the source logged, temporary-table statements too (ROW would not): every
      // replayed transaction keeps its GTID in the new server's binlog, so its position says what was reached.
      const session = new SqlSession(instance, { init: "SET SESSION binlog_format = 'MIXED'", localInfile: true });
      // The reader's output goes straight into the client.
      const reader = session.feedFrom(tool, [...args, ...files], { PATH: process.env.PATH ?? '', TZ: 'UTC' });
      let readerErr = '';
      reader.stderr.on('data', (d: Buffer) => (readerErr = (readerErr + d.toString()).slice(-16_384)));
      const readerExit = new Promise<number | null>((resolve) => reader.on('close', resolve));
      // Progress: how far the reader is through the files (it reads each once, in order).
      const progress = setInterval(() => {
        void readFile(`/proc/${reader.pid}/io`, 'utf8')
          .then((io) => onProgress?.({ phase: 'replay', bytes: Number(/^rchar: (\d+)/m.exec(io)?.[1] ?? 0), total: bytes }))
          .catch(() => undefined);
      }, 1000);
      try {
        await session.end();
        return { code: await readerExit, stderr: readerErr };
      } finally {
        clearInterval(progress);
        session.kill();
        reader.kill();
      }
    });
    if (code !== 0) throw new ApplyError(`${tool} exited with code ${code}: ${stderr.trim().split('\n')[0] ?? ''}`);
    return { bytes, seconds: (performance.now() - started) / 1000, expected: await reaching };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
};

/** What the new server says it reached: its GTID position (the replayed transactions keep their GTIDs). */
export const readReached = async (instance: TargetInstance): Promise<{ gtids: string }> => {
  const connection = await connect(instance);
  try {
    const [row] = await connection.query<RowDataPacket>('SELECT @@gtid_binlog_pos AS gtids');
    return { gtids: String(row?.gtids ?? '') };
  } catch {
    const [row] = await connection.query<RowDataPacket>('SELECT @@gtid_executed AS gtids');
    return { gtids: String(row?.gtids ?? '').replace(/\s+/g, '') };
  } finally {
    await connection.close();
  }
};
