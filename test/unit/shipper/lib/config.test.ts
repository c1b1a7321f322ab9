import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../../../core/version.js';
import { loadConfig, parseDotenv } from '../../../../shipper/lib/config.js';

describe('loadConfig', () => {
  it('applies the design defaults', async () => {
    const config = await loadConfig({ HOME: '/home/ops', BINVAULT_HOST_ID: 'db1', BINVAULT_STATE_DIR: '/tmp/s' });
    expect(config).toEqual({
      bucket: 'binvault',
      prefix: 'mysql',
      host: 'db1',
      mysqlDefaultsFile: '/home/ops/.my.cnf',
      timeZone: 'UTC',
      stateDir: '/tmp/s',
      shipping: { compressor: 'auto', maxCores: Math.max(1, Math.floor(availableParallelism() / 2)), nice: 10 },
    });
  });

  it('reads a --config dotenv file, the environment winning', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'binvault-env-')), 'binvault.env');
    await writeFile(path, '# host settings\nBINVAULT_BUCKET=from-file\nexport BINVAULT_TZ="Asia/Seoul"\nBINVAULT_PREFIX=/backups/\nBINVAULT_COMPRESSOR=zlib\n');
    const config = await loadConfig({ BINVAULT_BUCKET: 'from-env', BINVAULT_HOST_ID: 'db1' }, path);
    expect(config).toMatchObject({ bucket: 'from-env', timeZone: 'Asia/Seoul', prefix: 'backups', shipping: { compressor: 'zlib' } });
  });

  it.each([
    [{ BINVAULT_TZ: 'Asia/Soul' }, "BINVAULT_TZ 'Asia/Soul' is not a time zone"],
    [{ BINVAULT_BUCKET: 'Bad_Bucket' }, "BINVAULT_BUCKET 'Bad_Bucket' is not a valid bucket name"],
    [{ BINVAULT_HOST_ID: 'db 1' }, "BINVAULT_HOST_ID 'db 1' may hold only"],
    [{ BINVAULT_S3_ENDPOINT: 'localhost:4569' }, "BINVAULT_S3_ENDPOINT 'localhost:4569' is not an http(s) URL"],
  ])('names what is wrong: %o', async (env, message) => {
    await expect(loadConfig({ BINVAULT_HOST_ID: 'db1', ...env })).rejects.toThrow(message);
  });

  it('parses dotenv quoting and comments', () => {
    expect(parseDotenv("A=1 # note\nB='x # y'\n\n#C=3\n")).toEqual({ A: '1', B: 'x # y' });
  });

  it('VERSION matches package.json', () => {
    expect(VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });
});
