import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogRecord, loadCatalog } from '../../../core/catalog/manifests.js';
import { systemClock } from '../../../core/ports.js';
import { verifyObject } from '../../../core/verify-object.js';
import type { LocalRuntime } from '../../../local/runtime.js';
import { S3Store } from '../../../drivers/aws/s3.js';
import { runCli, expectExit } from '../../helpers/cli.js';
import { parseConfig } from '../../../core/config.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';

interface HostStatus {
  host: string;
  windows: { from: string; to: string }[];
  earliestRestorableTime: string | null;
  latestRestorableTime: string | null;
  lagSeconds: number | null;
  lastDump: { key: string; completedAt?: string; binlogFile?: string } | null;
  lastBinlog: { name: string; lastEventTime?: string } | null;
  gaps: { kind: string; after: string | null; before: string | null; since: string | null; missing?: string[] }[];
  failedObjects: { key: string }[];
  status: 'ok' | 'warning' | 'critical';
  problems: { severity: string; type: string; message: string }[];
}

interface AlertLine {
  type: string;
  state?: string;
  host: string;
}

describe('the Percona operator’s gap test, and more: catalog, status and alerts on a real server and the local runtime', () => {
  let s: Scenario;
  let admin: Connection;
  let runtime: LocalRuntime;
  let store: S3Store;
  let stateDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The functions' configuration, as the local runtime hands it to them (on Lambda: their environment).
    s = await startScenario({ runtime: { config: parseConfig({ BINVAULT_STALE_SECONDS: '8' }, { hostname: 'local', home: '/tmp', stateDir: '/tmp' }) } });
    ({ admin, runtime, store, stateDir, env } = s);
    await admin.query('CREATE DATABASE shop; CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, amount INT)');
  });
  afterAll(async () => {
    await s.close();
  });

  const write = async (rows = 5): Promise<void> => {
    for (let i = 0; i < rows; i++) await admin.query('INSERT INTO shop.orders (amount) VALUES (?)', [i]);
  };
  const ship = async (what: 'binlogs' | 'dump'): Promise<{ code: number | null; stderr: string; stdout: string }> => {
    const result = await runCli(['ship', what], env);
    await runtime.idle();
    return result;
  };
  const status = async (): Promise<HostStatus> => {
    const result = await runCli(['status', '--json', '--host', 'db1'], env);
    const report = JSON.parse(result.stdout) as { schemaVersion: number; status: HostStatus['status']; hosts: HostStatus[] };
    expect(report.schemaVersion).toBe(1);
    // The exit code is the health, for monitoring: 0 ok, 1 warning, 2 critical.
    expectExit(result, { ok: 0, warning: 1, critical: 2 }[report.status]);
    expect(report.status).toBe(report.hosts[0]?.status);
    return report.hosts[0] as HostStatus;
  };
  const alerts = async (): Promise<AlertLine[]> =>
    (await readFile(join(stateDir, 'alerts.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AlertLine);
  const closedBinlogs = async (): Promise<string[]> => {
    const [rows] = await admin.query<RowDataPacket[]>('SHOW BINARY LOGS');
    return rows.map((r) => String(r.Log_name)).slice(0, -1);
  };

  it('a verified dump and the unbroken binlogs after it make one window; nothing is missing', async () => {
    await write();
    expectExit(await ship('dump'), 0);
    await write();
    expectExit(await ship('binlogs'), 0);

    const s = await status();
    expect(s).toMatchObject({ status: 'ok', problems: [] });
    expect(s.gaps).toEqual([]);
    expect(s.failedObjects).toEqual([]);
    expect(s.windows).toHaveLength(1);
    expect(s.windows[0]?.from).toBe(s.lastDump?.completedAt);
    expect(s.windows[0]?.to).toBe(s.lastBinlog?.lastEventTime);
    expect(s.latestRestorableTime).toBe(s.lastBinlog?.lastEventTime);
    expect(s.lagSeconds).toBeLessThan(30);
  });

  it('alerts shipping-stale once when the lag passes the threshold, and once when it clears', async () => {
    await new Promise((r) => setTimeout(r, 9500));
    await runtime.watchdog();
    await runtime.watchdog();
    expect((await alerts()).filter((a) => a.type === 'shipping-stale')).toMatchObject([{ state: 'started', host: 'db1' }]);

    await write();
    expectExit(await ship('binlogs'), 0);
    await runtime.watchdog();
    await runtime.watchdog();
    expect((await alerts()).filter((a) => a.type === 'shipping-stale').map((a) => a.state)).toEqual(['started', 'cleared']);
  });

  it('binlogs purged before they were shipped: the shipper names them and exits 3, status shows the missing gap where the window ends, one gap alert', async () => {
    const before = await status();
    for (let i = 0; i < 3; i++) {
      await write();
      await admin.query('FLUSH BINARY LOGS');
    }
    const closed = await closedBinlogs();
    const unshipped = closed.slice(-3);
    await admin.query(`PURGE BINARY LOGS TO '${unshipped[2] ?? ''}'`);

    const shipped = await ship('binlogs');

    expectExit(shipped, 3);
    expect(shipped.stderr).toContain(`purged by the server before they were shipped: ${unshipped.slice(0, 2).join(', ')}`);
    const s = await status();
    expect(s.gaps).toEqual([
      expect.objectContaining({ kind: 'missing', missing: unshipped.slice(0, 2), since: before.latestRestorableTime }),
    ]);
    expect(s.windows).toHaveLength(1);
    expect(s.windows[0]?.to).toBe(before.latestRestorableTime);
    expect(s.status).toBe('critical');
    expect(s.problems).toContainEqual(expect.objectContaining({ severity: 'critical', type: 'gap', message: expect.stringContaining(unshipped[0] ?? '?') }));

    await runtime.watchdog();
    await runtime.watchdog();
    await runtime.watchdog();
    expect((await alerts()).filter((a) => a.type === 'gap')).toMatchObject([{ state: 'started', host: 'db1' }]);
  });

  it('a new dump opens a new window after the gap', async () => {
    expectExit(await ship('dump'), 0);
    await write();
    expectExit(await ship('binlogs'), 0);

    const s = await status();
    expect(s.windows).toHaveLength(2);
    expect(s.windows[1]?.from).toBe(s.lastDump?.completedAt);
    expect(s.windows[1]?.to).toBe(s.lastBinlog?.lastEventTime);
  });

  it('RESET MASTER starts a new lineage: a reset, not an error, and no alert', async () => {
    const alertsBefore = (await alerts()).length;
    await admin.query('RESET MASTER');
    await write();
    await admin.query('FLUSH BINARY LOGS');
    await write();

    const shipped = await ship('binlogs');

    expectExit(shipped, 0);
    const s = await status();
    expect(s.gaps.map((g) => g.kind).sort()).toEqual(['missing', 'reset']);
    expect(s.gaps.find((g) => g.kind === 'reset')).toMatchObject({ before: 'binlog.000001' });
    await runtime.watchdog();
    // Only lateness may be said here (this test's steps take longer than the 8 s threshold on a
    // loaded machine); the reset itself is no gap and no error.
    expect((await alerts()).slice(alertsBefore).filter((a) => a.type !== 'shipping-stale')).toEqual([]);
  });

  it('duplicate and out-of-order events change nothing', async () => {
    const scope = { prefix: 'mysql', host: 'db1' };
    const now = new Date();
    const catalog = await loadCatalog(store, scope, now);
    const objects = (await store.list('mysql/db1/binlogs/')).keys.map((k) => k.key).reverse();
    for (const key of objects) {
      const outcome = await verifyObject({ store, alerts: { publish: () => Promise.reject(new Error('no alert expected')) }, clock: systemClock }, key);
      expect(outcome.outcome).toBe('already-verified');
    }
    const records = (await store.list('mysql/db1/records/')).keys.map((k) => k.key).reverse();
    for (const key of records) await catalogRecord(store, key, systemClock);
    expect(await loadCatalog(store, scope, now)).toEqual(catalog);
  });

  it('catalog rebuild from the records alone gives the same status', async () => {
    const before = await status();
    for (const k of (await store.list('mysql/db1/catalog/')).keys) await store.delete(k.key);

    const rebuilt = await runCli(['catalog', 'rebuild'], env);

    expectExit(rebuilt, 0);
    expect(rebuilt.stdout).toMatch(/^rebuilt db1: \d+ binlogs, \d+ dumps, \d+ gaps, \d+ hour segments$/m);
    const after = await status();
    expect({ ...after, lagSeconds: 0 }).toEqual({ ...before, lagSeconds: 0 });
  });

  it('shows it all as a person would want to read it, and in one line for cron mail; the gap makes both exit 2', async () => {
    const result = await runCli(['status'], env);
    const brief = await runCli(['status', '--brief'], env);

    expectExit(result, 2);
    expectExit(brief, 2);
    expect(brief.stdout).toMatch(/^CRITICAL: db1 critical: binlogs binlog\.\d+, binlog\.\d+ are missing: purged by the server before they were shipped .*\n$/);
    expect(result.stdout).toMatch(/ {2}critical {5}binlogs binlog\.\d+, binlog\.\d+ are missing/);
    expect(result.stdout).toMatch(/^db1  CRITICAL\n {2}restorable {3}\d{4}-\d{2}-\d{2}T[\d:]+Z → \d{4}-\d{2}-\d{2}T[\d:]+Z {3}\(lag \d+ s\)/);
    expect(result.stdout).toContain('  last dump    ');
    expect(result.stdout).toMatch(/ {4}missing {2}binlog\.\d+, binlog\.\d+: purged by the server before they were shipped/);
    expect(result.stdout).toMatch(/ {4}reset {4}binlog\.\d+ → binlog\.000001: binlog numbering restarted/);
  });
});
