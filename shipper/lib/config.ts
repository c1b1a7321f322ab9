import { access, constants, readFile } from 'node:fs/promises';
import { availableParallelism, homedir, hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseConfig, parseDotenv, type Config } from '../../core/config.js';
import { ConfigurationError } from '../../core/errors.js';

/**
 * The CLI's configuration: the environment over an optional dotenv file given with `--config`,
 * parsed by core's one parser. The defaults that depend on the machine are found here.
 */
export const loadConfig = async (env: NodeJS.ProcessEnv = process.env, configFile?: string): Promise<Config> => {
  let fileValues: Record<string, string> = {};
  if (configFile !== undefined) {
    try {
      fileValues = parseDotenv(await readFile(configFile, 'utf8'));
    } catch (error) {
      throw new ConfigurationError(`cannot read --config ${configFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
    }
  }
  const values = { ...fileValues, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
  const config = parseConfig(values, {
    hostname: hostname().split('.')[0] ?? 'localhost',
    home: env.HOME ?? homedir(),
    stateDir: await defaultStateDir(),
    cores: availableParallelism(),
  });
  return { ...config, stateDir: resolve(config.stateDir) };
};

const defaultStateDir = async (): Promise<string> => {
  try {
    await access('/var/lib/binvault', constants.W_OK);
    return '/var/lib/binvault';
  } catch {
    return resolve('.binvault');
  }
};
