import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSnapshots } from '../../../core/restore/drill.js';
import { MysqlInstanceReader } from '../../../drivers/mysql/compare.js';
import { expectExit, runCli } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';
import { drillSeed, seeded, Workload, type Checkpoint } from '../../helpers/workload.js';

interface Report {
  reached: { gtids: string };
  verification: { ok: boolean };
  instance: { host: string; port: number; socket: string; user: string; defaultsFile: string; dataDir: string };
}

const FORMATS = ['STATEMENT', 'MIXED', 'ROW'] as const;
/** One seed for the file, printed in every describe's name: `BINVAULT_DRILL_SEED=<seed>` replays a failed drill. */
const SEED = drillSeed();

/**
 * Randomized restore drills: an application-like workload on a real source in each binlog format,
 * shipped between rounds, quiet checkpoints at random rounds, the last followed by the disaster;
 * restores by time, by GTID and to the latest each equal the source's snapshot at their target.
 */
describe.each(FORMATS.map((format, i) => ({ format, seed: SEED + i })))('restore drill in $format format (seed $seed)', ({ format, seed }) => {
  const random = seeded(seed);
  let s: Scenario;
  let workload: Workload;
  const checkpoints: Checkpoint[] = [];
  let latest: Checkpoint;
  const restored: Report[] = [];

  const ship = async (what: 'dump' | 'binlogs'): Promise<void> => {
    expectExit(await runCli(['ship', what], s.env), 0);
    await s.runtime.idle();
  };

  /** Restores, and compares the new instance with the source's snapshot at the target. */
  const drill = async (args: string[], expected: Checkpoint): Promise<void> => {
    const result = await runCli(['restore', ...args, '--json'], s.env, { timeoutMs: 120_000 });
    expectExit(result, 0);
    const report = JSON.parse(result.stdout) as Report;
    restored.push(report);
    expect(report.verification.ok).toBe(true);
    expect(report.reached.gtids, `seed ${seed}: ${args.join(' ')}`).toBe(expected.gtid);
    const snapshot = await new MysqlInstanceReader().snapshot({ id: 'restored', kind: 'local', ...report.instance });
    expect(compareSnapshots(snapshot, expected.snapshot), `seed ${seed}: ${args.join(' ')}`).toEqual([]);
  };

  beforeAll(async () => {
    s = await startScenario({ server: { binlogFormat: format, extraArgs: ['--event-scheduler=ON'] } });
    workload = new Workload(s.server, s.admin, random);
    await workload.prepare();
    await ship('dump');
    for (let round = 0; round < 4; round++) {
      await workload.round();
      if (random.next() < 0.5) checkpoints.push(await workload.checkpoint());
      // A rotation between rounds: the temporary table of the first round's session lives on across it.
      await s.admin.query('FLUSH BINARY LOGS');
      await ship('binlogs');
    }
    await workload.finish();
    checkpoints.push(await workload.checkpoint());
    await workload.disaster();
    latest = await workload.checkpoint();
    await ship('binlogs');
  }, 180_000);

  afterAll(async () => {
    for (const report of restored) {
      const pid = Number(await readFile(join(report.instance.dataDir, '..', 'mysqld.pid'), 'utf8').catch(() => '0'));
      if (pid > 0) process.kill(pid, 'SIGTERM');
    }
    await workload?.close();
    await s?.close();
  });

  it('restores a random quiet checkpoint by time: every table, routine, trigger, event and view as the source had them then', async () => {
    const checkpoint = random.pick(checkpoints);
    await drill(['--to', checkpoint.time], checkpoint);
  });

  it('restores a random checkpoint by its GTID', async () => {
    const checkpoint = random.pick(checkpoints);
    await drill(['--gtid', checkpoint.gtid], checkpoint);
  });

  it('restores the latest: the dropped table gone, the deleted rows deleted', async () => {
    await drill(['--latest'], latest);
    const { tables, definitions } = latest.snapshot;
    expect(Object.keys(tables)).not.toContain('shop.ledger');
    expect(tables['crm.contacts']?.rows).toBe(0);
    // The workload did what the drill claims: the DDL, the row beyond 16 MiB, the event run once and kept.
    expect(tables['crm.notes']).toBeUndefined();
    expect(tables['crm.memos']?.rows).toBeGreaterThan(0);
    expect(tables['shop.orders']?.columns).toContain('channel varchar(16)');
    expect(tables['shop.blobs']?.rows).toBe(1);
    expect(tables['shop.fired']?.rows).toBe(1);
    expect(definitions['event shop.once']).toMatch(/\| DISABLED \| PRESERVE \|/);
  });
});
