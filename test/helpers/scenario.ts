import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from '../../local/runtime.js';
import type { InstanceOptions } from '../../drivers/local/instance.js';
import { S3Store } from '../../drivers/aws/s3.js';
import { connectTo, startTestServer, type Instance } from './servers.js';

/**
 * The usual stage of an end-to-end test: a throwaway source server, the local runtime with its
 * handlers, a store on its endpoint, and the environment the CLI runs with against both.
 */
export interface Scenario {
  server: Instance;
  admin: Connection;
  runtime: LocalRuntime;
  store: S3Store;
  stateDir: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export const startScenario = async (
  options: { server?: InstanceOptions; runtime?: Partial<LocalRuntimeOptions> } = {},
): Promise<Scenario> => {
  const server = await startTestServer(options.server);
  const admin = await connectTo(server);
  const stateDir = await mkdtemp(join(tmpdir(), 'binvault-scenario-'));
  const runtime = await startLocalRuntime({ stateDir, bucket: 'binvault', endpoint: 'http://127.0.0.1:0', ...options.runtime });
  const store = new S3Store({ bucket: 'binvault', endpoint: runtime.endpoint.url });
  return {
    server,
    admin,
    runtime,
    store,
    stateDir,
    env: {
      BINVAULT_S3_ENDPOINT: runtime.endpoint.url,
      BINVAULT_HOST_ID: 'db1',
      BINVAULT_MYSQL_DEFAULTS_FILE: server.defaultsFile,
      BINVAULT_STATE_DIR: join(stateDir, 'shipper'),
    },
    close: async () => {
      await admin.end().catch(() => undefined);
      await runtime.close();
      await server.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
};
