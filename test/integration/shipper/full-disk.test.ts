import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../drivers/aws/s3.js';
import { CLI, runCli, expectExit } from '../../helpers/cli.js';
import { onFullDisk } from '../../helpers/disk.js';
import { startScenario, type Scenario } from '../../helpers/scenario.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A full disk where binvault writes locally: one line that says where and why, exit 1, nothing partial. */
describe('a full disk', () => {
  let s: Scenario;
  let mountPoint: string;
  beforeAll(async () => {
    s = await startScenario();
    await s.admin.query('CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, payload BLOB)');
    for (let i = 0; i < 20; i++) await s.admin.query('INSERT INTO app.t VALUES (?, RANDOM_BYTES(500))', [i]);
    mountPoint = await mkdtemp(join(tmpdir(), 'binvault-full-'));
  });
  afterAll(async () => {
    await s?.close();
    await rm(mountPoint, { recursive: true, force: true });
  });

  const objects = async (): Promise<string[]> => (await s.store.list('mysql/db1/')).keys.map((k) => k.key);
  const uploads = async (): Promise<unknown[]> => s.store.listMultipartUploads('mysql/db1/');

  it.each([
    ['with no room even for its lock', 0, /^binvault: cannot write the binlogs lock in \S+: no space left on the device \(ENOSPC\)$/],
    ['filling up after the lock is taken', 1, /^binvault: cannot write binlogs\.\S+ in \S+: no space left on the device \(ENOSPC\)$/],
  ])('under the state directory, %s: ship binlogs says so and ships nothing partial; with room, everything', async (_, freePages, line) => {
    const state = join(mountPoint, 'state');
    const before = await objects();
    const run = await runCli(['ship', 'binlogs'], { ...s.env, BINVAULT_STATE_DIR: state }, { prefix: onFullDisk(mountPoint, freePages) });

    expectExit(run, 1);
    expect(run.stderr.trim()).toMatch(line);
    expect(run.stderr.trim()).toContain(state);
    expect(await objects()).toEqual(before);
    expect(await uploads()).toEqual([]);

    // Nothing was lost: with room again, every closed binlog ships, byte-identical.
    expectExit(await runCli(['ship', 'binlogs'], s.env), 0);
    await s.runtime.idle();
    const shipped = (await objects()).filter((k) => k.includes('/binlogs/'));
    expect(shipped.length).toBeGreaterThan(0);
    for (const key of shipped) {
      const name = /\/(binlog\.\d+)\.gz$/.exec(key)?.[1] ?? '';
      const local = await readFile(join(s.server.dataDir, name));
      expect(sha256(gunzipSync(await s.store.getBytes(key)))).toBe(sha256(local));
    }
    await s.admin.query('INSERT INTO app.t VALUES (?, RANDOM_BYTES(500))', [100 + freePages]);
  });

  it("under TMPDIR: ship dump cannot write the dump tool's option file, says so, and leaves no object and no upload", async () => {
    const before = await objects();
    const run = await runCli(['ship', 'dump'], { ...s.env, TMPDIR: mountPoint }, { prefix: onFullDisk(mountPoint) });

    expectExit(run, 1);
    expect(run.stderr.trim()).toBe(
      `binvault: cannot write the dump tool's option file in ${mountPoint}: no space left on the device (ENOSPC)`,
    );
    expect(await objects()).toEqual(before);
    expect(await uploads()).toEqual([]);
  });

  it("under the local endpoint's data: ship binlogs prints the endpoint's reason, and no object or upload is left", async () => {
    // `binvault local up` with its data on a nearly full disk, in its own mount namespace.
    const [command = 'unshare', ...args] = [...onFullDisk(mountPoint, 2), process.execPath, CLI, 'local', 'up'];
    const endpoint = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', BINVAULT_STATE_DIR: mountPoint, BINVAULT_S3_ENDPOINT: 'http://127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let said = '';
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (d: Buffer): void => {
          said += d.toString();
          const found = /S3 endpoint (http:\/\/\S+),/.exec(said)?.[1];
          if (found) resolve(found);
        };
        endpoint.stdout?.on('data', onData);
        endpoint.stderr?.on('data', onData);
        endpoint.on('exit', (code) => reject(new Error(`local up exited (${code}): ${said}`)));
      });
      // Incompressible rows: a binlog larger than the room left.
      await s.admin.query('INSERT INTO app.t VALUES (200, RANDOM_BYTES(60000)), (201, RANDOM_BYTES(60000)), (202, RANDOM_BYTES(60000))');
      const run = await runCli(['ship', 'binlogs'], { ...s.env, BINVAULT_S3_ENDPOINT: url, BINVAULT_STATE_DIR: join(s.stateDir, 'other-endpoint') });

      expectExit(run, 1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`the local endpoint cannot store data in ${join(mountPoint, 's3')}: no space left on the device (ENOSPC)`);
      const client = createS3Client({ endpoint: url });
      expect((await client.send(new ListObjectsV2Command({ Bucket: 'binvault' }))).Contents ?? []).toEqual([]);
      expect((await client.send(new ListMultipartUploadsCommand({ Bucket: 'binvault' }))).Uploads ?? []).toEqual([]);
      client.destroy();
    } finally {
      endpoint.kill('SIGTERM');
    }
  });
});
