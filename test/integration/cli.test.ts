import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli, expectExit } from '../helpers/cli.js';

describe('binvault argv: wrong input gets one line and a non-zero exit before anything is reached for', () => {
  it.each([
    [['frobnicate'], 2, "binvault: unknown command 'frobnicate' (binvault --help lists them)"],
    [['restore', '--latest', '--lock-wait-timeout', '5'], 2, "binvault: --lock-wait-timeout does not apply to 'restore'"],
    [['restore', '--latest', '--to', '2026-01-01T00:00:00Z'], 2, 'binvault: restore needs exactly one of --to TIME, --gtid GTID, --latest'],
    [['ship', 'binlogs', '--interval', 'abc'], 2, "binvault: --interval 'abc' is not a positive number of seconds"],
    // No bucket or credentials are configured here: the target is refused first, not the missing bucket.
    [['restore', '--to', 'yesterday'], 2, "binvault: 'yesterday' is not a time: use ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)"],
    // Mistyped times once rolled over into another second and restored it.
    [['restore', '--to', '2026-12-02 47:47:05', '--dry-run'], 2, "binvault: '2026-12-02 47:47:05' is not a time: there is no hour 47 (00 to 23)"],
    [['restore', '--to', '2026-12-03 23:46:65', '--dry-run'], 2, "binvault: '2026-12-03 23:46:65' is not a time: there is no second 65 (00 to 59)"],
    [['restore', '--gtid', 'banana'], 1, "binvault: 'banana' is not a MariaDB GTID (domain-server-sequence); MySQL GTID targets are not supported yet"],
  ])('%j → exit %i', async (args, code, line) => {
    const run = await runCli(args, {});

    expect(run.stderr).toBe(`${line}\n`);
    expectExit(run, code);
    expect(run.stdout).toBe('');
  });

  it('--help lists the commands, and each command has its own usage', async () => {
    const all = await runCli(['--help'], {});
    const restore = await runCli(['restore', '--help'], {});

    expectExit(all, 0);
    for (const command of ['ship binlogs', 'ship dump', 'status', 'restore', 'retention', 'verify', 'demo']) expect(all.stdout).toContain(command);
    expectExit(restore, 0);
    expect(restore.stdout).toMatch(/^usage: binvault restore \(--to TIME \| --gtid GTID \[--before\] \| --latest\)/);
  });
});

describe('binvault against an endpoint that is not S3', () => {
  it('says what answered, in one line', async () => {
    const web = createServer((_, response) => response.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    try {
      const run = await runCli(['status'], { BINVAULT_S3_ENDPOINT: url });

      expectExit(run, 1);
      expect(run.stderr).toBe(`binvault: list s3://binvault/mysql/ failed: HTTP 404 with no S3 error in the answer (is ${url} an S3 endpoint?)\n`);
    } finally {
      web.close();
    }
  });
});
