import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayIn } from '../../../core/layout.js';
import { VERSION } from '../../../core/version.js';
import { verifyStream } from '../../../core/verify.js';
import type { HostImpact } from '../../../shipper/lib/compress-host.js';
import { runCli, runCliOnTerminal, expectExit, screenLines } from '../../helpers/cli.js';
import { fakeIgzip } from '../../helpers/compressor.js';
import { startTestBucket, type TestBucket } from '../../helpers/s3.js';
import { connectTo, startTestServer, type Instance } from '../../helpers/servers.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Setup {
  server: Instance;
  admin: Connection;
  bucket: TestBucket;
  stateDir: string;
  env: Record<string, string>;
  password: string;
}

const setUp = async (host: string): Promise<Setup> => {
  const server = await startTestServer();
  const admin = await connectTo(server);
  const bucket = await startTestBucket();
  const stateDir = await mkdtemp(join(tmpdir(), 'binvault-state-'));
  const password = /password="([^"]+)"/.exec(await readFile(server.defaultsFile, 'utf8'))?.[1] ?? '';
  return {
    server,
    admin,
    bucket,
    stateDir,
    password,
    env: {
      BINVAULT_S3_ENDPOINT: bucket.endpoint.url,
      BINVAULT_BUCKET: bucket.bucket,
      BINVAULT_HOST_ID: host,
      BINVAULT_MYSQL_DEFAULTS_FILE: server.defaultsFile,
      BINVAULT_STATE_DIR: stateDir,
    },
  };
};

const tearDown = async (s: Setup | undefined): Promise<void> => {
  if (!s) return;
  await s.admin.end().catch(() => undefined);
  await s.server.stop();
  await s.bucket.close();
  await rm(s.stateDir, { recursive: true, force: true });
};

const write = async (admin: Connection, rows: number, payloadBytes = 100): Promise<void> => {
  await admin.query('CREATE DATABASE IF NOT EXISTS app');
  await admin.query('CREATE TABLE IF NOT EXISTS app.t (id INT AUTO_INCREMENT PRIMARY KEY, payload LONGBLOB)');
  for (let i = 0; i < rows; i++) {
    await admin.query('INSERT INTO app.t (payload) VALUES (RANDOM_BYTES(?))', [Math.min(payloadBytes, 1024)]);
  }
};

/** Random, incompressible rows of `mb` MiB: binlogs big enough for multipart uploads. */
const writeBulk = async (admin: Connection, mb: number): Promise<void> => {
  await admin.query('CREATE DATABASE IF NOT EXISTS app');
  await admin.query('CREATE TABLE IF NOT EXISTS app.bulk (id INT AUTO_INCREMENT PRIMARY KEY, payload LONGBLOB)');
  await admin.query('SET SESSION group_concat_max_len = 4194304');
  for (let i = 0; i < mb; i++) {
    // 1 MiB of random bytes per row (RANDOM_BYTES caps at 1024 bytes per call).
    await admin.query(
      "INSERT INTO app.bulk (payload) SELECT GROUP_CONCAT(RANDOM_BYTES(1024) SEPARATOR '') FROM app.seq_1_to_1024",
    );
  }
};

const binlogFiles = async (s: Setup): Promise<{ closed: string[]; active: string }> => {
  const [rows] = await s.admin.query<RowDataPacket[]>('SHOW MASTER STATUS');
  const active = String(rows[0]?.File);
  const index = (await readFile(join(s.server.dataDir, 'binlog.index'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^.*\//, ''));
  return { closed: index.slice(0, index.indexOf(active)), active };
};

const keyOf = (host: string, name: string): string => `mysql/${host}/binlogs/${dayIn(new Date())}/${name}.gz`;

/** Every closed binlog is in the bucket byte-identical to the file on disk; the active one is not. */
const expectAllShipped = async (s: Setup, host: string): Promise<string[]> => {
  const { closed, active } = await binlogFiles(s);
  for (const name of closed) {
    const raw = await readFile(join(s.server.dataDir, name));
    const object = await s.bucket.store.getBytes(keyOf(host, name));
    expect(sha256(gunzipSync(object)), name).toBe(sha256(raw));
  }
  expect(await s.bucket.store.head(keyOf(host, active))).toBeUndefined();
  return closed;
};

const multipartUploads = async (s: Setup): Promise<string[]> =>
  readdir(join(s.bucket.directory, s.bucket.bucket, '._S3rver_uploads')).catch(() => []);

describe('binvault ship binlogs against a real server and the local endpoint', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('db1');
  });
  afterAll(() => tearDown(s));

  it('ships every closed binlog byte-identical with the design metadata, never the active one', async () => {
    await write(s.admin, 50);
    await s.admin.query('FLUSH BINARY LOGS');
    await write(s.admin, 50);

    const run = await runCli(['ship', 'binlogs'], s.env);

    expect(run.stderr).toBe('');
    expectExit(run, 0);
    const closed = await expectAllShipped(s, 'db1');
    expect(closed.length).toBeGreaterThanOrEqual(2);
    const [serverId] = (await s.admin.query<RowDataPacket[]>('SELECT @@server_id AS id'))[0];
    const first = closed[0] ?? '';
    const head = await s.bucket.store.head(keyOf('db1', first));
    const raw = await readFile(join(s.server.dataDir, first));
    expect(head?.metadata).toEqual({
      sha256: sha256(raw),
      'raw-size': String(raw.length),
      host: 'db1',
      'server-id': String(serverId?.id),
      kind: 'binlog',
      'binlog-file': first,
      'shipper-version': VERSION,
    });
    expect(run.stdout).toContain(`shipped ${first}`);
  });

  it('on a terminal: a bar toward the bytes of the binlogs to ship, with an ETA; then only the lines of what was shipped', async () => {
    await write(s.admin, 50);
    await s.admin.query('FLUSH BINARY LOGS');

    const run = await runCliOnTerminal(['ship', 'binlogs'], s.env);

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/ binlogs +\[[#.]+\] \d+% +[\d.]+ (B|KiB|MiB) of [\d.]+ (B|KiB|MiB)  ETA /);
    const screen = screenLines(run.output);
    expect(screen.filter((l) => l.includes('ETA'))).toEqual([]);
    expect(screen.slice(0, -2).every((l) => l.startsWith('shipped binlog.'))).toBe(true);
    expect(screen.at(-2)).toMatch(/^\d+ shipped, \d+ already in the bucket; binlog\.\d+ is active/);
    expect(screen.at(-1)).toMatch(/^host: [\d.]+ CPU s .*, peak RSS [\d.]+ MiB; /);
    await expectAllShipped(s, 'db1');
  });

  it('uploads nothing on a second run when nothing changed, and does not rotate an idle server', async () => {
    const before = await binlogFiles(s);
    const puts = s.bucket.events.length;

    const run = await runCli(['ship', 'binlogs'], s.env);

    expectExit(run, 0);
    expect(s.bucket.events.length).toBe(puts);
    expect((await binlogFiles(s)).active).toBe(before.active);
    expect(run.stdout).toContain('0 shipped');
  });

  it('ships the next change within one run, and skips what the bucket already has after the cache is lost', async () => {
    await write(s.admin, 10);
    await rm(join(s.stateDir, 'binlogs.json'));

    const run = await runCli(['ship', 'binlogs', '--json'], s.env);

    expectExit(run, 0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; name?: string });
    expect(events.filter((e) => e.type === 'shipped')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'skipped').length).toBeGreaterThanOrEqual(2);
    await expectAllShipped(s, 'db1');
  });

  it('refuses to overwrite a key that holds different content, and writes nothing', async () => {
    await write(s.admin, 5);
    await s.admin.query('FLUSH BINARY LOGS');
    const { active } = await binlogFiles(s);
    const victim = (await binlogFiles(s)).closed.at(-1) ?? '';
    await s.bucket.store.put(keyOf('db1', victim), 'not this binlog', { metadata: { sha256: 'f'.repeat(64) } });

    const run = await runCli(['ship', 'binlogs'], s.env);

    expectExit(run, 1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('already holds different content');
    expect((await s.bucket.store.getBytes(keyOf('db1', victim))).toString()).toBe('not this binlog');
    expect(await s.bucket.store.head(keyOf('db1', active))).toBeUndefined();
    await s.bucket.store.delete(keyOf('db1', victim));
  });

  it('never puts the password in output, metadata or the state directory', async () => {
    await write(s.admin, 5);
    const run = await runCli(['ship', 'binlogs', '--verbose'], s.env);

    expectExit(run, 0);
    expect(s.password.length).toBeGreaterThan(10);
    expect(run.stdout + run.stderr).not.toContain(s.password);
    for (const name of await readdir(s.stateDir)) {
      expect(await readFile(join(s.stateDir, name), 'utf8')).not.toContain(s.password);
    }
    const { closed } = await binlogFiles(s);
    const head = await s.bucket.store.head(keyOf('db1', closed.at(-1) ?? ''));
    expect(JSON.stringify(head?.metadata)).not.toContain(s.password);
  });
});

describe('binvault ship binlogs when binlogs were purged before they were shipped', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('db-gap');
  });
  afterAll(() => tearDown(s));

  it('ships what is left, records the gap in the bucket once, names the missing files and exits 3', async () => {
    await write(s.admin, 5);
    expectExit(await runCli(['ship', 'binlogs'], s.env), 0);
    const shippedBefore = (await binlogFiles(s)).closed;
    for (let i = 0; i < 3; i++) {
      await write(s.admin, 5);
      await s.admin.query('FLUSH BINARY LOGS');
    }
    const { closed, active } = await binlogFiles(s);
    const lost = closed.filter((n) => !shippedBefore.includes(n)).slice(0, 2);
    await s.admin.query(`PURGE BINARY LOGS TO '${closed.filter((n) => !shippedBefore.includes(n))[2] ?? active}'`);

    const run = await runCli(['ship', 'binlogs'], s.env);

    expectExit(run, 3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`purged by the server before they were shipped: ${lost.join(', ')}`);
    const records = (await s.bucket.store.list('mysql/db-gap/records/')).keys;
    expect(records).toHaveLength(1);
    const record = JSON.parse((await s.bucket.store.getBytes(records[0]?.key ?? '')).toString()) as Record<string, unknown>;
    expect(record).toMatchObject({ kind: 'gap', reason: 'purged-before-shipped', host: 'db-gap', missing: lost });
    await expectAllShipped(s, 'db-gap');

    const again = await runCli(['ship', 'binlogs'], s.env);
    expectExit(again, 0);
    expect((await s.bucket.store.list('mysql/db-gap/records/')).keys).toHaveLength(1);
  });
});

describe('binvault ship binlogs killed at any instant', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('db-crash');
  });
  afterAll(() => tearDown(s));

  it('killed during a multipart upload: no object, and the next run aborts the upload and ships it whole', async () => {
    await writeBulk(s.admin, 24);
    let pid = 0;
    const running = runCli(['ship', 'binlogs'], s.env, { onSpawn: (p) => (pid = p) });
    const deadline = Date.now() + 30_000;
    while ((await multipartUploads(s)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.kill(pid, 'SIGKILL');
    const killed = await running;

    expect(killed.signal).toBe('SIGKILL');
    expect(await multipartUploads(s)).toHaveLength(1);
    const { closed } = await binlogFiles(s);
    expect(await s.bucket.store.head(keyOf('db-crash', closed.at(-1) ?? ''))).toBeUndefined();

    const run = await runCli(['ship', 'binlogs'], s.env);

    expect(run.stderr).toBe('');
    expectExit(run, 0);
    expect(await multipartUploads(s)).toHaveLength(0);
    await expectAllShipped(s, 'db-crash');
  });

  it('killed at random instants over many runs: nothing lost, nothing duplicated, nothing partial', async () => {
    const puts = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      await writeBulk(s.admin, 6);
      let pid = 0;
      const running = runCli(['ship', 'binlogs'], s.env, { onSpawn: (p) => (pid = p) });
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 900));
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // It finished first: a run that completes is an instant too.
      }
      await running;
    }

    const run = await runCli(['ship', 'binlogs'], s.env);

    expect(run.stderr).toBe('');
    expectExit(run, 0);
    expect(await multipartUploads(s)).toHaveLength(0);
    await expectAllShipped(s, 'db-crash');
    for (const event of s.bucket.events) {
      if (event.eventName.startsWith('ObjectCreated')) {
        puts.set(event.s3.object.key, (puts.get(event.s3.object.key) ?? 0) + 1);
      }
    }
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
  });

  it('SIGTERM during an upload in --loop aborts it cleanly; the next run ships it', async () => {
    await writeBulk(s.admin, 24);
    let pid = 0;
    const running = runCli(['ship', 'binlogs', '--loop', '--interval', '1'], s.env, { onSpawn: (p) => (pid = p) });
    const deadline = Date.now() + 30_000;
    while ((await multipartUploads(s)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.kill(pid, 'SIGTERM');
    const stopped = await running;

    expectExit(stopped, 0);
    expect(stopped.stderr).toContain('SIGTERM received; stopped cleanly');
    expect(await multipartUploads(s)).toHaveLength(0);
    const next = await runCli(['ship', 'binlogs'], s.env);
    expect(next.stderr).toBe('');
    expectExit(next, 0);
    await expectAllShipped(s, 'db-crash');
  });
});

describe('binvault ship binlogs lock', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('db-lock');
  });
  afterAll(() => tearDown(s));

  it('a second concurrent run exits at once with a clear line', async () => {
    let pid = 0;
    const loop = runCli(['ship', 'binlogs', '--loop', '--interval', '30'], s.env, { onSpawn: (p) => (pid = p) });
    const deadline = Date.now() + 10_000;
    while (!(await readdir(s.stateDir)).includes('binlogs.json') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }

    const second = await runCli(['ship', 'binlogs'], s.env);

    expectExit(second, 1);
    expect(second.stderr).toMatch(/^binvault: another binvault ship binlogs is running \(pid \d+/);
    process.kill(pid, 'SIGTERM');
    expectExit(await loop, 0);
  });

  it('--loop ships at once when the active binlog passes BINVAULT_SHIP_ROTATE_MB, without waiting for the interval', async () => {
    let pid = 0;
    const shipped = async (): Promise<number> => (await s.bucket.store.list('mysql/db-lock/binlogs/')).keys.length;
    const loop = runCli(['ship', 'binlogs', '--loop', '--interval', '120'], { ...s.env, BINVAULT_SHIP_ROTATE_MB: '1' }, { onSpawn: (p) => (pid = p) });
    const first = Date.now() + 20_000;
    while (!(await readdir(s.stateDir)).includes('binlogs.json') && Date.now() < first) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    const before = await shipped();

    await writeBulk(s.admin, 2);
    const started = Date.now();
    while ((await shipped()) === before && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 200));

    // Well before the 120 s interval: the size started the run.
    expect(await shipped()).toBeGreaterThan(before);
    expect(Date.now() - started).toBeLessThan(30_000);
    process.kill(pid, 'SIGTERM');
    expectExit(await loop, 0);
  });

  it('a stale lock from a dead process is taken over', async () => {
    await writeFile(
      join(s.stateDir, 'binlogs.lock'),
      JSON.stringify({ pid: 999_999, start: '1', purpose: 'ship binlogs', since: '2026-01-01T00:00:00Z' }),
    );

    const run = await runCli(['ship', 'binlogs'], s.env);

    expectExit(run, 0);
    expect(await readdir(s.stateDir)).not.toContain('binlogs.lock');
  });
});

describe('binvault ship binlogs with bad input: one clear line, non-zero exit, nothing in the bucket', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('db-bad');
    await write(s.admin, 5);
    await s.admin.query('FLUSH BINARY LOGS');
  });
  afterAll(() => tearDown(s));

  const expectFailure = async (env: Record<string, string>, message: RegExp, code = 1): Promise<void> => {
    const run = await runCli(['ship', 'binlogs'], { ...s.env, ...env });
    expectExit(run, code);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect((await s.bucket.store.list('mysql/')).keys).toHaveLength(0);
  };

  const optionFile = async (text: string, mode = 0o600): Promise<string> => {
    const path = join(await mkdtemp(join(tmpdir(), 'binvault-cnf-')), 'my.cnf');
    await writeFile(path, text, { mode });
    await chmod(path, mode);
    return path;
  };

  it('server unreachable', async () => {
    const file = await optionFile('[client]\nuser=root\nhost=127.0.0.1\nport=1\n');
    await expectFailure({ BINVAULT_MYSQL_DEFAULTS_FILE: file }, /cannot connect to the MySQL server at 127\.0\.0\.1:1: connection refused/);
  });

  it('wrong password (and the wrong password is not printed)', async () => {
    const file = await optionFile(`[client]\nuser=root\npassword=wrong-secret-value\nsocket=${s.server.socket}\n`);
    const run = await runCli(['ship', 'binlogs'], { ...s.env, BINVAULT_MYSQL_DEFAULTS_FILE: file });
    expectExit(run, 1);
    expect(run.stderr).toMatch(/denied access to user 'root' \(check the password in .*my\.cnf\)/);
    expect(run.stderr).not.toContain('wrong-secret-value');
  });

  it('option file missing', async () => {
    // Configuration errors exit 2: running again unchanged cannot help (systemd stops on it).
    await expectFailure({ BINVAULT_MYSQL_DEFAULTS_FILE: '/nonexistent/my.cnf' }, /option file \/nonexistent\/my\.cnf not found/, 2);
  });

  it('option file readable by every user', async () => {
    const file = await optionFile(await readFile(s.server.defaultsFile, 'utf8'), 0o644);
    await expectFailure({ BINVAULT_MYSQL_DEFAULTS_FILE: file }, /is accessible to every user \(mode 644\): run chmod 600/, 2);
  });

  // Node 20's recursive mkdir spins forever there: the run must still end, with one line.
  it('state directory where no directory can be made (under /proc)', async () => {
    await expectFailure({ BINVAULT_STATE_DIR: '/proc/binvault-state' }, /^binvault: state directory \/proc\/binvault-state is not writable \(ENOENT\): set BINVAULT_STATE_DIR$/, 2);
  });

  it('bucket missing', async () => {
    await expectFailure({ BINVAULT_BUCKET: 'no-such-bucket' }, /bucket 'no-such-bucket' does not exist/);
  });

  it('endpoint down', async () => {
    await expectFailure({ BINVAULT_S3_ENDPOINT: 'http://127.0.0.1:1' }, /cannot reach the object store at http:\/\/127\.0\.0\.1:1/);
  });

  it('no read permission on the binlog directory', async () => {
    // Tests run as root, who reads everything: run the shipper as nobody, with its own files.
    const dir = await mkdtemp(join(tmpdir(), 'binvault-nobody-'));
    const file = join(dir, 'my.cnf');
    // Over TCP: the server's socket lies in its own private directory too.
    await writeFile(file, `[client]\nuser=root\npassword="${s.password}"\nhost=127.0.0.1\nport=${s.server.port}\n`, { mode: 0o600 });
    await chmod(dir, 0o755);
    const { chown } = await import('node:fs/promises');
    await chown(dir, 65534, 65534);
    await chown(file, 65534, 65534);
    await chmod(s.server.dataDir, 0o700);
    const { execFile } = await import('node:child_process');
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        'setpriv',
        ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, join(process.cwd(), 'dist/binvault.mjs'), 'ship', 'binlogs'],
        { env: { PATH: process.env.PATH ?? '', ...s.env, BINVAULT_MYSQL_DEFAULTS_FILE: file, BINVAULT_STATE_DIR: join(dir, 'state') } },
        (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expectExit(run, 1);
    expect(run.stderr.trim()).toMatch(/^binvault: cannot read .*binlog.* permission denied \(run the shipper as a user in the server's group/);
    expect((await s.bucket.store.list('mysql/')).keys).toHaveLength(0);
  });
});

describe('binvault ship binlogs on a server with log_bin off', () => {
  let server: Instance;
  let bucket: TestBucket;
  beforeAll(async () => {
    server = await startTestServer({ binlog: false });
    bucket = await startTestBucket();
  });
  afterAll(async () => {
    await server.stop();
    await bucket.close();
  });

  it('says so in one line and exits non-zero', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'binvault-state-'));
    const run = await runCli(['ship', 'binlogs'], {
      BINVAULT_S3_ENDPOINT: bucket.endpoint.url,
      BINVAULT_BUCKET: bucket.bucket,
      BINVAULT_HOST_ID: 'nolog',
      BINVAULT_MYSQL_DEFAULTS_FILE: server.defaultsFile,
      BINVAULT_STATE_DIR: stateDir,
    });
    expectExit(run, 1);
    expect(run.stderr.trim()).toBe('binvault: binary logging is off on this server (log_bin = OFF): enable log_bin to ship binlogs');
  });
});

describe('binvault ship binlogs with each compressor', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('db5');
    // Random rows: binlogs past the 8 MiB part size, so the uploads are multipart.
    await writeBulk(s.admin, 12);
    await s.admin.query('FLUSH BINARY LOGS');
  });
  afterAll(() => tearDown(s));

  interface Line {
    type: string;
    storedBytes?: number;
    rawBytes?: number;
    key?: string;
    shipped?: string[];
    impact?: HostImpact;
  }
  const lines = (stdout: string): Line[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

  it('a compressor that dies mid-stream: one line, exit 1, nothing in the bucket and no open upload; the next run ships it all', async () => {
    const fake = await fakeIgzip('dies');
    const run = await runCli(['ship', 'binlogs'], { ...s.env, PATH: `${fake}:${process.env.PATH ?? ''}`, BINVAULT_COMPRESSOR: 'igzip' });

    expectExit(run, 1);
    expect(run.stderr.trim()).toMatch(/^binvault: \/.*\/igzip was killed by SIGKILL; nothing was stored$/);
    expect((await s.bucket.store.list('mysql/db5/binlogs/')).keys).toEqual([]);
    expect(await s.bucket.store.listMultipartUploads('mysql/db5/')).toEqual([]);

    expectExit(await runCli(['ship', 'binlogs'], s.env), 0);
    await expectAllShipped(s, 'db5');
  });

  for (const compressor of ['zlib', 'igzip'] as const) {
    it(`with ${compressor}: objects that verify, and a result line with the run's cost to the host`, async () => {
      await writeBulk(s.admin, 3);
      await s.admin.query('FLUSH BINARY LOGS');

      const run = await runCli(['ship', 'binlogs', '--json'], { ...s.env, BINVAULT_COMPRESSOR: compressor });

      expectExit(run, 0);
      // stderr carries only the progress as JSON lines (no terminal), never an error.
      expect(lines(run.stderr).every((e) => e.type === 'progress')).toBe(true);
      const events = lines(run.stdout);
      const shipped = events.filter((e) => e.type === 'shipped');
      expect(shipped.length).toBeGreaterThanOrEqual(1);
      for (const event of shipped) {
        const head = await s.bucket.store.head(event.key ?? '');
        const verdict = await verifyStream({ file: event.key ?? '', body: await s.bucket.store.get(event.key ?? ''), metadata: head?.metadata ?? {} });
        expect(verdict.reasons).toEqual([]);
        expect(verdict.seal?.rawSize).toBe(event.rawBytes);
      }
      const result = events.at(-1);
      expect(result?.type).toBe('result');
      expect(result?.shipped).toHaveLength(shipped.length);
      const impact = result?.impact;
      expect(impact?.compressor).toMatch(compressor === 'igzip' ? /^igzip \d+\.\d+\.\d+ \(\/usr\/bin\/igzip\), 1 process$/ : /^zlib .* \(Node\), \d+ threads?$/);
      // Each shipped binlog is read twice: hashed, then compressed.
      const raw = shipped.reduce((sum, e) => sum + (e.rawBytes ?? 0), 0);
      expect(impact?.bytesRead).toBe(2 * raw);
      expect(impact?.bytesSent).toBe(shipped.reduce((sum, e) => sum + (e.storedBytes ?? 0), 0));
      expect(impact?.cpuSeconds.self).toBeGreaterThan(0);
      expect(impact?.cpuSeconds.total).toBeCloseTo((impact?.cpuSeconds.self ?? 0) + (impact?.cpuSeconds.children ?? 0), 1);
      expect(impact?.peakRssBytes).toBeGreaterThan(20e6);
      expect(impact?.peakRssBytes).toBeLessThan(256e6);
      expect(impact?.priority).toEqual({ nice: 10, io: 'best-effort 7' });
      if (compressor === 'igzip') expect(impact?.childPeakRssBytes).toBeGreaterThan(0);
    });
  }
});
