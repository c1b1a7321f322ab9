import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../../../drivers/mysql/programs.js';
import { loadSql } from '../../../../drivers/mysql/load.js';
import type { TargetInstance } from '../../../../core/ports.js';
import { ApplyError } from '../../../../drivers/errors.js';
import { connectTo, startTestServer, type Instance } from '../../../helpers/servers.js';

const run = promisify(execFile);

/** What a restore must bring back whole: rows that triggers would change, keys across tables, odd names. */
const SCHEMA = [
  'CREATE DATABASE shop CHARACTER SET utf8mb4',
  'CREATE DATABASE `we``ird ünï` CHARACTER SET utf8mb4',
  'CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(64)) ENGINE=InnoDB',
  // `a_orders` sorts before `customers`: its rows load before the rows they point at.
  'CREATE TABLE shop.a_orders (id INT AUTO_INCREMENT PRIMARY KEY, customer INT, amount DECIMAL(10,2), note TEXT, FOREIGN KEY (customer) REFERENCES shop.customers (id))',
  'CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))',
  'CREATE TABLE shop.blobs (id INT PRIMARY KEY, b LONGBLOB)',
  'CREATE TABLE shop.empty (id INT PRIMARY KEY)',
  'CREATE TABLE `we``ird ünï`.`t ü` (id INT PRIMARY KEY, v VARCHAR(16))',
  // Loading the dump must fire neither: the rows already hold their effects.
  'CREATE TRIGGER shop.orders_double BEFORE INSERT ON shop.a_orders FOR EACH ROW SET NEW.amount = NEW.amount * 2',
  'CREATE TRIGGER shop.orders_audit AFTER INSERT ON shop.a_orders FOR EACH ROW INSERT INTO shop.audit (order_id) VALUES (NEW.id)',
  'CREATE VIEW shop.big AS SELECT * FROM shop.a_orders WHERE amount > 100',
  'CREATE PROCEDURE shop.add_order(IN c INT, IN a DECIMAL(10,2)) INSERT INTO shop.a_orders (customer, amount) VALUES (c, a)',
];
const TABLES = ['shop.customers', 'shop.a_orders', 'shop.audit', 'shop.blobs', 'shop.empty', '`we``ird ünï`.`t ü`'];

const checksums = async (db: Connection): Promise<Record<string, string>> => {
  const [rows] = await db.query<RowDataPacket[]>(`CHECKSUM TABLE ${TABLES.join(', ')}`);
  return Object.fromEntries(rows.map((r) => [String(r.Table), String(r.Checksum)]));
};

const definitions = async (db: Connection): Promise<string[]> => {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT CONCAT(TRIGGER_SCHEMA, '.', TRIGGER_NAME, ' ', ACTION_TIMING, ' ', ACTION_STATEMENT) AS d FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop' " +
      "UNION ALL SELECT CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'shop' " +
      "UNION ALL SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop' ORDER BY 1",
  );
  return rows.map((r) => String(r.d));
};

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** The dump as `binvault ship dump` takes it, into memory. */
const dumpOf = async (instance: Instance): Promise<Buffer> => {
  const tool = findProgram('mariadb-dump', 'mysqldump') ?? 'mariadb-dump';
  const child = spawn(tool, [`--defaults-extra-file=${instance.defaultsFile}`, '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--databases', 'shop', 'we`ird ünï']);
  const parts: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => parts.push(d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(0);
  return Buffer.concat(parts);
};

const targetOf = (instance: Instance): TargetInstance => ({ ...instance, host: '127.0.0.1' });

/** The SQL client processes this test process started that still run. */
const clientsLeft = async (): Promise<string[]> => {
  const { stdout } = await run('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter((l) => /mariadb$|mysql$/.test(l.trim()));
};

describe('loadSql: a dump’s tables loaded in parallel sessions, the same as one session', () => {
  let source: Instance;
  let dump: Buffer;
  let work: string;
  const targets: Instance[] = [];

  beforeAll(async () => {
    source = await startTestServer();
    work = await mkdtemp(join(tmpdir(), 'binvault-load-'));
    const admin = await connectTo(source);
    for (const statement of SCHEMA) await admin.query(statement);
    await admin.query("INSERT INTO shop.customers VALUES (1, 'ada'), (2, 'grace'), (3, 'ünïcödé 한국어')");
    // Rows enough that the tables load side by side (several INSERT statements each).
    for (let i = 0; i < 30; i++) {
      await admin.query(
        `INSERT INTO shop.a_orders (customer, amount, note) SELECT 1 + seq % 3, seq % 1000 / 7, REPEAT(CHAR(65 + seq % 26), 200) FROM shop.seq_1_to_2000`,
      );
    }
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (let i = 0; i < 40; i++) await admin.query('INSERT INTO shop.blobs VALUES (?, ?)', [i, Buffer.concat(Array.from({ length: 2000 }, () => every))]);
    await admin.query("INSERT INTO `we``ird ünï`.`t ü` VALUES (1, 'x'), (2, 'ÿ')");
    await admin.end();
    dump = await dumpOf(source);
  }, 120_000);

  afterAll(async () => {
    await source.stop();
    for (const target of targets) await target.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('brings back every table’s checksum, the triggers, views and routines, and fires no trigger while loading', async () => {
    const sequential = await startTestServer();
    const parallel = await startTestServer();
    targets.push(sequential, parallel);
    const client = findProgram('mariadb', 'mysql') ?? 'mariadb';
    await new Promise<void>((resolve, reject) => {
      const child = spawn(client, [`--defaults-extra-file=${sequential.defaultsFile}`], { stdio: ['pipe', 'ignore', 'inherit'] });
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb exited ${code}`))));
      child.stdin.end(dump);
    });

    const result = await loadSql(chunks(dump, 65_536), targetOf(parallel), { spillDir: work, parallel: 3 });

    expect(result.tables).toBeGreaterThanOrEqual(5);
    expect(result.parallel).toBeGreaterThanOrEqual(2);
    const [one, two, src] = await Promise.all([connectTo(sequential), connectTo(parallel), connectTo(source)]);
    const want = await checksums(src);
    expect(await checksums(one)).toEqual(want);
    expect(await checksums(two)).toEqual(want);
    expect(await definitions(two)).toEqual(await definitions(src));
    expect(await definitions(two)).toHaveLength(4);
    await Promise.all([one.end(), two.end(), src.end()]);
    expect(await readdir(work)).toEqual([]);
  });

  it('stops every session at the first failing row and says which, leaving no client running and no spilled rows', async () => {
    const target = await startTestServer();
    targets.push(target);
    // A row of the orders written twice: the second one's key is taken.
    const text = dump.toString('latin1');
    const broken = /^INSERT INTO `a_orders` VALUES\n/m.test(text)
      ? text.replace(/^(INSERT INTO `a_orders` VALUES\n)(\([^\n]*,\n)/m, '$1$2$2')
      : text.replace(/^(INSERT INTO `a_orders` VALUES )(\([^)]*\),)/m, '$1$2$2');
    expect(broken).not.toBe(text);

    const error = await loadSql(chunks(Buffer.from(broken, 'latin1'), 65_536), targetOf(target), { spillDir: work, parallel: 2 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApplyError);
    expect((error as Error).message).toMatch(/^the SQL client exited with code 1: ERROR 1062 \(23000\) at line \d+: Duplicate entry '\d+' for key 'PRIMARY'$/);
    expect(await clientsLeft()).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });
});
