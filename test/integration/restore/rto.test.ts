import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../core/config.js';
import { ratesKey, type RatesFile } from '../../../core/restore/rto.js';
import { StateDir } from '../../../shipper/lib/state.js';
import { runCli, expectExit } from '../../helpers/cli.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';

const BUDGET = 30;
const scope = { prefix: 'mysql', host: 'db1' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the RTO budget: a write burst pushes the estimate past it, the shipper takes a dump, the watchdog raises and clears rto-at-risk', () => {
  let s: Scenario;
  let env: Record<string, string>;

  const dumps = async (): Promise<string[]> => (await s.store.list('mysql/db1/dumps/')).keys.map((k) => k.key).filter((k) => k.endsWith('.sql.gz'));
  const status = async (): Promise<{ code: number | null; host: { status: string; rto?: { estimateSeconds: number; budgetSeconds: number; rates: { source: string } } } }> => {
    const run = await runCli(['status', '--json'], env);
    const report = JSON.parse(run.stdout) as { hosts: { status: string; rto?: { estimateSeconds: number; budgetSeconds: number; rates: { source: string } } }[] };
    return { code: run.code, host: report.hosts[0] ?? { status: '?' } };
  };

  beforeAll(async () => {
    const config = parseConfig({ BINVAULT_RTO_SECONDS: String(BUDGET) }, { hostname: 'local', home: '/tmp', stateDir: '/tmp' });
    s = await startScenario({ runtime: { config } });
    env = { ...s.env, BINVAULT_RTO_SECONDS: String(BUDGET) };
    await s.admin.query('CREATE DATABASE app; CREATE TABLE app.blobs (id INT AUTO_INCREMENT PRIMARY KEY, payload VARBINARY(1024))');
    const dump = await runCli(['ship', 'dump'], env);
    expectExit(dump, 0);
    await s.runtime.idle();
    // What restores of this host measured: loads fast, replays 10 kB of stored binlog a second.
    const measured = (bytesPerSecond: number) => [{ bytesPerSecond, bytes: bytesPerSecond * 10, seconds: 10, at: '2026-12-01T00:00:00.000Z', execution: 'restore-earlier' }];
    const rates: RatesFile = { version: 1, load: measured(100e6), replay: measured(10_000) };
    await s.store.put(ratesKey(scope), JSON.stringify(rates));
  }, 120_000);
  afterAll(() => s?.close());

  it('is within the budget after the dump: no alert, status shows the estimate', async () => {
    const watched = await s.runtime.watchdog();

    expect(watched[0]?.active ?? []).not.toContain('rto-at-risk');
    const { host } = await status();
    expect(host.rto?.budgetSeconds).toBe(BUDGET);
    expect(host.rto?.rates.source).toBe('measured');
    expect(host.rto?.estimateSeconds).toBeLessThanOrEqual(BUDGET);
  });

  it('a write burst pushes the estimate past it: rto-at-risk raised once, status warns; a dump younger than BINVAULT_DUMP_MIN_INTERVAL is not repeated', async () => {
    // About 1 MB that does not compress: 100 s of replay at the host's measured rate.
    for (let i = 0; i < 10; i++) await s.admin.query('INSERT INTO app.blobs (payload) SELECT RANDOM_BYTES(1000) FROM app.seq_1_to_100');
    const shipped = await runCli(['ship', 'binlogs'], { ...env, BINVAULT_DUMP_MIN_INTERVAL: '1h' });
    expectExit(shipped, 0);
    await s.runtime.idle();

    const first = await s.runtime.watchdog();
    const again = await s.runtime.watchdog();

    expect(await dumps()).toHaveLength(1);
    expect(first[0]?.started).toContain('rto-at-risk');
    expect(again[0]?.started).toEqual([]);
    expect(again[0]?.active).toContain('rto-at-risk');
    const { code, host } = await status();
    expect(code).toBe(1);
    expect(host.status).toBe('warning');
    expect(host.rto?.estimateSeconds).toBeGreaterThan(BUDGET);
    const plan = await runCli(['restore', '--latest', '--dry-run'], env);
    expectExit(plan, 0);
    expect(plan.stdout).toMatch(/ {2}estimate about [\d.]+ (s|min) \(load [\d.]+ s, replay [\d.]+ (s|min); rates measured by restores of this host\), RTO budget 30\.0 s: PAST THE BUDGET\n/);
  });

  it('never two dumps at once: while another dump holds the dump lock, the shipper says so and takes none', async () => {
    const release = await new StateDir(env.BINVAULT_STATE_DIR ?? '').lock('dump', 'ship dump');
    try {
      const shipped = await runCli(['ship', 'binlogs'], { ...env, BINVAULT_DUMP_MIN_INTERVAL: '1s' });

      expectExit(shipped, 0);
      expect(shipped.stderr).toMatch(/^binvault: taking a dump for the RTO budget: .*\nbinvault: not taking another dump: another binvault ship dump is running \(pid \d+/);
      expect(await dumps()).toHaveLength(1);
    } finally {
      await release();
    }
  });

  it('ship binlogs --loop takes a dump on its own; once it is verified the watchdog clears rto-at-risk', async () => {
    let pid = 0;
    const loop = runCli(['ship', 'binlogs', '--loop', '--interval', '1'], { ...env, BINVAULT_DUMP_MIN_INTERVAL: '10s' }, { onSpawn: (p) => (pid = p), timeoutMs: 120_000 });
    const deadline = Date.now() + 60_000;
    while ((await dumps()).length < 2 && Date.now() < deadline) await sleep(200);
    await s.runtime.idle();
    await sleep(3_000);
    process.kill(pid, 'SIGTERM');
    const stopped = await loop;
    await s.runtime.idle();

    expectExit(stopped, 0);
    expect(stopped.stderr).toMatch(/taking a dump for the RTO budget: a restore would take about \d+ s now, past the 30 s RTO budget/);
    // One dump: the next passes found one running, then one younger than the minimum interval.
    expect(await dumps()).toHaveLength(2);
    const cleared = await s.runtime.watchdog();
    expect(cleared[0]?.cleared).toContain('rto-at-risk');
    expect((await s.runtime.watchdog())[0]?.cleared).toEqual([]);
    const { host } = await status();
    expect(host.rto?.estimateSeconds).toBeLessThanOrEqual(BUDGET);
  }, 120_000);
});
