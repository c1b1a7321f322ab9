import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { RowDataPacket } from 'mysql2/promise';
import { DumpDatabaseFilter } from '../../core/dump/filter.js';
import { makeDirectories } from '../../core/files.js';
import { rawSizeOf } from '../../core/gzip/seal.js';
import { ApplyError } from '../errors.js';
import type { ApplyProgress, ObjectStore, TargetInstance } from '../../core/ports.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import { MysqlSession } from './session.js';
import { readOptionFile } from './option-file.js';

import { loadSql } from './load.js';


const sqlString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** An admin session on the instance: its option file's password, the instance's own address. */
const connect = async (instance: TargetInstance): Promise<MysqlSession> => {
  const options = await readOptionFile(instance.defaultsFile);
  const { socket, host, port, user } = instance;
  return MysqlSession.connect({ ...options, ...(socket ? { socket } : { host, port }), user });
};

/**
 * The new server's settings for the load. Flushes relaxed (redo written at each commit but flushed
 * once a second, binlog left to the OS): nobody uses the instance yet and a crash means a new
 * restore anyway. Packets up to the maximum: a dump's statement holds a whole row, and a row may be
 * larger than the 16 MiB or 64 MiB a server allows by default.
 */
const BULK_SETTINGS: ReadonlyArray<readonly [string, number]> = [
  ['innodb_flush_log_at_trx_commit', 2],
  ['sync_binlog', 0],
  ['max_allowed_packet', 1024 ** 3],
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

/** The parts of a dump stream that belong to these databases (core/dump/filter.ts). */
async function* selectedFrom(sql: AsyncIterable<Buffer>, databases: string[]): AsyncGenerator<Buffer> {
  const filter = new DumpDatabaseFilter(databases);
  for await (const chunk of sql) yield* filter.push(chunk);
  yield* filter.end();
}

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
  // The dump's raw size (its metadata, or its seal's) is the total its progress counts toward.
  const total = await rawSizeOf(store, plan.dump.key);
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
      loadSql(plan.databases ? selectedFrom(gunzip, plan.databases) : (gunzip as AsyncIterable<Buffer>), instance, {
        spillDir: workDir,
        finally: account,
        ...(onProgress ? { onProgress: (bytes: number) => onProgress({ phase: 'load', bytes, ...(total ? { total } : {}) }) } : {}),
      }),
    );
    await feeding;
    return { bytes: result.bytes, seconds: (performance.now() - started) / 1000, tables: result.tables, parallel: result.parallel };
  } catch (error) {
    gunzip.destroy();
    throw new ApplyError(`loading the dump ${store.url(plan.dump.key)} failed: ${(error as Error).message}`, { cause: error });
  }
};
