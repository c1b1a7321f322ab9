import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { BinvaultError } from '../core/errors.js';
import { loadCatalog } from '../core/catalog/manifests.js';
import { binlogsRoot, parseObjectKey } from '../core/layout.js';
import { systemClock } from '../core/ports.js';
import { VERSION } from '../core/version.js';
import { startInstance, type Instance } from '../drivers/local/instance.js';
import type { ProvisionedInstance } from '../core/ports.js';
import { FileAlerts } from '../drivers/local/file-alerts.js';
import { runLocalDrill } from './drill-run.js';
import { runLocalRestore } from './restore-run.js';
import { startLocalRuntime, type LocalRuntime } from './runtime.js';
import { formatBytes, formatSeconds } from '../shipper/lib/format.js';
import { MysqlSession } from '../drivers/mysql/session.js';
import { readOptionFile } from '../drivers/mysql/option-file.js';
import { clientCommand, findProgram } from '../drivers/mysql/programs.js';
import { readBinlogIndex, shipBinlogs } from '../shipper/lib/ship-binlogs.js';
import { shipDump } from '../shipper/lib/ship-dump.js';
import { StateDir } from '../shipper/lib/state.js';
import { S3Store } from '../drivers/aws/s3.js';
import type { CommandIo } from '../shipper/commands/io.js';

const SCHEMA = [
  'CREATE DATABASE shop',
  'CREATE TABLE shop.customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)',
  'CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL, note BLOB, ' +
    'KEY (customer_id))',
];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const TABLES = ['shop.customers', 'shop.orders'];

/** CHECKSUM TABLE of the application's tables. */
const checksums = async (db: Connection): Promise<Record<string, string>> => {
  const result: Record<string, string> = {};
  for (const table of TABLES) {
    const [rows] = await db.query<RowDataPacket[]>(`CHECKSUM TABLE ${table}`);
    result[table] = String(rows[0]?.Checksum);
  }
  return result;
};

/** Stops a server left running by the restore (detached) through its pid file. */
const stopByPidFile = async (pidFile: string): Promise<void> => {
  const pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
  if (!(pid > 0)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
};

/**
 * `binvault demo`: the whole story on embedded defaults — a throwaway source server with an
 * application, the local runtime with its handlers, a streamed dump, binlogs shipped every two
 * seconds while the application writes, a moment T, the first users' disaster (a table dropped,
 * rows deleted), status, a restore to T into a fresh instance, and the proof: the restored tables'
 * checksums equal the source's at T, every closed binlog is in the bucket byte-identical.
 */
export const demoCommand = async (args: { keep: boolean }, io: CommandIo): Promise<number> => {
  const step = (n: number, text: string): void => io.err(`[${n}/9] ${text}`);
  const work = await mkdtemp(join(tmpdir(), 'binvault-demo-'));
  let source: Instance | undefined;
  let runtime: LocalRuntime | undefined;
  let app: Connection | undefined;
  let restoredInstance: ProvisionedInstance | undefined;
  try {
    step(1, 'starting a throwaway source server (binlog on) from the binaries on PATH');
    // Kept, it outlives the demo: its own session, not a child that dies or holds the demo open.
    source = await startInstance({ baseDir: join(work, 'source'), detached: args.keep });
    const client = await readOptionFile(source.defaultsFile);
    app = await createConnection({
      socketPath: source.socket,
      user: client.user ?? 'root',
      ...(client.password !== undefined ? { password: client.password } : {}),
    });
    for (const statement of SCHEMA) await app.query(statement);
    io.err(`      ${source.flavor} on 127.0.0.1:${source.port}, data in ${source.dataDir}`);

    step(2, 'starting the local runtime (S3-protocol endpoint on loopback, verify and catalog handlers)');
    const bucket = 'binvault';
    let verified = 0;
    const failures: string[] = [];
    runtime = await startLocalRuntime({
      stateDir: join(work, 'runtime'),
      bucket,
      // Port 0: the endpoint binds a free port itself (no window for another process to take it).
      endpoint: 'http://127.0.0.1:0',
      onVerified: (outcome) => {
        if (outcome.outcome !== 'verified') return;
        verified++;
        if (outcome.record.status !== 'ok') failures.push(`${outcome.key}: ${outcome.record.reasons.join('; ')}`);
      },
      onHandlerError: (key, error) => failures.push(`${key}: ${error.message}`),
    });
    const store = new S3Store({ bucket, endpoint: runtime.endpoint.url });
    const scope = { prefix: 'mysql', host: 'demo' };
    const state = new StateDir(join(work, 'shipper-state'));
    await state.ensure();
    io.err(`      ${runtime.endpoint.url}, bucket ${bucket}`);

    step(3, 'a consistent dump, streamed to the bucket; then the application writes for 8 s while binlogs ship every 2 s');
    const dump = await shipDump({ client, store, state, scope, clock: systemClock, shipperVersion: VERSION });
    io.err(`      dump ${formatBytes(dump.rawBytes)} → ${formatBytes(dump.storedBytes)}, consistent with ${dump.binlogFile ?? '?'}:${dump.binlogPosition ?? '?'}`);
    const session = await MysqlSession.connect(client);
    let orders = 0;
    let shippedCount = 0;
    let active = '';
    let server;
    let target = '';
    let before: Record<string, string> = {};
    try {
      const until = Date.now() + 8_000;
      let nextShip = Date.now() + 2_000;
      // A second dump halfway: the window between the two is what the drill (step 8) proves.
      let secondDump = Date.now() + 4_000;
      while (Date.now() < until) {
        if (Date.now() >= secondDump) {
          const second = await shipDump({ client, store, state, scope, clock: systemClock, shipperVersion: VERSION });
          io.err(`      a second dump, consistent with ${second.binlogFile ?? '?'}:${second.binlogPosition ?? '?'}, while the application writes`);
          secondDump = Number.POSITIVE_INFINITY;
        }
        await app.query('INSERT INTO shop.customers (name) VALUES (?)', [`customer ${orders}`]);
        await app.query('INSERT INTO shop.orders (customer_id, amount, note) VALUES (LAST_INSERT_ID(), ?, RANDOM_BYTES(200))', [
          (Math.random() * 500).toFixed(2),
        ]);
        orders++;
        if (Date.now() >= nextShip) {
          const result = await shipBinlogs({ source: session, store, state, scope, clock: systemClock, shipperVersion: VERSION });
          shippedCount += result.shipped.length;
          io.err(`      ${orders} orders so far; shipped ${result.shipped.join(', ') || 'nothing new'}`);
          nextShip = Date.now() + 2_000;
        }
      }
      // A quiet second T: the state to come back to.
      await sleep(1100);
      const [marks] = await app.query<RowDataPacket[]>("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ') AS t");
      target = String(marks[0]?.t);
      before = await checksums(app);
      await sleep(1100);
      step(4, `${target} noted (T); then the disaster of the first users: a table dropped, rows deleted`);
      await app.query('DELETE FROM shop.customers WHERE id % 3 = 0');
      await app.query('DROP TABLE shop.orders');
      io.err('      DELETE FROM shop.customers WHERE id % 3 = 0; DROP TABLE shop.orders');
      const last = await shipBinlogs({ source: session, store, state, scope, clock: systemClock, shipperVersion: VERSION });
      shippedCount += last.shipped.length;
      active = last.active;
      server = await session.info();
    } finally {
      await session.close();
    }

    step(5, 'status: every object verified on arrival, the chain, the restorable window');
    await runtime.idle();
    const catalog = await loadCatalog(store, scope, systemClock.now());
    io.err(`      ${verified} objects verified${failures.length > 0 ? `, ${failures.length} FAILED` : ', all sound'}; ${catalog.chain.length} binlogs in an unbroken chain`);
    for (const w of catalog.windows) io.err(`      restorable to any second from ${w.from} to ${w.to}`);
    if (failures.length > 0) throw new BinvaultError(`proof failed: ${failures.join('; ')}`);
    if (catalog.gaps.length > 0 || catalog.windows.length !== 1) {
      throw new BinvaultError(`proof failed: expected one window and no gap, found ${catalog.windows.length} window(s) and ${catalog.gaps.length} gap(s)`);
    }

    step(6, `restoring to T (${target}), just before the disaster, into a fresh instance (the restore state machine, in-process)`);
    const restoredState = await runLocalRestore(
      { store, prefix: scope.prefix, timeZone: 'UTC', stateDir: join(work, 'restores'), alerts: new FileAlerts(join(work, 'alerts.jsonl'), () => undefined), clock: systemClock },
      { host: scope.host, target: { time: target } },
    );
    restoredInstance = restoredState.instance;
    io.err(`      loaded the dump in ${formatSeconds(restoredState.load.seconds ?? 0)}, replayed ${restoredState.plan.binlogs.length} binlog(s) in ${formatSeconds(restoredState.replay.seconds ?? 0)}; reached GTID ${restoredState.verification.reached.gtids}`);

    step(7, 'proof: the restored tables equal the source at T; every closed binlog is in the bucket byte-identical');
    const restoredClient = await readOptionFile(restoredInstance.defaultsFile);
    const restoredDb = await createConnection({
      ...(restoredInstance.socket ? { socketPath: restoredInstance.socket } : { host: restoredInstance.host, port: restoredInstance.port }),
      user: restoredInstance.user,
      ...(restoredClient.password !== undefined ? { password: restoredClient.password } : {}),
    });
    const after = await checksums(restoredDb).finally(() => restoredDb.end());
    io.err(`      ${'table'.padEnd(16)} ${'source at T'.padStart(12)} ${'restored'.padStart(12)}`);
    for (const table of Object.keys(before)) io.err(`      ${table.padEnd(16)} ${String(before[table]).padStart(12)} ${String(after[table]).padStart(12)}  ${before[table] === after[table] ? 'equal' : 'DIFFERENT'}`);
    if (JSON.stringify(before) !== JSON.stringify(after)) throw new BinvaultError('proof failed: the restored tables differ from the source at T');

    const files = await readBinlogIndex(server);
    const objects = new Map(
      (await store.list(binlogsRoot(scope))).keys.map((o) => [parseObjectKey(o.key)?.name.replace(/\.gz$/, '') ?? '', o.key] as const),
    );
    let storedBytes = 0;
    for (const file of files) {
      const key = objects.get(file.name);
      if (file.name === active) {
        if (key) throw new BinvaultError(`proof failed: the active binlog ${active} was shipped`);
        continue;
      }
      if (!key) throw new BinvaultError(`proof failed: ${file.name} is not in the bucket`);
      const object = await store.getBytes(key);
      const raw = await readFile(file.path);
      if (sha256(gunzipSync(object)) !== sha256(raw)) throw new BinvaultError(`proof failed: ${key} differs from ${file.path}`);
      storedBytes += object.length;
    }
    io.err(`      ${files.length - 1} closed binlogs byte-identical in the bucket (${formatBytes(storedBytes)}), the active ${active} not shipped`);

    step(8, 'drill: the first dump + the binlogs up to the second dump\'s coordinates restored, compared with the second dump');
    const drill = await runLocalDrill(
      { store, prefix: scope.prefix, stateDir: join(work, 'drills'), alerts: new FileAlerts(join(work, 'alerts.jsonl'), () => undefined), clock: systemClock },
      { host: scope.host },
    );
    io.err(`      window ${drill.window.from} → ${drill.window.to}: ${drill.result}; ${drill.tables} tables and ${drill.definitions} definitions compared in ${formatSeconds(drill.timings.totalSeconds)}`);
    if (drill.result !== 'proven') throw new BinvaultError(`proof failed: the drill found ${drill.differences.map((d) => d.message).join('; ') || drill.error || 'a difference'}`);

    step(9, 'done');
    const summary = {
      orders,
      objectsVerified: verified,
      window: catalog.windows[0],
      restoredTo: target,
      checksums: { source: before, restored: after },
      binlogsShipped: shippedCount,
      binlogsVerified: files.length - 1,
      storedBytes,
      drill: { result: drill.result, window: drill.window, tables: drill.tables },
      instance: { host: restoredInstance.host, port: restoredInstance.port, socket: restoredInstance.socket, defaultsFile: restoredInstance.defaultsFile },
      proof: 'the restored tables equal the source at T; every closed binlog is in the bucket byte-identical to the file on disk; the active one is not',
      ...(args.keep ? { kept: kept(work, source, restoredInstance) } : {}),
    };
    io.out(
      io.json
        ? JSON.stringify(summary)
        : `proof holds: restored to ${target}, every table equal to the source at that second; ${verified} objects verified sound; ` +
            `${summary.binlogsVerified} closed binlogs in the bucket byte-identical (${formatBytes(storedBytes)} stored); ${orders} orders written`,
    );
    if (!args.keep) io.err('everything the demo started is stopped and removed; `binvault demo --keep` leaves the servers and the data for you');
    return 0;
  } finally {
    await app?.end().catch(() => undefined);
    await runtime?.close().catch(() => undefined);
    if (args.keep) {
      // Said whether the story ended well or not: what is left running, and how to stop it.
      const k = kept(work, source, restoredInstance);
      io.err('kept:');
      if (k.restored) io.err(`  the restored instance, running:  ${k.restored}`);
      if (k.source) io.err(`  the source server, running:      ${k.source}`);
      io.err(`  the bucket, served again:        ${k.bucket}`);
      io.err(`  stop and remove it all:          ${k.stop}`);
    } else {
      await source?.stop().catch(() => undefined);
      if (restoredInstance) await stopByPidFile(join(restoredInstance.dataDir ?? '', '..', 'mysqld.pid'));
      await rm(work, { recursive: true, force: true });
    }
  }
};

/** What `--keep` leaves, each as the command that uses it. */
const kept = (work: string, source: Instance | undefined, restored: ProvisionedInstance | undefined): { restored?: string; source?: string; bucket: string; stop: string } => {
  const admin = basename(findProgram('mariadb-admin', 'mysqladmin') ?? 'mysqladmin');
  const servers = [restored?.defaultsFile, source?.defaultsFile].filter((f) => f !== undefined);
  return {
    ...(restored ? { restored: clientCommand(restored.defaultsFile) } : {}),
    ...(source ? { source: clientCommand(source.defaultsFile) } : {}),
    bucket: `BINVAULT_STATE_DIR=${join(work, 'runtime')} binvault local up   # bucket binvault, host demo`,
    // Over the socket (--host=localhost; the option file says 127.0.0.1) the admin tool's shutdown
    // returns once the server has stopped and removed its pid file: then its files can go.
    stop: [...servers.map((f) => `${admin} --defaults-extra-file=${f} --host=localhost shutdown`), `rm -rf ${work}`].join('; '),
  };
};
