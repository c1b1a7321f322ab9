import { createHash } from 'node:crypto';
import { chown, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { RowDataPacket } from 'mysql2/promise';
import { BinlogVerifier } from '../../core/binlog/verify.js';
import { writingLocally } from '../../core/errors.js';
import type { ApplyProgress, ExpectedReach, ObjectHead, ObjectStore, TargetInstance } from '../../core/ports.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import { ReachTracker, type ReplayReach } from '../../core/restore/reach.js';
import { parseServerVersion, versionAtLeast, type ServerVersion } from '../../core/server.js';
import { ApplyError } from '../errors.js';
import { readOptionFile } from './option-file.js';
import { MysqlSession } from './session.js';

/** What a replay applied and where the server stopped: the plan's reach, and the server's own word. */
export interface ReplayResult {
  bytes: number;
  seconds: number;
  expected: ExpectedReach;
  /** Where the replica applier stopped (the plan's binlog file and position) and the GTIDs it recorded. */
  reached: { binlogFile: string; binlogPosition: number; gtids: string };
}

/** The statements of the replica applier, in the words of the server's flavor and version. */
interface Dialect {
  flavor: 'mariadb' | 'mysql';
  change: (options: string) => string;
  start: (until: string) => string;
  status: string;
  running: string;
  stop: string;
  reset: string;
}

const dialectOf = (version: ServerVersion): Dialect => {
  if (version.flavor === 'mysql' && versionAtLeast(version, 8, 0, 22)) {
    return {
      flavor: 'mysql',
      change: (o) => `CHANGE REPLICATION SOURCE TO ${o.replace(/\bMASTER_/g, 'SOURCE_')}`,
      start: (u) => `START REPLICA SQL_THREAD${u}`,
      status: 'SHOW REPLICA STATUS',
      running: 'Replica_SQL_Running',
      stop: 'STOP REPLICA',
      reset: 'RESET REPLICA ALL',
    };
  }
  return {
    flavor: version.flavor,
    change: (o) => `CHANGE MASTER TO ${o}`,
    start: (u) => `START SLAVE SQL_THREAD${u}`,
    status: 'SHOW SLAVE STATUS',
    running: 'Slave_SQL_Running',
    stop: 'STOP SLAVE',
    reset: 'RESET SLAVE ALL',
  };
};

const quote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The server's own relay log: where its files go, how it names them, and how its index lists them.
 * A CHANGE MASTER makes the server open it (whatever `relay_log`, `--log-basename` or the pid file
 * named it), SHOW SLAVE STATUS names its file, and its index shows how entries are written.
 */
const probeRelayLog = async (admin: MysqlSession, dialect: Dialect): Promise<{ dir: string; stem: string; index: string; entry: (name: string) => string }> => {
  await admin.query(dialect.change("MASTER_HOST='127.0.0.1', MASTER_PORT=1"));
  const [status] = await admin.query<RowDataPacket>(dialect.status);
  const [vars] = await admin.query<RowDataPacket>('SELECT @@datadir AS datadir, @@relay_log_index AS relayIndex');
  const file = String(status?.Relay_Log_File ?? '');
  if (file === '') throw new ApplyError('the new server opened no relay log (is it a replica-capable server?)');
  const datadir = String(vars?.datadir ?? '');
  const dir = isAbsolute(file) ? dirname(file) : datadir;
  const stem = basename(file).replace(/\.\d+$/, '');
  const index = vars?.relayIndex ? (isAbsolute(String(vars.relayIndex)) ? String(vars.relayIndex) : join(datadir, String(vars.relayIndex))) : join(dir, `${stem}.index`);
  // The index as the server wrote it: `./name` beside the data, or absolute paths.
  const first = (await readFile(index, 'utf8').catch(() => '')).split('\n')[0] ?? '';
  const entry = first.startsWith('./') ? (name: string) => `./${name}` : (name: string) => join(dir, name);
  await admin.query(dialect.reset);
  return { dir, stem, index, entry };
};

/**
 * Replays the plan's binlogs on the new server with its own replica applier (the SQL thread): the
 * binlogs become the server's relay logs, and the applier runs from the dump's coordinates to the
 * stop the plan's binlogs themselves give (core/restore/reach.ts: before the first transaction past
 * the target). The server's applier is what replication runs every day: temporary tables live on
 * across files (it keeps them per source session), LOAD DATA brings its rows from the binlog,
 * events and triggers behave as on a replica, and it records every transaction it applies in its
 * GTID position — a DROP TEMPORARY TABLE or an empty transaction too — which is the exact check of
 * what was reached. Nothing it applies is written to the new server's binlog.
 *
 * The files are downloaded (gunzipped, sha256-checked, read for the stop as they arrive) straight
 * into the server's relay log directory, and the applier removes each once it is done with it.
 */
export const replayBinlogs = async (
  store: ObjectStore,
  plan: RestorePlan,
  instance: TargetInstance,
  onProgress?: (p: ApplyProgress) => void,
): Promise<ReplayResult> => {
  const started = performance.now();
  const options = await readOptionFile(instance.defaultsFile);
  const { socket, host, port, user } = instance;
  const admin = await MysqlSession.connect({ ...options, ...(socket ? { socket } : { host, port }), user });
  const written: string[] = [];
  let relay: Awaited<ReturnType<typeof probeRelayLog>> | undefined;
  let dialect: Dialect | undefined;
  const saved: Array<[string, string]> = [];
  try {
    const [who] = await admin.query<RowDataPacket>('SELECT VERSION() AS version, @@version_comment AS comment, @@server_id AS serverId');
    const version = parseServerVersion(String(who?.version ?? ''), String(who?.comment ?? ''));
    dialect = dialectOf(version);
    relay = await probeRelayLog(admin, dialect);

    // Download into the relay log directory, reading each file for the stop on the way.
    const tracker = new ReachTracker(plan);
    const owner = await stat(relay.dir);
    const sizes: number[] = [];
    let bytes = 0;
    const names = plan.binlogs.map((_, i) => `${relay?.stem ?? ''}.${String(i + 1).padStart(6, '0')}`);
    // Their metadata first (sha256 to check, raw size to total the progress), one request at a time.
    const heads: (ObjectHead | undefined)[] = [];
    for (const binlog of plan.binlogs) heads.push(await store.head(binlog.key));
    const downloadTotal = heads.reduce((sum, h) => sum + Number(h?.metadata['raw-size'] ?? 0), 0);
    for (const [i, binlog] of plan.binlogs.entries()) {
      const path = join(relay.dir, names[i] ?? '');
      const head = heads[i];
      const hash = createHash('sha256');
      const verifier = new BinlogVerifier((e) => tracker.event(e), { names: true });
      tracker.nextFile();
      let size = 0;
      const body = await store.get(binlog.key);
      await writingLocally(`binlog ${binlog.name} (downloaded for the replay)`, relay.dir, () =>
        pipeline(
          Readable.from(body),
          createGunzip(),
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              hash.update(chunk);
              verifier.update(chunk);
              size += chunk.length;
              bytes += chunk.length;
              onProgress?.({ phase: 'download', bytes, total: downloadTotal });
              yield chunk;
            }
          },
          createWriteStream(path, { mode: 0o640 }),
        ),
      );
      written.push(path);
      verifier.finish();
      sizes.push(size);
      const expected = head?.metadata.sha256;
      if (expected && hash.digest('hex') !== expected) throw new ApplyError(`${store.url(binlog.key)} does not match its sha256: not replayed`);
      // The server reads its relay logs as itself (a root-run `restore apply` on a host where the server runs as mysql).
      if (process.getuid?.() === 0 && owner.uid !== 0) await chown(path, owner.uid, owner.gid);
    }
    const reach: ReplayReach = tracker.finish();
    await writingLocally('the relay log index', dirname(relay.index), () => writeFile(relay?.index ?? '', `${names.map((n) => relay?.entry(n) ?? n).join('\n')}\n`, { mode: 0o640 }));
    if (process.getuid?.() === 0 && owner.uid !== 0) await chown(relay.index, owner.uid, owner.gid);

    // The applier's settings for the replay, put back afterwards.
    const set = async (name: string, value: string): Promise<void> => {
      const [row] = await admin.query<RowDataPacket>(`SELECT @@GLOBAL.${name} AS value`);
      saved.push([name, String(row?.value ?? '')]);
      await admin.query(`SET GLOBAL ${name} = ${value}`);
    };
    // A crash during the replay means a new restore: the redo need not reach the disk at each commit.
    await set('innodb_flush_log_at_trx_commit', '0');
    // The dump brings the source's scheduled events: none may run and change the data after the target.
    await admin.query('SET GLOBAL event_scheduler = OFF').catch(() => undefined);
    // The applier skips events with its own server id: it must not be the source's.
    const sourceIds = new Set(plan.binlogs.flatMap((b) => b.serverIds ?? []));
    if (sourceIds.has(Number(who?.serverId))) {
      let id = 2;
      while (sourceIds.has(id)) id++;
      await admin.query(`SET GLOBAL server_id = ${id}`);
    }
    if (plan.databases && plan.databases.length > 0) {
      // Only the selected databases' changes: the planner refused any transaction that touches one
      // of them and another database too.
      await set('replicate_wild_do_table', quote(plan.databases.map((d) => `${d.replace(/([%_\\])/g, '\\$1')}.%`).join(',')));
    }
    if (dialect.flavor === 'mariadb') {
      // The GTID position the dump is consistent with: after the replay it has moved on by every
      // transaction applied, and is then what the plan expects.
      await admin.query(`SET GLOBAL gtid_slave_pos = ${quote(plan.dump.gtids ?? '')}`);
    } else {
      await prepareMysqlGtids(admin, plan.dump.gtids ?? '');
    }

    const first = plan.binlogs[0]?.name ?? '';
    await admin.query(
      dialect.change(
        `MASTER_HOST='127.0.0.1', MASTER_PORT=1, ${dialect.flavor === 'mariadb' ? 'MASTER_USE_GTID=no, ' : ''}RELAY_LOG_FILE=${quote(names[0] ?? '')}, RELAY_LOG_POS=${plan.startPosition}, MASTER_LOG_FILE=${quote(first)}, MASTER_LOG_POS=${plan.startPosition}`,
      ),
    );
    const untilFile = names[reach.until.file] ?? '';
    const total = sizes.reduce((a, b) => a + b, 0);
    let reachedPlace = { file: 0, position: plan.startPosition };
    if (!(reach.until.file === 0 && reach.until.position <= plan.startPosition)) {
      await admin.query(dialect.start(` UNTIL RELAY_LOG_FILE=${quote(untilFile)}, RELAY_LOG_POS=${reach.until.position}`));
      reachedPlace = await waitForApplier(admin, dialect, names, sizes, reach, (done) => onProgress?.({ phase: 'replay', bytes: done, total }));
    }
    await restoreEventStates(admin, reach.eventStates);
    if (dialect.flavor === 'mariadb') await completeDueEvents(admin, plan, reach.expected.time);
    const [gtidRow] = await admin.query<RowDataPacket>(dialect.flavor === 'mariadb' ? 'SELECT @@gtid_slave_pos AS gtids' : 'SELECT @@gtid_executed AS gtids');
    const reached = {
      binlogFile: plan.binlogs[reachedPlace.file]?.name ?? '',
      binlogPosition: reachedPlace.position,
      gtids: String(gtidRow?.gtids ?? '').replace(/\s+/g, ''),
    };
    await finishReplica(admin, dialect, reached.gtids);
    return { bytes, seconds: (performance.now() - started) / 1000, expected: reach.expected, reached };
  } finally {
    if (dialect) {
      await admin.query(dialect.stop).catch(() => undefined);
      // Forgets the replica configuration and removes the relay logs the applier did not remove yet.
      await admin.query(dialect.reset).catch(() => undefined);
    }
    for (const [name, value] of saved.reverse()) await admin.query(`SET GLOBAL ${name} = ${/^\d+$/.test(value) ? value : quote(value)}`).catch(() => undefined);
    for (const path of written) await rm(path, { force: true });
    await admin.close();
  }
};

/**
 * Waits for the applier to stop at the plan's stop, reporting progress; an applier that stopped on
 * an error, or anywhere else, fails the replay with the server's own words.
 */
const waitForApplier = async (
  admin: MysqlSession,
  dialect: Dialect,
  names: string[],
  sizes: number[],
  reach: ReplayReach,
  progress: (bytes: number) => void,
): Promise<{ file: number; position: number }> => {
  let last = '';
  let still = 0;
  for (;;) {
    const [status] = await admin.query<RowDataPacket>(dialect.status);
    const file = names.indexOf(String(status?.Relay_Log_File ?? ''));
    const position = Number(status?.Relay_Log_Pos ?? 0);
    if (file >= 0) progress(sizes.slice(0, file).reduce((a, b) => a + b, 0) + position);
    if (String(status?.[dialect.running] ?? '') !== 'Yes') {
      if (Number(status?.Last_SQL_Errno ?? 0) !== 0) {
        throw new ApplyError(`the replay stopped at ${names[file] ?? String(status?.Relay_Log_File ?? '?')}:${position} on an error: ${String(status?.Last_SQL_Error ?? '')}`);
      }
      if (file !== reach.until.file || position !== reach.until.position) {
        throw new ApplyError(`the replay stopped at relay position ${file}:${position}, not at the plan's stop ${reach.until.file}:${reach.until.position}`);
      }
      return { file, position };
    }
    // An applier that waits at the end of its relay logs never reached the stop: the plan and the files disagree.
    const here = `${file}:${position}`;
    still = here === last && /read all relay log|waiting for more updates/i.test(String(status?.Slave_SQL_Running_State ?? status?.Replica_SQL_Running_State ?? '')) ? still + 1 : 0;
    last = here;
    if (still > 50) throw new ApplyError(`the replay waits at ${here} for more binlog: the plan's stop ${reach.until.file}:${reach.until.position} is past the end of its binlogs`);
    await sleep(200);
  }
};

/**
 * A replica creates the events it replicates disabled (SLAVESIDE_DISABLED): the source's own state
 * (ENABLE or DISABLE, as its statements left it) is put back, without a trace in the new server's
 * binlog. The scheduler itself stays off until the operator turns it on.
 */
const restoreEventStates = async (admin: MysqlSession, states: ReplayReach['eventStates']): Promise<void> => {
  if (states.length === 0) return;
  const rows = await admin.query<RowDataPacket>("SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name FROM information_schema.EVENTS WHERE STATUS = 'SLAVESIDE_DISABLED'");
  const disabled = new Set(rows.map((r) => `${String(r.db)}.${String(r.name)}`));
  const ident = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
  await admin.query('SET SESSION sql_log_bin = 0');
  for (const e of states) {
    if (!disabled.has(`${e.database}.${e.name}`)) continue;
    await admin.query(`ALTER EVENT ${ident(e.database)}.${ident(e.name)} ${e.state}`);
  }
  await admin.query('SET SESSION sql_log_bin = 1');
};

/**
 * A one-time event (or one whose ENDS passed) kept ON COMPLETION PRESERVE is disabled by the source's
 * scheduler once done — in its `mysql.event`, not in its binlog. Those due after the dump and by the
 * restore's target are disabled here as the source had them (the dump shows the earlier ones as
 * they were). MariaDB: `mysql.event` holds the times in UTC.
 */
const completeDueEvents = async (admin: MysqlSession, plan: Pick<RestorePlan, 'stop' | 'dump'>, reachedTime: string | undefined): Promise<void> => {
  const sqlTime = (iso: string): string => quote(iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ''));
  // A time stop excludes its own second onward; otherwise the last applied event is the target.
  const due = 'datetime' in plan.stop ? `< ${sqlTime(plan.stop.datetime)}` : reachedTime ? `<= ${sqlTime(reachedTime)}` : undefined;
  if (!due) return;
  const after = `> ${sqlTime(plan.dump.completedAt)}`;
  const rows = await admin.query<RowDataPacket>(
    `SELECT db, name, definer FROM mysql.event WHERE status = 'ENABLED' AND on_completion = 'PRESERVE' AND ((execute_at IS NOT NULL AND execute_at ${due} AND execute_at ${after}) OR (ends IS NOT NULL AND ends ${due} AND ends ${after}))`,
  );
  if (rows.length === 0) return;
  const ident = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
  await admin.query('SET SESSION sql_log_bin = 0');
  for (const r of rows) {
    // ALTER EVENT makes its user the definer unless told: the source's is kept.
    const definer = /^(.*)@([^@]*)$/.exec(String(r.definer));
    const as = definer ? `DEFINER = ${quote(definer[1] ?? '')}@${quote(definer[2] ?? '')} ` : '';
    await admin.query(`ALTER ${as}EVENT ${ident(String(r.db))}.${ident(String(r.name))} DISABLE`);
  }
  await admin.query('SET SESSION sql_log_bin = 1');
};

/** MySQL: the applier keeps the source's GTIDs only where the server takes them (GTID mode at least ON_PERMISSIVE). */
const prepareMysqlGtids = async (admin: MysqlSession, dumpGtids: string): Promise<void> => {
  const [row] = await admin.query<RowDataPacket>('SELECT @@GLOBAL.gtid_mode AS mode, @@GLOBAL.gtid_executed AS executed');
  const mode = String(row?.mode ?? 'OFF');
  // The documented way up, one step at a time (MySQL manual, "Enabling GTID Transactions Online").
  const steps = ['OFF', 'OFF_PERMISSIVE', 'ON_PERMISSIVE'];
  for (let i = steps.indexOf(mode) + 1; i > 0 && i < steps.length; i++) await admin.query(`SET GLOBAL gtid_mode = ${steps[i] ?? 'ON_PERMISSIVE'}`);
  // The GTIDs the dump holds: gtid_executed is then that set plus what the replay applies.
  if (dumpGtids.trim() !== '' && String(row?.executed ?? '').trim() === '') await admin.query(`SET GLOBAL gtid_purged = ${quote(dumpGtids.replace(/\s+/g, ''))}`);
  // UNTIL stops a single-threaded applier only.
  await admin.query('SET GLOBAL replica_parallel_workers = 0').catch(() => admin.query('SET GLOBAL slave_parallel_workers = 0'));
};

/**
 * After the replay: MariaDB's binlog state is set to the position reached, so that the instance,
 * put to use as a primary, numbers its transactions on from the source's (its own binlog holds none
 * of the replayed ones).
 */
const finishReplica = async (admin: MysqlSession, dialect: Dialect, gtids: string): Promise<void> => {
  await admin.query(dialect.stop);
  if (dialect.flavor !== 'mariadb') return;
  const [row] = await admin.query<RowDataPacket>('SELECT @@log_bin AS logBin');
  if (Number(row?.logBin) !== 1) return;
  await admin.query('RESET MASTER');
  await admin.query(`SET GLOBAL gtid_binlog_state = ${quote(gtids)}`);
};

/** What the new server says it has applied: its GTID position (MariaDB's replica position, MySQL's executed set). */
export const readReached = async (instance: TargetInstance): Promise<{ gtids: string }> => {
  const options = await readOptionFile(instance.defaultsFile);
  const { socket, host, port, user } = instance;
  const session = await MysqlSession.connect({ ...options, ...(socket ? { socket } : { host, port }), user });
  try {
    const [row] = await session.query<RowDataPacket>('SELECT @@gtid_slave_pos AS gtids').catch(() => session.query<RowDataPacket>('SELECT @@gtid_executed AS gtids'));
    return { gtids: String(row?.gtids ?? '').replace(/\s+/g, '') };
  } finally {
    await session.close();
  }
};
