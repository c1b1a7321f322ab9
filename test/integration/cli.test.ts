import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { S3Store } from '../../drivers/aws/s3.js';
import { freePort } from '../../drivers/local/instance.js';
import { CLI, runCli, runCliOnTerminal, expectExit, screenLines } from '../helpers/cli.js';
import { REAL_BINLOGS } from '../helpers/fixtures.js';

describe('binvault argv: wrong input gets one line and a non-zero exit before anything is reached for', () => {
  it.each<[string[], number, string, Record<string, string>?]>([
    [['frobnicate'], 2, "binvault: unknown command 'frobnicate' (binvault --help lists them)"],
    [['restore', '--latest', '--lock-wait-timeout', '5'], 2, "binvault: --lock-wait-timeout does not apply to 'restore'"],
    [['restore', '--latest', '--to', '2026-01-01T00:00:00Z'], 2, 'binvault: restore needs exactly one of --to TIME, --gtid GTID, --latest'],
    [['ship', 'binlogs', '--interval', 'abc'], 2, "binvault: --interval 'abc' is not a positive number of seconds"],
    // No bucket or credentials are configured here: the target is refused first, not the missing bucket.
    [['restore', '--to', 'yesterday'], 2, "binvault: 'yesterday' is not a time: use ISO 8601 with a zone (2026-11-20T15:04:05Z) or 'YYYY-MM-DD HH:MM:SS' (in BINVAULT_TZ)"],
    // Mistyped times once rolled over into another second and restored it.
    [['restore', '--to', '2026-12-02 47:47:05', '--dry-run'], 2, "binvault: '2026-12-02 47:47:05' is not a time: there is no hour 47 (00 to 23)"],
    [['restore', '--to', '2026-12-03 23:46:65', '--dry-run'], 2, "binvault: '2026-12-03 23:46:65' is not a time: there is no second 65 (00 to 59)"],
    [['restore', '--gtid', 'banana'], 2, "binvault: 'banana' is not a MariaDB GTID (domain-server-sequence); MySQL GTID targets are not supported yet"],
    [['status', '--frobnicate'], 2, "binvault: unknown option --frobnicate for 'status' (binvault status --help lists its options)"],
    [['status', '--host'], 2, 'binvault: --host needs a value'],
    [['check', '--interval', '0'], 2, "binvault: --interval '0' is not a positive number of seconds"],
    [['ship'], 2, "binvault: 'ship' needs a command: 'ship binlogs', 'ship dump' (binvault ship --help)"],
    [['help', 'frobnicate'], 2, "binvault: unknown command 'frobnicate' (binvault --help lists them)"],
    // A configuration error exits 2 as well: systemd's RestartPreventExitStatus=2 stops instead of looping.
    [['ship', 'binlogs'], 2, "binvault: BINVAULT_TZ 'Mars/Olympus' is not a time zone (e.g. UTC, Asia/Seoul)", { BINVAULT_TZ: 'Mars/Olympus' }],
  ])('%j → exit %i', async (args, code, line, env = {}) => {
    const run = await runCli(args, env);

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

  it('lists every command in the usage, and answers help for a group or a command in each way it is asked', async () => {
    const all = await runCli([], {});
    const group = await runCli(['ship', '--help'], {});
    const helpGroup = await runCli(['help', 'ship'], {});
    const named = await runCli(['help', 'status'], {});
    const flag = await runCli(['status', '--help'], {});

    expectExit(all, 2);
    for (const command of ['ship binlogs', 'ship dump', 'check', 'status', 'catalog rebuild', 'retention', 'redrive', 'restore', 'restore apply', 'verify', 'local up', 'demo']) {
      expect(all.stdout).toMatch(new RegExp(`^  ${command}( |$)`, 'm'));
    }
    expectExit(group, 0);
    expect(group.stdout).toMatch(/^usage: binvault ship <binlogs\|dump>/);
    expect(helpGroup.stdout).toBe(group.stdout);
    expectExit(named, 0);
    expect(named.stdout).toMatch(/^usage: binvault status /);
    expect(named.stdout).toContain('exit: 0 every host current, 1 a warning, 2 a problem');
    expect(flag.stdout).toBe(named.stdout);
  });
});

describe('binvault against an endpoint that is not S3', () => {
  it('says what answered, in one line', async () => {
    const web = createServer((_, response) => response.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    try {
      const run = await runCli(['status'], { BINVAULT_S3_ENDPOINT: url });

      // status exits 3 when it cannot look (monitoring's UNKNOWN): 1 and 2 are findings.
      expectExit(run, 3);
      expect(run.stderr).toBe(`binvault: list s3://binvault/mysql/ failed: HTTP 404 with no S3 error in the answer (is ${url} an S3 endpoint?)\n`);
    } finally {
      web.close();
    }
  });
});

describe('progress: a bar with the total and an ETA on a terminal, JSON lines with --json, nothing else otherwise', () => {
  // 2.9 MiB: three 1 MiB reads, each a progress event.
  const binlog = `${REAL_BINLOGS}mysql80-row-crc32-large-stop.000001`;

  it('on a terminal: the bar (cli-progress) while it reads, and at the end only the result', async () => {
    const run = await runCliOnTerminal(['verify', binlog], {});

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/ verify +\[#+\.*\] 34% +1\.0 MiB of 2\.9 MiB  ETA /);
    expect(run.output).toMatch(/ verify +\[#+\] 100% +2\.9 MiB of 2\.9 MiB  ETA 0 s/);
    expect(screenLines(run.output)).toEqual([expect.stringMatching(/^ok {6}\S+mysql80-row-crc32-large-stop\.000001  2\.9 MiB  binlog 8\.0\.34/)]);
  });

  it('not on a terminal: the result line alone', async () => {
    const run = await runCli(['verify', binlog], {});

    expectExit(run, 0);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('with --json: progress as JSON lines on stderr, the result alone on stdout', async () => {
    const run = await runCli(['verify', '--json', binlog], {});

    expectExit(run, 0);
    const progress = run.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; phase: string; done: number; total: number; etaSeconds: number | null });
    expect(progress.every((p) => p.type === 'progress' && p.phase === 'verify' && p.total === 3041034)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: 3041034, etaSeconds: 0 });
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', kind: 'binlog' });
  });
});

describe('binvault local up', () => {
  it('prints its own lines on stdout, the handlers’ logs go to its log file, no metrics anywhere, even across watchdog passes', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'binvault-up-'));
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const up = spawn(process.execPath, [CLI, 'local', 'up'], {
      env: { PATH: process.env.PATH ?? '', BINVAULT_STATE_DIR: stateDir, BINVAULT_S3_ENDPOINT: endpoint, BINVAULT_LOCAL_WATCHDOG_SECONDS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    up.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      await once(up.stdout, 'data');
      const store = new S3Store({ bucket: 'binvault', endpoint });
      await store.put('mysql/db1/binlogs/2026-11-20/mysql80-row-crc32-large-stop.000001.gz', gzipSync(await readFile(`${REAL_BINLOGS}mysql80-row-crc32-large-stop.000001`)));
      // Three watchdog passes, and the verdict on the object.
      for (let i = 0; i < 40 && !stdout.includes('verified'); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 3500));
    } finally {
      up.kill('SIGTERM');
      await once(up, 'close');
    }
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(`binvault local runtime: S3 endpoint ${endpoint}, bucket binvault, data in ${stateDir}/s3`);
    expect(lines).toContainEqual(expect.stringMatching(/^verified (ok {4}|FAILED) mysql\/db1\/binlogs\/2026-11-20\/mysql80-row-crc32-large-stop\.000001\.gz/));
    expect(stdout).not.toMatch(/^\{|metrics/m);
    const log = (await readFile(join(stateDir, 'local.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { level: string; message: string; service: string });
    expect(log).toContainEqual(expect.objectContaining({ level: 'INFO', message: 'object verified', service: 'binvault-local' }));
    await rm(stateDir, { recursive: true, force: true });
  });
});

describe('binvault local up with its port taken', () => {
  it('says so in one line, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(taken.address() as AddressInfo).port}`;
    const stateDir = await mkdtemp(join(tmpdir(), 'binvault-up-'));
    try {
      const run = await runCli(['local', 'up'], { BINVAULT_S3_ENDPOINT: url, BINVAULT_STATE_DIR: stateDir });

      expectExit(run, 1);
      expect(run.stderr).toBe(`binvault: cannot serve ${url}: the address is in use (another binvault local up?)\n`);
      expect(run.stdout).toBe('');
    } finally {
      taken.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
