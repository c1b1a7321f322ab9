import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirectories } from '../../../core/files.js';

describe('makeDirectories', () => {
  it('makes every missing directory with the mode, and accepts one that exists', async () => {
    const root = await mkdtemp(join(tmpdir(), 'binvault-dirs-'));
    const deep = join(root, 'a', 'b', 'c');
    await makeDirectories(deep, 0o700);
    await makeDirectories(deep, 0o700);
    expect((await stat(deep)).isDirectory()).toBe(true);
    expect((await stat(join(root, 'a'))).mode & 0o777).toBe(0o700);
    await rm(root, { recursive: true });
  });

  it('fails where a file stands in the way', async () => {
    const root = await mkdtemp(join(tmpdir(), 'binvault-dirs-'));
    await writeFile(join(root, 'file'), '');
    await expect(makeDirectories(join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirectories(join(root, 'file'))).rejects.toMatchObject({ code: 'EEXIST' });
    await rm(root, { recursive: true });
  });

  it('fails, and does not spin, where a parent exists but refuses children (/proc)', async () => {
    await expect(makeDirectories('/proc/binvault-nope/deeper')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
