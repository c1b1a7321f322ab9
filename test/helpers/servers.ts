import { createConnection, type Connection } from 'mysql2/promise';
import { readOptionFile } from '../../drivers/mysql/option-file.js';
import { startInstance, type Instance, type InstanceOptions } from '../../drivers/local/instance.js';

export type { Instance };

/**
 * A throwaway MySQL-family server from the binaries on PATH: own datadir, port, socket, binlog on.
 * One that dies during a test says why on the test's stderr.
 */
export const startTestServer = (options: InstanceOptions = {}): Promise<Instance> =>
  startInstance({ onUnexpectedExit: (message) => process.stderr.write(`test server: ${message}\n`), ...options });

/** An admin connection to a test server, through its option file. */
export const connectTo = async (instance: Instance): Promise<Connection> => {
  const client = await readOptionFile(instance.defaultsFile);
  return createConnection({
    socketPath: instance.socket,
    user: client.user ?? 'root',
    ...(client.password !== undefined ? { password: client.password } : {}),
    multipleStatements: true,
  });
};
