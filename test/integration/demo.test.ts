import { describe, expect, it } from 'vitest';
import { runCli, expectExit } from '../helpers/cli.js';

describe('binvault demo', () => {
  it('tells the whole story on embedded defaults and exits 0 only with its proof', async () => {
    const run = await runCli(['demo', '--json'], {}, { timeoutMs: 180_000 });

    expectExit(run, 0);
    const summary = JSON.parse(run.stdout) as {
      orders: number;
      binlogsVerified: number;
      objectsVerified: number;
      window: { from: string; to: string };
      restoredTo: string;
      checksums: { source: Record<string, string>; restored: Record<string, string> };
    };
    expect(summary.orders).toBeGreaterThan(100);
    expect(summary.objectsVerified).toBeGreaterThanOrEqual(summary.binlogsVerified + 1);
    expect(Date.parse(summary.restoredTo)).toBeGreaterThanOrEqual(Date.parse(summary.window.from));
    expect(Date.parse(summary.restoredTo)).toBeLessThanOrEqual(Date.parse(summary.window.to));
    expect(Object.keys(summary.checksums.source)).toEqual(['shop.customers', 'shop.orders']);
    expect(summary.checksums.restored).toEqual(summary.checksums.source);
    expect(run.stderr).toContain('[8/8] done');
  });
});
