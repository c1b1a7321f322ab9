import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readOptionFile } from '../../../../drivers/mysql/option-file.js';

const file = async (text: string, mode = 0o600): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'binvault-cnf-'));
  const path = join(dir, 'my.cnf');
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
};

describe('readOptionFile', () => {
  it('reads [client], lets [binvault] win, and ignores other groups and comments', async () => {
    const path = await file(
      [
        '# a comment',
        '[mysqld]',
        'port = 9999',
        '[binvault]',
        'user = shipper',
        '[client]',
        'user = root',
        'password = "p#ss \\"word\\""',
        'socket = /run/mysqld/mysqld.sock  # trailing comment',
        'port=3307',
      ].join('\n'),
    );
    expect(await readOptionFile(path)).toEqual({
      file: path,
      user: 'shipper',
      password: 'p#ss "word"',
      socket: '/run/mysqld/mysqld.sock',
      port: 3307,
    });
  });

  it('follows !include', async () => {
    const included = await file('[client]\npassword=from-include\n');
    const path = await file(`[client]\nuser=u\n!include ${included}\n`);
    expect(await readOptionFile(path)).toMatchObject({ user: 'u', password: 'from-include' });
  });

  it('refuses a file every user can read', async () => {
    const path = await file('[client]\npassword=x\n', 0o644);
    await expect(readOptionFile(path)).rejects.toThrow(/accessible to every user \(mode 644\): run chmod 600/);
  });

  it('says which file is missing', async () => {
    await expect(readOptionFile('/nonexistent/.my.cnf')).rejects.toThrow(
      'MySQL option file /nonexistent/.my.cnf not found (set BINVAULT_MYSQL_DEFAULTS_FILE to a [client] option file)',
    );
  });

  it('rejects a port that is not a number', async () => {
    await expect(readOptionFile(await file('[client]\nport=abc\n'))).rejects.toThrow(/port 'abc' is not a port number/);
  });
});
