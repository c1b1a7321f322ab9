import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../core/config.js';
import { waitForNextRun } from '../../../../shipper/commands/ship-binlogs.js';

describe('ship binlogs --loop: when the next run starts', () => {
  it('waits out the interval while the active binlog stays small', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bv-wait-'));
    const activePath = join(dir, 'binlog.000007');
    await writeFile(activePath, Buffer.alloc(100));
    const started = Date.now();

    expect(await waitForNextRun({ seconds: 1.5, activePath, rotateBytes: 1000, signal: new AbortController().signal })).toBe('interval');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('starts at once (within a second) when the active binlog passes the size, not at the next tick', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bv-wait-'));
    const activePath = join(dir, 'binlog.000007');
    await writeFile(activePath, Buffer.alloc(100));
    setTimeout(() => void writeFile(activePath, Buffer.alloc(2000)), 200);
    const started = Date.now();

    expect(await waitForNextRun({ seconds: 60, activePath, rotateBytes: 1000, signal: new AbortController().signal })).toBe('size');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('defaults to a run every 5 s and a rotation past 32 MiB; both settable', () => {
    const defaults = { hostname: 'db1', home: '/h', stateDir: '/s' };
    expect(parseConfig({}, defaults).shipping).toMatchObject({ intervalSeconds: 5, rotateBytes: 32 * 1024 * 1024 });
    expect(parseConfig({ BINVAULT_SHIP_INTERVAL: '60', BINVAULT_SHIP_ROTATE_MB: '8' }, defaults).shipping).toMatchObject({ intervalSeconds: 60, rotateBytes: 8 * 1024 * 1024 });
    expect(() => parseConfig({ BINVAULT_SHIP_INTERVAL: '0' }, defaults)).toThrow(/BINVAULT_SHIP_INTERVAL/);
  });
});
