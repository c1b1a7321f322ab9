import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestoreRefusedError } from '../../../core/errors.js';
import { systemClock } from '../../../core/ports.js';
import { MysqlInstanceReader } from '../../../drivers/mysql/compare.js';
import { FileAlerts } from '../../../drivers/local/file-alerts.js';
import type { DrillRecord } from '../../../core/restore/drill.js';
import type { DrillState } from '../../../core/restore/drill-workflow.js';
import { runLocalDrillMachine, type LocalDrillResult } from '../../../local/drill-run.js';
import type { LocalExecutionEvent } from '../../../local/stepfunctions.js';
import { expectExit, runCli } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The drill's state and record, from a run that drilled (not skipped). */
const drilled = (result: LocalDrillResult): { state: DrillState; record: DrillRecord } => {
  if (result.skipped) throw new Error(`expected a drill, got ${result.skipped.message}`);
  return result;
};

/**
 * The drill state machine (infra/drill.asl.json, the definition AWS runs) in the local runtime: two
 * local servers for its two instances, the snapshots written to the bucket as the AWS instances write them.
 */
describe('the drill state machine in the local runtime, on a real server', () => {
  let s: Scenario;
  const ship = async (what: 'dump' | 'binlogs'): Promise<void> => {
    expectExit(await runCli(['ship', what], s.env), 0);
    await s.runtime.idle();
  };
  const options = () => ({
    store: s.store,
    prefix: 'mysql',
    stateDir: join(s.stateDir, 'drills'),
    alerts: new FileAlerts(join(s.stateDir, 'alerts.jsonl')),
    clock: systemClock,
  });

  beforeAll(async () => {
    s = await startScenario();
    await s.admin.query(
      'CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT); ' +
        'CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT); ' +
        'CREATE TRIGGER shop.orders_audit AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO shop.audit (order_id) VALUES (NEW.id); ' +
        'INSERT INTO shop.orders (amount) VALUES (1), (2), (3)',
    );
    await sleep(1100);
    await ship('dump');
  }, 120_000);
  afterAll(() => s.close());

  it('skips a host with one dump (nothing to drill yet): the execution succeeds with a skipped output, nothing provisioned, no record, no alert', async () => {
    const events: LocalExecutionEvent[] = [];

    const result = await runLocalDrillMachine({ ...options(), onEvent: (e) => events.push(e) }, { host: 'db1', execution: 'drill-db1-20261101' });

    expect(result.skipped).toEqual({ result: 'skipped', host: 'db1', message: 'skipped: a drill needs two verified dumps of db1; it has 1' });
    expect(events.filter((e) => e.type === 'StateEntered').map((e) => e.state)).toEqual(['DrillPlan', 'Planned?', 'NothingToDrill']);
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    expect((await s.store.list('mysql/db1/drills/')).keys).toEqual([]);
    expect(await readdir(join(s.stateDir, 'drills', 'restores')).catch(() => [])).toEqual([]);
    expect(await readFile(join(s.stateDir, 'alerts.jsonl'), 'utf8').catch(() => '')).not.toContain('drill-failed');
  });

  it('a host the bucket does not hold stays a failure: the refusal is thrown, DrillFailed ends the execution, no record, no alert', async () => {
    const events: LocalExecutionEvent[] = [];

    const refused = await runLocalDrillMachine({ ...options(), onEvent: (e) => events.push(e) }, { host: 'db2' }).catch((e: unknown) => e);

    expect(refused).toBeInstanceOf(RestoreRefusedError);
    expect((refused as Error).message).toMatch(/^no catalog for host 'db2'/);
    expect(events.filter((e) => e.type === 'StateEntered').map((e) => e.state)).toEqual(['DrillPlan', 'ReportFailure', 'DrillFailed']);
    expect(events.at(-1)?.type).toBe('ExecutionFailed');
    expect((await s.store.list('mysql/db2/')).keys).toEqual([]);
  });

  it('proves the window between two dumps through every state: two instances, both snapshots in the bucket, the record, both instances removed', async () => {
    await s.admin.query('INSERT INTO shop.orders (amount) VALUES (4), (5); UPDATE shop.orders SET amount = amount * 2 WHERE id < 3');
    await s.admin.query('FLUSH BINARY LOGS');
    await s.admin.query('DELETE FROM shop.orders WHERE id = 3');
    await sleep(1100);
    await ship('dump');
    await s.admin.query('INSERT INTO shop.orders (amount) VALUES (6)');
    await ship('binlogs');
    const events: LocalExecutionEvent[] = [];

    const { state, record } = drilled(await runLocalDrillMachine({ ...options(), onEvent: (e) => events.push(e) }, { host: 'db1', execution: 'drill-local-1' }));

    expect(record).toMatchObject({ kind: 'drill', host: 'db1', execution: 'drill-local-1', result: 'proven', differences: [], tables: 2, definitions: 1 });
    expect(record.gtids?.reached).toBe(record.gtids?.laterDump);
    expect(record.binlogKeys?.length).toBe(record.binlogs.length);
    expect(state.record).toEqual({ key: `mysql/db1/drills/${state.drill.day}/drill-local-1.json`, result: 'proven', differences: 0 });
    const entered = events.filter((e) => e.type === 'StateEntered').map((e) => e.state);
    // The later dump's instance is removed (RetireLater) once its snapshot is in, before the restored one's snapshot.
    expect(entered).toEqual(['DrillPlan', 'Planned?', 'Provision', 'LoadDumps', 'Loaded?', 'ReplayBinlogs', 'Replayed?', 'RetireLater', 'Replayed?', 'Snapshot', 'Snapshotted?', 'Compare', 'CleanupAfterCompare', 'Proven?', 'Proven']);
    const keys = (await s.store.list('mysql/db1/drills/')).keys.map((k) => k.key).sort();
    expect(keys).toEqual([`mysql/db1/drills/${state.drill.day}/drill-local-1.json`, `mysql/db1/drills/${state.drill.day}/drill-local-1/dump.json`, `mysql/db1/drills/${state.drill.day}/drill-local-1/restored.json`]);
    expect(state.retired).toEqual({ id: state.instances.dump?.id });
    expect(state.cleanup).toEqual({ cleaned: [state.instances.restored?.id] });
    const left = await readdir(join(s.stateDir, 'drills', 'restores')).catch(() => []);
    expect(left).toEqual([]);
    // status shows it, as it shows a drill run by `binvault drill`.
    const status = JSON.parse((await runCli(['status', '--json'], s.env)).stdout) as { hosts: { lastDrill?: unknown }[] };
    expect(status.hosts[0]?.lastDrill).toEqual({ result: 'proven', window: record.window, finishedAt: record.finishedAt, execution: 'drill-local-1' });
  }, 240_000);

  it('a change the binlogs never saw fails the drill: DrillFailed, the record names the table, drill-failed alerted, both instances removed', async () => {
    await s.admin.query('SET SESSION sql_log_bin = 0; UPDATE shop.orders SET amount = 999 WHERE id = 1; SET SESSION sql_log_bin = 1');
    await sleep(1100);
    await ship('dump');
    await s.admin.query('INSERT INTO shop.orders (amount) VALUES (7)');
    await ship('binlogs');

    const { state, record } = drilled(await runLocalDrillMachine(options(), { host: 'db1', execution: 'drill-local-2' }));

    expect(record.result).toBe('failed');
    expect(record.differences).toEqual([expect.objectContaining({ kind: 'table', name: 'shop.orders' })]);
    expect(state.record?.result).toBe('failed');
    const alerts = (await readFile(join(s.stateDir, 'alerts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; state: string });
    expect(alerts.filter((a) => a.type === 'drill-failed').map((a) => a.state)).toEqual(['started']);
    expect(await readdir(join(s.stateDir, 'drills', 'restores')).catch(() => [])).toEqual([]);
  }, 240_000);

  it('binvault drill snapshot (what SSM runs on a drill’s instance) writes the server’s snapshot to the drills key it is given, and refuses any other key', async () => {
    const key = 'mysql/db1/drills/2026-11-01/drill-cli/restored.json';

    const written = await runCli(['drill', 'snapshot', '--to', `s3://binvault/${key}`, '--defaults-file', s.server.defaultsFile, '--json'], s.env);
    const refused = await runCli(['drill', 'snapshot', '--to', 's3://binvault/mysql/db1/dumps/2026-11-01/x.sql.gz', '--defaults-file', s.server.defaultsFile], s.env);

    expectExit(written, 0);
    const line = JSON.parse(written.stdout.trim()) as { key: string; tables: number; definitions: number; bytes: number };
    expect(line).toMatchObject({ key, tables: 2, definitions: 1 });
    // One short line on standard output (SSM hands back only its first 24,000 characters); the snapshot is in the bucket.
    expect(written.stdout.trim().split('\n')).toHaveLength(1);
    const stored = JSON.parse((await s.store.getBytes(key)).toString()) as unknown;
    const server = { id: 'x', kind: 'local' as const, host: '127.0.0.1', port: s.server.port, socket: s.server.socket, user: s.server.user, defaultsFile: s.server.defaultsFile };
    expect(stored).toEqual(await new MysqlInstanceReader().snapshot(server));
    expectExit(refused, 2);
    expect(refused.stderr.trim()).toMatch(/^binvault: --to 's3:\/\/binvault\/mysql\/db1\/dumps\/2026-11-01\/x\.sql\.gz' is not an s3:\/\/bucket\/…\/drills\/\{day\}\/\{execution\}\/\{restored\|dump\}\.json$/);
  });
});
