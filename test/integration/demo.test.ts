import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../drivers/local/instance.js';
import { CLI, runCli, expectExit } from '../helpers/cli.js';

const sh = (command: string): Promise<{ stdout: string; stderr: string }> => promisify(execFile)('sh', ['-c', command]);

describe('binvault demo', () => {
  it('tells the whole story on embedded defaults and exits 0 only with its proof; --keep leaves what it says, and each way it prints to use it works', async () => {
    const run = await runCli(['demo', '--json', '--keep'], {}, { timeoutMs: 180_000 });

    expectExit(run, 0);
    const summary = JSON.parse(run.stdout) as {
      orders: number;
      binlogsVerified: number;
      objectsVerified: number;
      window: { from: string; to: string };
      restoredTo: string;
      checksums: { source: Record<string, string>; restored: Record<string, string> };
      kept: { restored: string; source: string; bucket: string; stop: string };
      drill: { result: string; tables: number };
    };
    expect(summary.orders).toBeGreaterThan(100);
    expect(summary.objectsVerified).toBeGreaterThanOrEqual(summary.binlogsVerified + 1);
    expect(Date.parse(summary.restoredTo)).toBeGreaterThanOrEqual(Date.parse(summary.window.from));
    expect(Date.parse(summary.restoredTo)).toBeLessThanOrEqual(Date.parse(summary.window.to));
    expect(Object.keys(summary.checksums.source)).toEqual(['shop.customers', 'shop.orders']);
    expect(summary.checksums.restored).toEqual(summary.checksums.source);
    expect(run.stderr).toContain('[9/9] done');
    expect(summary.drill).toMatchObject({ result: 'proven', tables: 2 });
    expect(run.stderr).toContain(`  the restored instance, running:  ${summary.kept.restored}\n`);
    expect(run.stderr).toContain(`  stop and remove it all:          ${summary.kept.stop}\n`);

    const work = /rm -rf (\S+)$/.exec(summary.kept.stop)?.[1] ?? '';
    try {
      // Both servers still run after the demo exited: the restored one has the orders the disaster dropped.
      const restored = await sh(`${summary.kept.restored} -N -e 'SELECT COUNT(*) FROM shop.orders'`);
      expect(Number(restored.stdout.trim())).toBe(summary.orders);
      const source = await sh(`${summary.kept.source} -N -e 'SELECT COUNT(*) FROM shop.customers'`);
      expect(Number(source.stdout.trim())).toBeGreaterThan(0);

      // The bucket, served again from the data left behind, as printed (on a free port here).
      const stateDir = /^BINVAULT_STATE_DIR=(\S+) binvault local up/.exec(summary.kept.bucket)?.[1] ?? '';
      const endpoint = `http://127.0.0.1:${await freePort()}`;
      const up = spawn(process.execPath, [CLI, 'local', 'up'], { env: { PATH: process.env.PATH ?? '', BINVAULT_STATE_DIR: stateDir, BINVAULT_S3_ENDPOINT: endpoint }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await once(up.stdout, 'data');
        const status = await runCli(['status', '--json', '--host', 'demo'], { BINVAULT_S3_ENDPOINT: endpoint });
        expect((JSON.parse(status.stdout) as { hosts: { windows: unknown[] }[] }).hosts[0]?.windows).toHaveLength(1);
      } finally {
        up.kill('SIGTERM');
        await once(up, 'close');
      }

      await sh(summary.kept.stop);

      expect(existsSync(work)).toBe(false);
      await expect(sh(`${summary.kept.restored} -e 'SELECT 1'`)).rejects.toThrow();
    } finally {
      if (existsSync(work)) await sh(summary.kept.stop).catch(() => undefined);
    }
  });
});
