import { join } from 'node:path';
import type { Alerts, ApplyProgress, Clock, ObjectStore } from '../core/ports.js';
import { runDrill, type DrillRecord, type DrillRequest } from '../core/restore/drill.js';
import { LocalApplier, LocalProvisioner } from '../drivers/local/restore.js';
import { MysqlInstanceReader } from '../drivers/mysql/compare.js';

export interface LocalDrillOptions {
  store: ObjectStore;
  prefix: string;
  /** The drill's two instances live in `{stateDir}/restores/{execution}-restored|-dump`, removed at the end. */
  stateDir: string;
  alerts: Alerts;
  clock: Clock;
  onProgress?: (progress: ApplyProgress) => void;
}

/** A drill on this machine: both instances from the binaries on PATH, the load and replay in-process. */
export const runLocalDrill = (options: LocalDrillOptions, request: DrillRequest): Promise<DrillRecord> =>
  runDrill(
    {
      store: options.store,
      prefix: options.prefix,
      provisioner: new LocalProvisioner(options.stateDir),
      applier: new LocalApplier(options.store, join(options.stateDir, 'restore-work'), options.onProgress),
      reader: new MysqlInstanceReader(),
      alerts: options.alerts,
      clock: options.clock,
    },
    request,
  );
