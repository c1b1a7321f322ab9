import { existsSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';

/** Where MySQL and MariaDB packages put their programs, beyond PATH (servers live in sbin). */
const SEARCH = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/usr/local/bin', '/usr/bin'];

/** The path of the first of these programs found on PATH (or the usual sbin folders). */
export const findProgram = (...names: string[]): string | undefined => {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SEARCH].filter((d) => d !== '');
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
};

/** The command that connects the SQL client on PATH (MariaDB's or MySQL's) with an option file. */
export const clientCommand = (defaultsFile: string): string => `${basename(findProgram('mariadb', 'mysql') ?? 'mysql')} --defaults-extra-file=${defaultsFile}`;
