import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Applier, ApplyProgress, InstanceReader, ObjectStore, ProvisionedInstance, Provisioner, Snapshotter, StepStatus } from '../../core/ports.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import { loadDump } from '../mysql/load-dump.js';
import { readReached, replayBinlogs } from '../mysql/replay.js';
import { startInstance } from './instance.js';

/**
 * The local provisioner: a new mariadbd/mysqld from the binaries on PATH, in
 * `{stateDir}/restores/{execution}` with its own port, socket and a generated password in a 0600
 * option file; it keeps running for the operator after binvault exits.
 */
export class LocalProvisioner implements Provisioner {
  private readonly stops = new Map<string, () => Promise<void>>();

  public constructor(private readonly stateDir: string) {}

  public async provision(execution: string): Promise<ProvisionedInstance> {
    const instance = await startInstance({
      baseDir: join(this.stateDir, 'restores', execution),
      serverId: 2 + Math.floor(Math.random() * 1000),
      detached: true,
      // A restore replays hours of writes at once: room for redo and rows, and for large events.
      innodbLogFileSize: '256M',
      innodbBufferPoolSize: '512M',
      // Scheduled events (the dump brings the source's) stay off: the data is that of the target second.
      extraArgs: ['--max-allowed-packet=1G', '--event-scheduler=OFF'],
    });
    this.stops.set(instance.baseDir, () => instance.stop({ keep: false }));
    return {
      id: `pid ${instance.pid}`,
      kind: 'local',
      host: '127.0.0.1',
      port: instance.port,
      socket: instance.socket,
      user: instance.user,
      defaultsFile: instance.defaultsFile,
      dataDir: instance.dataDir,
    };
  }

  public async cleanup(instance: ProvisionedInstance): Promise<void> {
    const baseDir = instance.dataDir ? join(instance.dataDir, '..') : undefined;
    const stop = baseDir ? this.stops.get(baseDir) : undefined;
    if (stop) await stop();
    if (baseDir) await rm(baseDir, { recursive: true, force: true });
  }
}

/** Applies a plan in-process, next to the local instance. */
export class LocalApplier implements Applier {
  public constructor(
    private readonly store: ObjectStore,
    private readonly workDir: string,
    private readonly onProgress?: (p: ApplyProgress) => void,
  ) {}

  public async load(plan: RestorePlan, instance: ProvisionedInstance, execution: string): Promise<StepStatus> {
    // Rows read ahead of their session wait here, and go with it.
    const work = join(this.workDir, execution);
    try {
      const result = await loadDump(this.store, plan, instance, this.onProgress, work);
      return { status: 'Success', seconds: result.seconds, bytes: result.bytes };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  public async replay(plan: RestorePlan, instance: ProvisionedInstance): Promise<StepStatus> {
    const result = await replayBinlogs(this.store, plan, instance, this.onProgress);
    return { status: 'Success', seconds: result.seconds, bytes: result.bytes, expected: result.expected, reached: result.reached };
  }

  public async check(step: StepStatus): Promise<StepStatus> {
    return step;
  }

  public reached(instance: ProvisionedInstance, _execution: string): Promise<{ gtids: string }> {
    return readReached(instance);
  }
}

/** A drill's snapshot of a local instance, taken in-process and written to the bucket as the AWS instance writes it. */
export class LocalSnapshotter implements Snapshotter {
  public constructor(
    private readonly store: ObjectStore,
    private readonly reader: InstanceReader,
  ) {}

  public async snapshot(instance: ProvisionedInstance, _execution: string, key: string): Promise<StepStatus> {
    const started = Date.now();
    const snapshot = await this.reader.snapshot(instance);
    const body = JSON.stringify(snapshot);
    await this.store.put(key, body, { contentType: 'application/json' });
    return { status: 'Success', seconds: Math.round((Date.now() - started) / 100) / 10, bytes: Buffer.byteLength(body) };
  }
}
